//! Header sanity checks before symphonia sees a file, for sizes it would allocate blindly.
//!
//! symphonia 0.5 reads a WAV `LIST`/`INFO` chunk into a buffer of the size the header
//! claims (up to 4 GiB) before noticing the file is shorter. Refusing chunks that run past
//! the end of the file keeps such a file from costing gigabytes (or aborting on a small
//! machine). The `data` chunk is not checked: a recording whose header still says 4 GiB
//! decodes fine, because symphonia streams it.

use std::fs::File;

use super::error::Position;
use super::AudioError;

/// Chunks examined before giving up (real files have a handful).
const MAX_CHUNKS: usize = 256;

/// Fails with [`AudioError::Corrupt`] if a RIFF/WAVE chunk before `data` claims more bytes
/// than the file holds. Anything else (other formats, unreadable headers) passes unchecked.
pub(super) fn check_headers(file: &File, len: u64) -> Result<(), AudioError> {
    let mut head = [0u8; 12];
    if !read_at(file, &mut head, 0) || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Ok(());
    }
    let mut pos = 12u64;
    for _ in 0..MAX_CHUNKS {
        let mut header = [0u8; 8];
        if !read_at(file, &mut header, pos) || &header[0..4] == b"data" {
            return Ok(());
        }
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let remaining = len.saturating_sub(pos + 8);
        if size > remaining {
            let id = String::from_utf8_lossy(&header[0..4]).into_owned();
            return Err(AudioError::Corrupt {
                at: Some(Position::Byte(pos)),
                detail: format!("WAV chunk '{id}' claims {size} bytes but only {remaining} follow"),
            });
        }
        pos += 8 + size + (size & 1);
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes at `offset` without moving the file position.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> bool {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset).is_ok()
}

#[cfg(not(unix))]
fn read_at(_file: &File, _buf: &mut [u8], _offset: u64) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn check(bytes: &[u8]) -> Result<(), AudioError> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        check_headers(&file, bytes.len() as u64)
    }

    #[test]
    fn passes_valid_and_foreign_files() {
        let mut wav = b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        wav.extend_from_slice(&[0; 16]);
        wav.extend_from_slice(b"data\xff\xff\xff\xff");
        assert!(check(&wav).is_ok());
        assert!(check(b"ID3\x04\0\0\0\0\0\0").is_ok());
        assert!(check(b"RIFF").is_ok());
    }

    #[test]
    fn refuses_chunk_running_past_the_end() {
        let wav = b"RIFF\xff\xff\xff\xffWAVELIST\0\0\0\x80INFO".to_vec();
        let err = check(&wav).unwrap_err();
        assert_eq!(
            err.to_string(),
            "corrupt data at byte offset 12: WAV chunk 'LIST' claims 2147483648 bytes but only 4 follow"
        );
    }
}
