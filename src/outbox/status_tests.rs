//! Status view tests: progress weighting, throughput, ETA.

use super::*;
use crate::model::{Fingerprint, RelPath};
use std::path::Path;

fn batch() -> Batch {
    Batch {
        id: 1,
        inbox: "in".into(),
        name: "b".into(),
        is_folder: true,
        priority: 0,
        created_at: 0,
        started_at: Some(0),
        finished_at: None,
        cancelled_at: None,
        cancelled_by: None,
    }
}

fn item(id: u64, state: ItemState, size: u64, audio: Option<f64>) -> Item {
    let rel = RelPath::new(Path::new(&format!("b/{id}.wav"))).unwrap();
    let fp = Fingerprint {
        size,
        mtime_ns: 0,
        hash: 0,
    };
    Item {
        state,
        audio_seconds: audio,
        ..Item::new(id, 1, rel.clone(), rel, fp, 0)
    }
}

#[test]
fn progress_is_weighted_by_audio_and_includes_running_items() {
    let done = item(1, ItemState::Done, 1000, Some(10.0));
    let running = item(2, ItemState::Running, 1000, None);
    let queued = item(3, ItemState::Queued, 2000, None);
    let items = [&done, &running, &queued];
    let progress: ItemProgress = [(2, 0.5)].into_iter().collect();
    // 10 s done of 40 s estimated (1000 bytes = 10 s), plus half of the running 10 s.
    let s = batch_status(
        &batch(),
        &items,
        &progress,
        None,
        MAX_ITEMS_IN_STATUS,
        10_000,
    );
    assert_eq!(s.progress, 0.375);
    assert_eq!(
        s.audio_seconds,
        Totals {
            total: 40.0,
            done: 10.0
        }
    );
    assert_eq!(s.throughput.audio_seconds_per_second, Some(1.0));
    assert_eq!(s.eta_seconds, Some(25.0));
    assert_eq!(s.state, BatchState::Running);
    assert_eq!(s.counts.running, 1);
}

#[test]
fn eta_is_unknown_until_something_finished() {
    let queued = item(3, ItemState::Queued, 2000, None);
    let s = batch_status(
        &batch(),
        &[&queued],
        &ItemProgress::new(),
        None,
        MAX_ITEMS_IN_STATUS,
        1000,
    );
    assert_eq!(s.eta_seconds, None);
    assert_eq!(s.throughput.audio_seconds_per_second, None);
    assert_eq!(s.progress, 0.0);
}

#[test]
fn finished_batch_has_zero_eta_and_full_progress() {
    let a = item(1, ItemState::Done, 100, Some(1.0));
    let b = item(2, ItemState::Failed, 100, None);
    let mut finished = batch();
    finished.finished_at = Some(2000);
    let s = batch_status(
        &finished,
        &[&a, &b],
        &ItemProgress::new(),
        None,
        MAX_ITEMS_IN_STATUS,
        9000,
    );
    assert_eq!(s.state, BatchState::CompletedWithErrors);
    assert_eq!(s.progress, 1.0);
    assert_eq!(s.eta_seconds, Some(0.0));
    assert_eq!(s.throughput.audio_seconds_per_second, Some(0.5));
    assert_eq!(batch_summary(&s).state, BatchState::CompletedWithErrors);
}

#[test]
fn item_detail_is_capped() {
    let items: Vec<Item> = (0..(MAX_ITEMS_IN_STATUS as u64 + 10))
        .map(|i| item(i, ItemState::Queued, 1, None))
        .collect();
    let refs: Vec<&Item> = items.iter().collect();
    let s = batch_status(
        &batch(),
        &refs,
        &ItemProgress::new(),
        None,
        MAX_ITEMS_IN_STATUS,
        0,
    );
    assert!(s.items_truncated);
    assert_eq!(s.items.len(), MAX_ITEMS_IN_STATUS);
    assert_eq!(s.items_total, MAX_ITEMS_IN_STATUS + 10);
}

#[test]
fn timestamps_are_rfc3339_utc() {
    assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339(1_764_424_992_123).unwrap(),
        "2025-11-29T14:03:12.123Z"
    );
}
