//! A batch: one dropped folder (or one settle window of loose files) and its derived state.

use super::{BatchId, Item, ItemState, Millis};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: BatchId,
    pub inbox: String,
    /// Folder name for a folder batch, start time for loose files (`2026-11-29T14-03-12`).
    pub name: String,
    /// True when the batch is a folder in the inbox (false: loose top-level files).
    pub is_folder: bool,
    pub priority: i64,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    /// Set when a user cancelled the batch; cleared when it is retried or reopened.
    pub cancelled_at: Option<Millis>,
    /// Who cancelled it (`command file x.cmd`, `signal SIGUSR1`).
    #[serde(default)]
    pub cancelled_by: Option<String>,
}

/// Derived from the items; never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    Collecting,
    Queued,
    Running,
    Paused,
    Completed,
    CompletedWithErrors,
    Cancelled,
}

impl BatchState {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            BatchState::Completed | BatchState::CompletedWithErrors | BatchState::Cancelled
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            BatchState::Collecting => "collecting",
            BatchState::Queued => "queued",
            BatchState::Running => "running",
            BatchState::Paused => "paused",
            BatchState::Completed => "completed",
            BatchState::CompletedWithErrors => "completed_with_errors",
            BatchState::Cancelled => "cancelled",
        }
    }
}

/// How many items are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub waiting: usize,
    pub queued: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub skipped: usize,
}

impl BatchCounts {
    pub fn of<'a>(items: impl IntoIterator<Item = &'a Item>) -> BatchCounts {
        let mut c = BatchCounts::default();
        for item in items {
            *c.slot(item.state) += 1;
        }
        c
    }

    fn slot(&mut self, state: ItemState) -> &mut usize {
        match state {
            ItemState::Waiting => &mut self.waiting,
            ItemState::Queued => &mut self.queued,
            ItemState::Running => &mut self.running,
            ItemState::Done => &mut self.done,
            ItemState::Failed => &mut self.failed,
            ItemState::Cancelled => &mut self.cancelled,
            ItemState::Skipped => &mut self.skipped,
        }
    }

    pub fn total(&self) -> usize {
        self.waiting
            + self.queued
            + self.running
            + self.done
            + self.failed
            + self.cancelled
            + self.skipped
    }

    pub fn unfinished(&self) -> usize {
        self.waiting + self.queued + self.running
    }

    /// The batch state these counts imply.
    pub fn state(&self, cancelled: bool, paused: bool) -> BatchState {
        if self.unfinished() == 0 && self.total() > 0 {
            return if cancelled || (self.cancelled > 0 && self.done + self.failed == 0) {
                BatchState::Cancelled
            } else if self.failed > 0 || self.cancelled > 0 {
                BatchState::CompletedWithErrors
            } else {
                BatchState::Completed
            };
        }
        if paused && self.queued + self.running > 0 {
            BatchState::Paused
        } else if self.running > 0 {
            BatchState::Running
        } else if self.queued > 0 {
            BatchState::Queued
        } else {
            BatchState::Collecting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(w: usize, q: usize, r: usize, d: usize, f: usize, c: usize, s: usize) -> BatchCounts {
        BatchCounts {
            waiting: w,
            queued: q,
            running: r,
            done: d,
            failed: f,
            cancelled: c,
            skipped: s,
        }
    }

    #[test]
    fn batch_state_follows_the_items() {
        use BatchState::*;
        let cases = [
            (counts(0, 0, 0, 0, 0, 0, 0), false, false, Collecting),
            (counts(2, 0, 0, 0, 0, 0, 0), false, false, Collecting),
            (counts(1, 2, 0, 0, 0, 0, 0), false, false, Queued),
            (counts(1, 2, 1, 3, 0, 0, 0), false, false, Running),
            (counts(0, 2, 1, 0, 0, 0, 0), false, true, Paused),
            (counts(0, 0, 0, 3, 0, 0, 1), false, false, Completed),
            (
                counts(0, 0, 0, 3, 1, 0, 0),
                false,
                false,
                CompletedWithErrors,
            ),
            (counts(0, 0, 0, 0, 0, 4, 0), false, false, Cancelled),
            (counts(0, 0, 0, 2, 0, 2, 0), true, false, Cancelled),
            (
                counts(0, 0, 0, 2, 0, 2, 0),
                false,
                false,
                CompletedWithErrors,
            ),
        ];
        for (c, cancelled, paused, want) in cases {
            assert_eq!(c.state(cancelled, paused), want, "{c:?}");
        }
    }
}
