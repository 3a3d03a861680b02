//! The daemon's configuration: TOML file -> validated `Config`; every error names its key and line.

mod raw;
mod span;
mod validate;

use crate::transcript::Format;
use std::path::{Path, PathBuf};

pub use validate::cores_warning;

/// Default config file location; `--config` and `VOICEFLOWD_CONFIG` override it.
pub const DEFAULT_PATH: &str = "/etc/voiceflowd/config.toml";

/// Which recognition engine the daemon runs.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineKind {
    Whisper,
    /// Deterministic stand-in for testing the daemon itself (`engine = "fake"`).
    Fake {
        speed: f64,
    },
}

/// What happens to an original after its transcripts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Originals {
    Archive,
    Delete,
    Keep,
}

/// How an inbox notices new files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    Auto,
    Native,
    Poll,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inbox {
    pub name: String,
    pub path: PathBuf,
    pub outbox: PathBuf,
    pub formats: Vec<Format>,
    pub language: String,
    pub priority: i64,
    pub originals: Originals,
    pub archive: PathBuf,
    pub watch: WatchMode,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub state_dir: PathBuf,
    pub model: PathBuf,
    pub engine: EngineKind,
    pub language: String,
    pub formats: Vec<Format>,
    pub concurrency: usize,
    pub threads_per_worker: usize,
    pub beam_size: usize,
    pub settle_seconds: f64,
    pub rescan_seconds: f64,
    pub max_attempts: u32,
    pub max_duration_seconds: f64,
    pub max_depth: usize,
    pub shutdown_grace_seconds: f64,
    pub control_dir: PathBuf,
    pub log_level: String,
    pub inboxes: Vec<Inbox>,
}

/// A config problem: which file, which line, which key, what is wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{file}{}: {key}{}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), if key.is_empty() { "" } else { ": " })]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: None,
            key: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&source, path)
    }

    /// Parses and validates config text; `path` names the file in errors and anchors
    /// relative paths (relative to the config file's folder).
    pub fn parse(source: &str, path: &Path) -> Result<Config, ConfigError> {
        validate::parse(source, path)
    }

    /// The inbox named `name`.
    pub fn inbox(&self, name: &str) -> Option<&Inbox> {
        self.inboxes.iter().find(|i| i.name == name)
    }

    /// The redb database file.
    pub fn database_path(&self) -> PathBuf {
        self.state_dir.join("voiceflowd.redb")
    }

    /// Checks what only matters for running: the model file exists (for the whisper engine).
    pub fn check_runtime(&self, file: &Path) -> Result<(), ConfigError> {
        if self.engine == EngineKind::Whisper && !self.model.is_file() {
            let lines = span::Lines::new(&std::fs::read_to_string(file).unwrap_or_default());
            return Err(ConfigError {
                file: file.display().to_string(),
                line: lines.line_of_key(None, "model"),
                key: "model".into(),
                message: format!(
                    "model file does not exist: {} (see `voiceflowd model import`)",
                    self.model.display()
                ),
            });
        }
        Ok(())
    }

    /// The effective configuration as TOML (what `check-config` prints).
    pub fn to_toml(&self) -> String {
        validate::render(self)
    }
}

#[cfg(test)]
mod tests;
