//! Inbox reports -> batches and items: files seen, settled and gone.

use super::state::{default_stem, full_stem, numbered_stem, State};
use crate::config::{Inbox, Originals};
use crate::inbox::{Entry, InboxReport};
use crate::model::{now_ms, Batch, BatchId, Fingerprint, Item, ItemState, Millis, RelPath};

/// What ingesting asks of the scheduler besides state changes.
#[derive(Debug, Default)]
pub struct Followups {
    /// Running items whose file vanished or changed: abort them.
    pub abort: Vec<u64>,
}

/// Applies one inbox report to `state`.
pub fn apply(
    state: &mut State,
    inbox: &Inbox,
    settle_ms: Millis,
    report: InboxReport,
) -> Followups {
    let now = now_ms();
    let mut follow = Followups::default();
    for rel in report.changes.gone {
        state.drop_tombstone(&inbox.name, &rel);
        gone(state, inbox, &rel, &mut follow);
    }
    for entry in &report.changes.seen {
        if !removed(state, inbox, entry) {
            seen(state, inbox, settle_ms, entry, now);
        }
    }
    for entry in &report.changes.settled {
        if !removed(state, inbox, entry) {
            settled(state, inbox, settle_ms, entry, now);
        }
    }
    follow
}

/// A file the user removed from its batch stays out while it is unchanged.
fn removed(state: &mut State, inbox: &Inbox, e: &Entry) -> bool {
    let Some(t) = state.tombstone(&inbox.name, &e.rel) else {
        return false;
    };
    if (t.size, t.mtime_ns) == (e.size, e.mtime_ns) {
        return true;
    }
    state.drop_tombstone(&inbox.name, &e.rel);
    false
}

fn fingerprint(e: &Entry) -> Fingerprint {
    Fingerprint {
        size: e.size,
        mtime_ns: e.mtime_ns,
        hash: e.hash,
    }
}

/// Same file as recorded, unless its original was already moved away.
fn unchanged(item: &Item, inbox: &Inbox, e: &Entry) -> bool {
    let moved_away = item.original_handled && inbox.originals != Originals::Keep;
    !moved_away && item.seen.same_content(&fingerprint(e))
}

fn seen(state: &mut State, inbox: &Inbox, settle_ms: Millis, e: &Entry, now: Millis) {
    match state.item_at(&inbox.name, &e.rel) {
        None => {
            let batch = batch_for(state, inbox, &e.rel, settle_ms, now);
            let id = state.new_id();
            let stem = free_stem(state, batch, &e.rel);
            state.put_item(Item::new(
                id,
                batch,
                e.rel.clone(),
                stem,
                fingerprint(e),
                now,
            ));
            reopen_batch(state, batch);
        }
        Some(item) if item.state == ItemState::Waiting => {
            let updated = Item {
                seen: fingerprint(e),
                ..item.clone()
            };
            state.put_item(updated);
        }
        // Changed content of a known file is acted on once it settles.
        Some(_) => {}
    }
}

fn settled(state: &mut State, inbox: &Inbox, settle_ms: Millis, e: &Entry, now: Millis) {
    if state.item_at(&inbox.name, &e.rel).is_none() {
        seen(state, inbox, settle_ms, e, now);
    }
    let Some(item) = state.item_at(&inbox.name, &e.rel).cloned() else {
        return;
    };
    let item = match item.state {
        ItemState::Waiting => item,
        ItemState::Running => return,
        _ if unchanged(&item, inbox, e) => return,
        _ => match item.reopen(fingerprint(e)) {
            Ok(reopened) => {
                tracing::info!(inbox = %inbox.name, path = %e.rel.display(), "file changed; transcribing it again");
                reopen_batch(state, reopened.batch);
                reopened
            }
            Err(_) => return,
        },
    };
    let next = if e.size == 0 {
        item.skip("empty file", now)
    } else if !e.is_media {
        item.skip(&not_media_reason(&e.rel), now)
    } else {
        item.settle(fingerprint(e), now)
    };
    if let Ok(next) = next {
        state.put_item(next);
    }
}

