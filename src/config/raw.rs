//! The config file as written: serde types that deny unknown keys; defaults applied later.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub state_dir: Option<PathBuf>,
    pub model: Option<PathBuf>,
    pub engine: Option<String>,
    pub language: Option<String>,
    pub formats: Option<Vec<String>>,
    pub concurrency: Option<i64>,
    pub threads_per_worker: Option<RawThreads>,
    pub beam_size: Option<i64>,
    pub settle_seconds: Option<f64>,
    pub rescan_seconds: Option<f64>,
    pub max_attempts: Option<i64>,
    pub max_duration_seconds: Option<f64>,
    pub max_depth: Option<i64>,
    pub shutdown_grace_seconds: Option<f64>,
    pub control_dir: Option<PathBuf>,
    pub log_level: Option<String>,
    #[serde(default, rename = "inbox")]
    pub inboxes: Vec<RawInbox>,
}

/// `threads_per_worker = "auto"` or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawThreads {
    Count(i64),
    Word(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbox {
    pub name: Option<String>,
    pub path: Option<PathBuf>,
    pub outbox: Option<PathBuf>,
    pub formats: Option<Vec<String>>,
    pub language: Option<String>,
    pub priority: Option<i64>,
    pub originals: Option<String>,
    pub archive: Option<PathBuf>,
    pub watch: Option<String>,
}
