//! One file of a batch: its state machine. Every function is pure: old item in, new item out.

use super::{BatchId, Fingerprint, ItemId, Millis, RelPath};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Seen, still settling (size or mtime may still change).
    Waiting,
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
    /// Not media, or empty: recorded with a reason, never retried.
    Skipped,
}

impl ItemState {
    pub const ALL: [ItemState; 7] = [
        ItemState::Waiting,
        ItemState::Queued,
        ItemState::Running,
        ItemState::Done,
        ItemState::Failed,
        ItemState::Cancelled,
        ItemState::Skipped,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ItemState::Done | ItemState::Failed | ItemState::Cancelled | ItemState::Skipped
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            ItemState::Waiting => "waiting",
            ItemState::Queued => "queued",
            ItemState::Running => "running",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Cancelled => "cancelled",
            ItemState::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    pub batch: BatchId,
    /// Path relative to the inbox root.
    pub rel: RelPath,
    /// Output name without extension, relative to the batch's outbox folder.
    pub out_stem: RelPath,
    pub state: ItemState,
    /// Starts so far; never decreases except by an explicit retry.
    pub attempts: u32,
    /// The file as last seen (size, mtime; hash once queued).
    pub seen: Fingerprint,
    pub audio_seconds: Option<f64>,
    pub outputs: Vec<String>,
    pub error: Option<String>,
    pub created_at: Millis,
    pub queued_at: Option<Millis>,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    /// A transient failure waits until then before the next attempt.
    pub retry_at: Option<Millis>,
    /// The original was archived or deleted after success (the step after `done`).
    pub original_handled: bool,
}

/// A transition asked of an item in a state that does not allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("item {id}: cannot {action} while {}", state.name())]
pub struct TransitionError {
    pub id: ItemId,
    pub state: ItemState,
    pub action: &'static str,
}

impl Item {
    /// A file first seen: waiting to settle.
    pub fn new(
        id: ItemId,
        batch: BatchId,
        rel: RelPath,
        out_stem: RelPath,
        seen: Fingerprint,
        now: Millis,
    ) -> Item {
        Item {
            id,
            batch,
            rel,
            out_stem,
            state: ItemState::Waiting,
            attempts: 0,
            seen,
            audio_seconds: None,
            outputs: Vec::new(),
            error: None,
            created_at: now,
            queued_at: None,
            started_at: None,
            finished_at: None,
            retry_at: None,
            original_handled: false,
        }
    }

    fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError {
            id: self.id,
            state: self.state,
            action,
        }
    }

    fn with_state(&self, state: ItemState) -> Item {
        Item {
            state,
            ..self.clone()
        }
    }

    /// Waiting -> queued: the file stopped changing.
    pub fn settle(&self, seen: Fingerprint, now: Millis) -> Result<Item, TransitionError> {
        if self.state != ItemState::Waiting {
            return Err(self.refuse("settle"));
        }
        Ok(Item {
            seen,
            queued_at: Some(now),
            error: None,
            ..self.with_state(ItemState::Queued)
        })
    }

    /// Waiting -> skipped, with the reason shown to users.
    pub fn skip(&self, reason: &str, now: Millis) -> Result<Item, TransitionError> {
        if self.state != ItemState::Waiting {
            return Err(self.refuse("skip"));
        }
        Ok(Item {
            error: Some(reason.into()),
            finished_at: Some(now),
            ..self.with_state(ItemState::Skipped)
        })
    }

    /// Queued -> running; counts an attempt (so a file that kills the daemon cannot loop).
    pub fn start(&self, now: Millis) -> Result<Item, TransitionError> {
        if self.state != ItemState::Queued {
            return Err(self.refuse("start"));
        }
        Ok(Item {
            attempts: self.attempts + 1,
            started_at: Some(now),
            retry_at: None,
            ..self.with_state(ItemState::Running)
        })
    }

    /// Running -> done.
    pub fn succeed(
        &self,
        audio_seconds: f64,
        outputs: Vec<String>,
        now: Millis,
    ) -> Result<Item, TransitionError> {
        if self.state != ItemState::Running {
            return Err(self.refuse("finish"));
        }
        Ok(Item {
            audio_seconds: Some(audio_seconds),
            outputs,
            error: None,
            finished_at: Some(now),
            original_handled: false,
            ..self.with_state(ItemState::Done)
        })
    }

