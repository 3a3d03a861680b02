//! Batches and items: records, states and the pure transitions between them.

mod batch;
mod item;
mod relpath;

pub use batch::{Batch, BatchCounts, BatchState};
pub use item::{Item, ItemState, TransitionError};
pub use relpath::RelPath;

use serde::{Deserialize, Serialize};

pub type BatchId = u64;
pub type ItemId = u64;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The wall clock in [`Millis`].
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// A file's identity as last seen: what `keep` mode compares to avoid doing a file twice,
/// and what detects a file replaced while it was being transcribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime_ns: i64,
    /// Hash of the first and last MiB (0 until taken).
    pub hash: u64,
}

impl Fingerprint {
    /// True when both describe the same content: with both hashes known, size and hash
    /// decide (a `touch` changes nothing); otherwise size and mtime do.
    pub fn same_content(&self, other: &Fingerprint) -> bool {
        match (self.hash, other.hash) {
            (0, _) | (_, 0) => (self.size, self.mtime_ns) == (other.size, other.mtime_ns),
            (a, b) => a == b && self.size == other.size,
        }
    }
}

/// A file's mtime in nanoseconds since the epoch, as fingerprints record it.
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime() * 1_000_000_000 + meta.mtime_nsec()
}

#[cfg(test)]
mod fingerprint_tests {
    use super::Fingerprint;

    #[test]
    fn hashes_decide_when_both_are_known() {
        let fp = |size, mtime_ns, hash| Fingerprint {
            size,
            mtime_ns,
            hash,
        };
        assert!(fp(1, 5, 9).same_content(&fp(1, 6, 9)), "touched only");
        assert!(
            !fp(1, 5, 9).same_content(&fp(1, 5, 8)),
            "rewritten, same size and mtime"
        );
        assert!(fp(1, 5, 0).same_content(&fp(1, 5, 8)));
        assert!(!fp(1, 5, 0).same_content(&fp(1, 6, 8)));
    }
}
