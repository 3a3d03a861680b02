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
