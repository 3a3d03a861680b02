//! Outbox folders: where transcripts go, the live status views, and the writer thread.

mod layout;
mod status;
mod writer;

pub use layout::{batch_dir, clean_temp_files};
pub use status::{
    batch_status, batch_summary, rfc3339, BatchStatus, BatchSummary, ControlNote, ItemProgress,
    MAX_ITEMS_IN_STATUS,
};
pub use writer::{Marker, Write, Writer};
