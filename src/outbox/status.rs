//! Derived status views of a batch: `status.json` and a line of `batches.json`.

use crate::model::{Batch, BatchCounts, BatchState, Item, ItemId, ItemState, Millis};
use serde::Serialize;
use std::collections::HashMap;

/// Version of the status file layout.
pub const STATUS_SCHEMA: u32 = 1;

/// Items listed in `status.json` at most; the full list is in the CLI (`voiceflowd status`).
pub const MAX_ITEMS_IN_STATUS: usize = 500;

/// Progress (0..1) of running items, from the engine.
pub type ItemProgress = HashMap<ItemId, f64>;

#[derive(Debug, Serialize, PartialEq)]
pub struct Totals {
    pub total: f64,
    pub done: f64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Throughput {
    pub audio_seconds_per_second: Option<f64>,
    pub bytes_per_second: Option<f64>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ItemView {
    pub path: String,
    pub state: ItemState,
    pub attempts: u32,
    pub progress: f64,
    pub audio_seconds: Option<f64>,
    pub bytes: u64,
    pub outputs: Vec<String>,
    pub error: Option<String>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// Who paused or cancelled a batch, and when.
#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct ControlNote {
    pub by: String,
    pub at: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct BatchStatus {
    pub schema: u32,
    pub id: u64,
    pub batch: String,
    pub inbox: String,
    pub state: BatchState,
    pub paused: Option<ControlNote>,
    pub cancelled: Option<ControlNote>,
    pub priority: i64,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub updated_at: Option<String>,
    pub finished_at: Option<String>,
    pub counts: BatchCounts,
    pub progress: f64,
    pub audio_seconds: Totals,
    pub bytes: Totals,
    pub throughput: Throughput,
    pub eta_seconds: Option<f64>,
    pub items_total: usize,
    pub items_truncated: bool,
    pub items: Vec<ItemView>,
}

/// One line of `batches.json`.
#[derive(Debug, Serialize, PartialEq)]
pub struct BatchSummary {
    pub id: u64,
    pub name: String,
    pub inbox: String,
    pub state: BatchState,
    pub paused: Option<ControlNote>,
    pub counts: BatchCounts,
    pub progress: f64,
    /// Audio seconds transcribed per wall second.
    pub speed: Option<f64>,
    pub eta_seconds: Option<f64>,
    pub created_at: Option<String>,
    pub finished_at: Option<String>,
}

/// RFC 3339 UTC time of a [`Millis`] timestamp.
pub fn rfc3339(ms: Millis) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Work measures of a batch, with unknown audio lengths estimated from the bytes.
struct Work {
    progress: f64,
    audio: Totals,
    bytes: Totals,
    remaining_audio: f64,
}

fn measure(items: &[&Item], running: &ItemProgress) -> Work {
    let counted: Vec<&Item> = items
        .iter()
        .copied()
        .filter(|i| i.state != ItemState::Skipped)
        .collect();
    let (known_audio, known_bytes) = counted
        .iter()
        .filter_map(|i| i.audio_seconds.map(|a| (a, i.seen.size as f64)))
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let per_byte = (known_bytes > 0.0).then(|| known_audio / known_bytes);
    let weight = |i: &Item| match (i.audio_seconds, per_byte) {
        (Some(a), _) => a,
        (None, Some(r)) => i.seen.size as f64 * r,
        (None, None) => i.seen.size as f64,
    };
    let frac = |i: &Item| match i.state {
        ItemState::Running => running.get(&i.id).copied().unwrap_or(0.0),
        s if s.is_terminal() => 1.0,
        _ => 0.0,
    };
    let total_w: f64 = counted.iter().map(|i| weight(i)).sum();
    let done_w: f64 = counted.iter().map(|i| weight(i) * frac(i)).sum();
    let remaining_audio = per_byte.map_or(0.0, |_| total_w - done_w);
    let done = |i: &&&Item| i.state == ItemState::Done;
    Work {
        progress: if total_w > 0.0 {
            done_w / total_w
        } else if counted.is_empty() {
            1.0
        } else {
            0.0
        },
        audio: Totals {
            total: if per_byte.is_some() {
                total_w
            } else {
                known_audio
            },
            done: counted
                .iter()
                .filter(done)
                .filter_map(|i| i.audio_seconds)
                .sum(),
        },
        bytes: Totals {
            total: counted.iter().map(|i| i.seen.size as f64).sum(),
            done: counted
                .iter()
                .filter(done)
                .map(|i| i.seen.size as f64)
                .sum(),
        },
        remaining_audio,
    }
}

/// The full status of a batch at `now`, listing at most `max_items` items (by path).
pub fn batch_status(
    batch: &Batch,
    items: &[&Item],
    running: &ItemProgress,
    paused: Option<(&str, Millis)>,
    max_items: usize,
    now: Millis,
) -> BatchStatus {
    let counts = BatchCounts::of(items.iter().copied());
    let state = counts.state(batch.cancelled_at.is_some(), paused.is_some());
    let w = measure(items, running);
    let end = batch.finished_at.unwrap_or(now);
    let elapsed = batch.started_at.map(|s| (end - s).max(1) as f64 / 1000.0);
    let rate = |done: f64| elapsed.filter(|_| done > 0.0).map(|e| round(done / e, 3));
    let throughput = Throughput {
        audio_seconds_per_second: rate(w.audio.done),
        bytes_per_second: rate(w.bytes.done),
    };
    let eta = if state.is_finished() {
        Some(0.0)
    } else {
        throughput
            .audio_seconds_per_second
            .map(|r| round(w.remaining_audio / r, 1))
    };
    let mut sorted: Vec<&Item> = items.to_vec();
    sorted.sort_by(|a, b| a.rel.cmp(&b.rel));
    let views: Vec<ItemView> = sorted
        .iter()
        .take(max_items)
        .map(|i| item_view(i, running))
        .collect();
    BatchStatus {
        schema: STATUS_SCHEMA,
        id: batch.id,
        batch: batch.name.clone(),
        inbox: batch.inbox.clone(),
        state,
        paused: paused.map(|(by, at)| ControlNote {
            by: by.to_string(),
            at: rfc3339(at),
        }),
        cancelled: batch.cancelled_at.map(|at| ControlNote {
            by: batch.cancelled_by.clone().unwrap_or_default(),
            at: rfc3339(at),
        }),
        priority: batch.priority,
        created_at: rfc3339(batch.created_at),
        started_at: batch.started_at.and_then(rfc3339),
        updated_at: rfc3339(now),
        finished_at: batch.finished_at.and_then(rfc3339),
        counts,
        progress: round(w.progress, 4),
        audio_seconds: Totals {
            total: round(w.audio.total, 2),
            done: round(w.audio.done, 2),
        },
        bytes: w.bytes,
        throughput,
        eta_seconds: eta,
        items_total: items.len(),
        items_truncated: items.len() > max_items,
        items: views,
    }
}

fn item_view(i: &Item, running: &ItemProgress) -> ItemView {
    let progress = match i.state {
        ItemState::Running => running.get(&i.id).copied().unwrap_or(0.0),
        ItemState::Done => 1.0,
        _ => 0.0,
    };
    ItemView {
        path: i.rel.display(),
        state: i.state,
        attempts: i.attempts,
        progress: round(progress, 3),
        audio_seconds: i.audio_seconds.map(|a| round(a, 2)),
        bytes: i.seen.size,
        outputs: i.outputs.clone(),
        error: i.error.clone(),
        created_at: rfc3339(i.created_at),
        started_at: i.started_at.and_then(rfc3339),
        finished_at: i.finished_at.and_then(rfc3339),
    }
}

/// The `batches.json` line of a status.
pub fn batch_summary(s: &BatchStatus) -> BatchSummary {
    BatchSummary {
        id: s.id,
        name: s.batch.clone(),
        inbox: s.inbox.clone(),
        state: s.state,
        paused: s.paused.clone(),
        counts: s.counts,
        progress: s.progress,
        speed: s.throughput.audio_seconds_per_second,
        eta_seconds: s.eta_seconds,
        created_at: s.created_at.clone(),
        finished_at: s.finished_at.clone(),
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
