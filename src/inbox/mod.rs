//! Inbox folders: a task per inbox that scans (the truth), listens to notify (a hint) and
//! reports files seen, settled and gone.

mod fingerprint;
mod ignore;
mod netfs;
mod scan;
mod settle;
mod watch;

pub use fingerprint::content_hash;
pub use ignore::{ignored_reason, PAUSE_MARKER};
pub use netfs::network_fs;
pub use scan::{scan, Entry, Markers, Scan};
pub use settle::{Changes, Settler};
pub use watch::{spawn, InboxReport, Timing};
