//! One file per subcommand; each returns the process exit code.

pub mod ctl;
pub mod daemon;
pub mod model;
pub mod table;
pub mod transcribe;
pub mod view;
