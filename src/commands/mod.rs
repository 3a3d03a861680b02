//! One file per subcommand; each returns the process exit code.

pub mod daemon;
pub mod model;
pub mod transcribe;