fn not_media_reason(rel: &RelPath) -> String {
    match rel.as_path().extension() {
        Some(ext) => format!("not an audio or video file (.{})", ext.to_string_lossy()),
        None => "not an audio or video file (no extension)".to_string(),
    }
}

fn gone(state: &mut State, inbox: &Inbox, rel: &RelPath, follow: &mut Followups) {
    let Some(item) = state.item_at(&inbox.name, rel).cloned() else {
        return;
    };
    match item.state {
        // Archived or deleted by us, or a kept original the user cleaned up: history stays.
        ItemState::Done => {}
        ItemState::Running => follow.abort.push(item.id),
        _ => {
            tracing::info!(inbox = %inbox.name, path = %rel.display(), "file removed from the inbox; dropping its item");
            state.remove_item(item.id);
            drop_empty_batch(state, item.batch);
        }
    }
}

/// A batch left without items (its folder was deleted before anything ran) goes away.
pub fn drop_empty_batch(state: &mut State, batch: BatchId) {
    if state.batch_items(batch).next().is_none() {
        state.remove_batch(batch);
    }
}

/// New work in a finished batch reopens it.
fn reopen_batch(state: &mut State, batch: BatchId) {
    if let Some(b) = state.batches.get(&batch) {
        if b.finished_at.is_some() || b.cancelled_at.is_some() {
            let b = Batch {
                finished_at: None,
                cancelled_at: None,
                cancelled_by: None,
                ..b.clone()
            };
            state.put_batch(b);
        }
    }
}

/// The batch a new file belongs to: its folder's, or the inbox's current loose-file batch.
fn batch_for(
    state: &mut State,
    inbox: &Inbox,
    rel: &RelPath,
    settle_ms: Millis,
    now: Millis,
) -> BatchId {
    if !rel.is_top_level() {
        let name = rel.first().to_string_lossy().into_owned();
        if let Some(b) = state.folder_batch(&inbox.name, &name) {
            return b.id;
        }
        return new_batch(state, inbox, name, true, now);
    }
    if let Some(b) = state.newest_loose_batch(&inbox.name) {
        let collecting = state
            .batch_items(b.id)
            .any(|i| i.state == ItemState::Waiting);
        if collecting || now - b.created_at <= settle_ms {
            return b.id;
        }
    }
    let name = unique_name(state, inbox, loose_batch_name(now));
    new_batch(state, inbox, name, false, now)
}

fn new_batch(
    state: &mut State,
    inbox: &Inbox,
    name: String,
    is_folder: bool,
    now: Millis,
) -> BatchId {
    let id = state.new_id();
    tracing::info!(inbox = %inbox.name, batch = %name, id, "new batch");
    state.put_batch(Batch {
        id,
        inbox: inbox.name.clone(),
        name,
        is_folder,
        priority: 0,
        created_at: now,
        started_at: None,
        finished_at: None,
        cancelled_at: None,
        cancelled_by: None,
    });
    id
}

fn unique_name(state: &State, inbox: &Inbox, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while state.batch_named(&inbox.name, &name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// `2026-11-29T14-03-12`: local time when known, else UTC; safe as a folder name.
pub fn loose_batch_name(now: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let t = time::UtcOffset::current_local_offset().map_or(t, |o| t.to_offset(o));
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]-[minute]-[second]");
    t.format(&f).unwrap_or_else(|_| now.to_string())
}

fn free_stem(state: &State, batch: BatchId, rel: &RelPath) -> RelPath {
    let first = default_stem(rel);
    if state.stem_free(batch, &first) {
        return first;
    }
    let full = full_stem(rel);
    if state.stem_free(batch, &full) {
        return full;
    }
    (2..)
        .map(|n| numbered_stem(rel, n))
        .find(|s| state.stem_free(batch, s))
        .unwrap_or(full)
}
