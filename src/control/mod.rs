//! Control: the operations users can ask for, who asked, and the outcome they get back.
//! Markers, command files, the CLI and signals all end in the same `Request`.

mod files;
mod parse;

pub use files::{run_control_dir, GlobalMarker, CLAIMED_DIR, DONE_DIR, MAX_COMMAND_BYTES};
pub use parse::{parse_command, ParseError};

use serde::Serialize;
use tokio::sync::oneshot;

/// What an operation applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Target {
    All,
    Inbox(String),
    Batch(String),
}

/// One operation. Batches are named by name or id (`meeting-2026-11-29` or `17`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Command {
    Pause {
        target: Target,
        now: bool,
    },
    Resume {
        target: Target,
    },
    Cancel {
        batch: String,
    },
    Retry {
        batch: String,
        item: Option<String>,
    },
    Remove {
        batch: String,
        item: String,
        delete_file: bool,
    },
    Delete {
        batch: String,
        purge: bool,
        force: bool,
    },
    SetPriority {
        batch: String,
        priority: i64,
    },
    SetConcurrency {
        concurrency: usize,
    },
    List {
        state: Option<String>,
        inbox: Option<String>,
        page: usize,
        per_page: usize,
    },
    Show {
        batch: String,
    },
}

/// Who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Source {
    /// A level-triggered `PAUSE` file (its path).
    Marker(String),
    /// A `*.cmd` file in the control folder (its name).
    CommandFile(String),
    /// A Unix signal (its name).
    Signal(String),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Marker(p) => format!("marker {p}"),
            Source::CommandFile(n) => format!("command file {n}"),
            Source::Signal(s) => format!("signal {s}"),
        }
    }
}

/// The answer to a request: `ok` with what changed, or an error saying why nothing did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Outcome {
    pub fn ok(effect: impl Into<String>) -> Outcome {
        Outcome {
            ok: true,
            effect: Some(effect.into()),
            error: None,
            data: None,
        }
    }

    pub fn err(error: impl Into<String>) -> Outcome {
        Outcome {
            ok: false,
            effect: None,
            error: Some(error.into()),
            data: None,
        }
    }

    pub fn with_data(mut self, data: serde_json::Value) -> Outcome {
        self.data = Some(data);
        self
    }
}

/// A command on its way to the scheduler, with where to send the outcome.
#[derive(Debug)]
pub struct Request {
    pub command: Command,
    pub source: Source,
    /// Unique id of a command file claim; recorded with the command's effect so a crash
    /// between applying and answering never applies it twice.
    pub claim: Option<String>,
    pub reply: Option<oneshot::Sender<Outcome>>,
}