    /// Running -> queued again after `backoff_ms` (transient error, attempts left) or failed.
    pub fn fail(
        &self,
        reason: &str,
        transient: bool,
        max_attempts: u32,
        now: Millis,
    ) -> Result<Item, TransitionError> {
        if self.state != ItemState::Running {
            return Err(self.refuse("fail"));
        }
        if transient && self.attempts < max_attempts {
            let retry_at = now + backoff_ms(self.attempts);
            return Ok(Item {
                error: Some(reason.into()),
                retry_at: Some(retry_at),
                ..self.with_state(ItemState::Queued)
            });
        }
        Ok(Item {
            error: Some(reason.into()),
            finished_at: Some(now),
            ..self.with_state(ItemState::Failed)
        })
    }

    /// Running -> queued without using up an attempt (shutdown or pause-now aborted it).
    pub fn requeue(&self) -> Result<Item, TransitionError> {
        if self.state != ItemState::Running {
            return Err(self.refuse("requeue"));
        }
        Ok(Item {
            attempts: self.attempts.saturating_sub(1),
            started_at: None,
            ..self.with_state(ItemState::Queued)
        })
    }

    /// After a crash: a running item goes back to the queue with its attempt counted,
    /// or fails when it has used them all (it may be what crashed the daemon).
    pub fn recover(&self, max_attempts: u32, now: Millis) -> Result<Item, TransitionError> {
        if self.state != ItemState::Running {
            return Err(self.refuse("recover"));
        }
        if self.attempts >= max_attempts {
            let reason = format!(
                "interrupted {} times (the daemon stopped while transcribing it)",
                self.attempts
            );
            return Ok(Item {
                error: Some(reason),
                finished_at: Some(now),
                ..self.with_state(ItemState::Failed)
            });
        }
        Ok(Item {
            started_at: None,
            ..self.with_state(ItemState::Queued)
        })
    }

    /// Waiting, queued or running -> cancelled.
    pub fn cancel(&self, now: Millis) -> Result<Item, TransitionError> {
        if self.state.is_terminal() {
            return Err(self.refuse("cancel"));
        }
        Ok(Item {
            finished_at: Some(now),
            retry_at: None,
            ..self.with_state(ItemState::Cancelled)
        })
    }

    /// Failed or cancelled -> queued with attempts reset.
    pub fn retry(&self, now: Millis) -> Result<Item, TransitionError> {
        if !matches!(self.state, ItemState::Failed | ItemState::Cancelled) {
            return Err(self.refuse("retry"));
        }
        Ok(Item {
            attempts: 0,
            error: None,
            finished_at: None,
            retry_at: None,
            queued_at: Some(now),
            ..self.with_state(ItemState::Queued)
        })
    }

    /// The file changed (new content under the same name): back to waiting, to be redone.
    /// A running item is not reopened here: the job's own fingerprint check handles it.
    pub fn reopen(&self, seen: Fingerprint) -> Result<Item, TransitionError> {
        if self.state == ItemState::Running {
            return Err(self.refuse("reopen"));
        }
        Ok(Item {
            seen,
            attempts: 0,
            error: None,
            finished_at: None,
            retry_at: None,
            original_handled: false,
            ..self.with_state(ItemState::Waiting)
        })
    }

    /// Records that the original was archived, deleted or deliberately kept.
    pub fn original_done(&self) -> Result<Item, TransitionError> {
        if self.state != ItemState::Done {
            return Err(self.refuse("archive"));
        }
        Ok(Item {
            original_handled: true,
            ..self.clone()
        })
    }

    /// Queued and due (not waiting out a retry backoff).
    pub fn is_ready(&self, now: Millis) -> bool {
        self.state == ItemState::Queued && self.retry_at.is_none_or(|t| t <= now)
    }
}

/// Exponential backoff before attempt `n + 1`: 2 s, 4 s, 8 s ... capped at 5 min.
pub fn backoff_ms(attempts: u32) -> Millis {
    let exp = attempts.saturating_sub(1).min(8);
    (2_000 * (1i64 << exp)).min(300_000)
}

#[cfg(test)]
#[path = "item_tests.rs"]
mod tests;
