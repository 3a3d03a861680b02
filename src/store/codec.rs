//! Versioned record bytes: one version byte, then the record as JSON.

use crate::model::{Batch, Item};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Current record encoding version (both batches and items).
pub const RECORD_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    #[error("empty record")]
    Empty,
    #[error("record version {0} is newer than this voiceflowd understands ({RECORD_VERSION})")]
    Newer(u8),
    #[error("record version {0} is unknown")]
    Unknown(u8),
    #[error("malformed record: {0}")]
    Malformed(String),
}

pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    // Serialising these plain structs cannot fail.
    serde_json::to_writer(&mut out, record).unwrap_or_default();
    out
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    match version {
        RECORD_VERSION => {
            serde_json::from_slice(body).map_err(|e| CodecError::Malformed(e.to_string()))
        }
        v if v > RECORD_VERSION => Err(CodecError::Newer(v)),
        v => Err(CodecError::Unknown(v)),
    }
}

pub fn decode_batch(bytes: &[u8]) -> Result<Batch, CodecError> {
    decode(bytes)
}

pub fn decode_item(bytes: &[u8]) -> Result<Item, CodecError> {
    decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fingerprint, RelPath};
    use std::path::Path;

    fn item() -> Item {
        let rel = RelPath::new(Path::new("meeting/a\u{e9}.wav")).unwrap();
        Item::new(
            7,
            3,
            rel.clone(),
            rel,
            Fingerprint {
                size: 1,
                mtime_ns: 2,
                hash: 3,
            },
            42,
        )
    }

    #[test]
    fn round_trips() {
        let i = item();
        assert_eq!(decode_item(&encode(&i)).unwrap(), i);
    }

    /// Golden bytes: if this changes, the record format changed: bump RECORD_VERSION and
    /// add a migration from the old version (old databases must keep opening).
    #[test]
    fn item_encoding_is_stable() {
        let golden = concat!(
            "{\"id\":7,\"batch\":3,\"rel\":\"meeting/a\u{e9}.wav\",\"out_stem\":\"meeting/a\u{e9}.wav\",",
            "\"state\":\"waiting\",\"attempts\":0,\"seen\":{\"size\":1,\"mtime_ns\":2,\"hash\":3},",
            "\"audio_seconds\":null,\"outputs\":[],\"error\":null,\"created_at\":42,\"queued_at\":null,",
            "\"started_at\":null,\"finished_at\":null,\"retry_at\":null,\"original_handled\":false}"
        );
        let bytes = encode(&item());
        assert_eq!(bytes[0], RECORD_VERSION);
        assert_eq!(std::str::from_utf8(&bytes[1..]).unwrap(), golden);
    }

    #[test]
    fn rejects_garbage_and_newer_versions() {
        assert_eq!(decode_item(&[]), Err(CodecError::Empty));
        assert_eq!(decode_item(&[9, b'{']), Err(CodecError::Newer(9)));
        assert_eq!(decode_item(&[0]), Err(CodecError::Unknown(0)));
        assert!(matches!(
            decode_item(&[1, 0xff, 0x00]),
            Err(CodecError::Malformed(_))
        ));
    }
}
