//! Paths relative to an inbox, stored as raw bytes so any file name (even non-UTF-8) survives.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A normal relative path (no `..`, no root), kept as the file system's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(Vec<u8>);

impl RelPath {
    /// Accepts only plain relative paths made of normal components.
    pub fn new(path: &Path) -> Option<RelPath> {
        let ok = path.components().all(|c| matches!(c, Component::Normal(_)));
        (ok && !path.as_os_str().is_empty()).then(|| RelPath(path.as_os_str().as_bytes().to_vec()))
    }

    pub fn as_path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.0))
    }

    /// The path under `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        root.join(self.as_path())
    }

    /// First component: the batch folder for a file in one, the file name for a loose file.
    pub fn first(&self) -> &OsStr {
        self.as_path().iter().next().unwrap_or_default()
    }

    /// True for a file directly in the inbox (not in a batch folder).
    pub fn is_top_level(&self) -> bool {
        self.as_path().iter().nth(1).is_none()
    }

    /// The path below the batch folder (for a loose file: the file name itself).
    pub fn within_batch(&self) -> &Path {
        let p = self.as_path();
        if self.is_top_level() {
            return p;
        }
        p.strip_prefix(self.first()).unwrap_or(p)
    }

    /// Display form with non-UTF-8 bytes escaped as `\xNN` (reversible with `%` style escapes
    /// is not needed here: this is for people and status files).
    pub fn display(&self) -> String {
        self.0.utf8_chunks().fold(String::new(), |mut s, chunk| {
            s.push_str(chunk.valid());
            for b in chunk.invalid() {
                s.push_str(&format!("\\x{b:02x}"));
            }
            s
        })
    }
}

/// Stored as a string: UTF-8 paths as they are, others percent-escaped behind a `%` prefix
/// (`%` marks the escaped form; a UTF-8 path starting with `%` is escaped too).
impl Serialize for RelPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) if !text.starts_with('%') => s.serialize_str(text),
            _ => s.serialize_str(&escape(&self.0)),
        }
    }
}

impl<'de> Deserialize<'de> for RelPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.strip_prefix('%') {
            Some(rest) => unescape(rest)
                .map(RelPath)
                .ok_or_else(|| serde::de::Error::custom("bad escaped path")),
            None => Ok(RelPath(text.into_bytes())),
        }
    }
}

fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("%");
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_./ ".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(p: &RelPath) -> RelPath {
        serde_json::from_str(&serde_json::to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn rejects_anything_but_plain_relative_paths() {
        assert!(RelPath::new(Path::new("/etc/passwd")).is_none());
        assert!(RelPath::new(Path::new("a/../b")).is_none());
        assert!(RelPath::new(Path::new("")).is_none());
        assert!(RelPath::new(Path::new("a/b.wav")).is_some());
    }

    #[test]
    fn batch_parts() {
        let p = RelPath::new(Path::new("meeting/day 1/a.mp3")).unwrap();
        assert_eq!(p.first(), "meeting");
        assert!(!p.is_top_level());
        assert_eq!(p.within_batch(), Path::new("day 1/a.mp3"));
        let loose = RelPath::new(Path::new("a.mp3")).unwrap();
        assert!(loose.is_top_level());
        assert_eq!(loose.within_batch(), Path::new("a.mp3"));
    }

    #[test]
    fn any_bytes_survive_serialisation() {
        for raw in [
            &b"plain/a.wav"[..],
            b"%odd.wav",
            b"bad\xff\xfe name\n.wav",
            b"q\"uote's.mp3",
        ] {
            let p = RelPath(raw.to_vec());
            assert_eq!(round_trip(&p), p);
        }
        assert_eq!(RelPath(b"x\xff".to_vec()).display(), "x\\xff");
    }
}
