//! The scheduler's in-memory copy of the store, with indexes and the pending transaction.

use crate::model::{now_ms, Batch, BatchId, Fingerprint, Item, ItemId, ItemState, Millis, RelPath};
use crate::store::{Changes, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// One item state change, for `events.jsonl`.
#[derive(Debug, Clone)]
pub struct Transition {
    pub at: Millis,
    pub item: ItemId,
    pub batch: BatchId,
    pub from: Option<ItemState>,
    pub to: Option<ItemState>,
}

/// Batches and items as committed (plus what this step is about to commit).
#[derive(Debug, Default)]
pub struct State {
    pub batches: BTreeMap<BatchId, Batch>,
    pub items: BTreeMap<ItemId, Item>,
    by_path: HashMap<(String, RelPath), ItemId>,
    by_batch: HashMap<BatchId, BTreeSet<ItemId>>,
    stems: HashMap<BatchId, HashSet<RelPath>>,
    next_id: u64,
    /// Writes not yet committed.
    pub pending: Changes,
    /// Batches whose status views must be rewritten.
    pub dirty: BTreeSet<BatchId>,
    /// Item transitions not yet written to the events log.
    pub transitions: Vec<Transition>,
    /// Files a user removed from their batch: ignored while their content is unchanged.
    pub tombstones: HashMap<(String, RelPath), Fingerprint>,
}

/// A removed file's record in the control table.
#[derive(Debug, Serialize, Deserialize)]
struct Tombstone {
    inbox: String,
    rel: RelPath,
    seen: Fingerprint,
}

fn tombstone_key(inbox: &str, rel: &RelPath) -> String {
    let rel = serde_json::to_string(rel).unwrap_or_default();
    format!("removed:{inbox}:{rel}")
}

impl State {
    pub fn from_snapshot(snap: Snapshot) -> State {
        let mut s = State {
            next_id: snap.next_id.max(1),
            ..State::default()
        };
        for b in snap.batches {
            s.batches.insert(b.id, b);
        }
        for i in snap.items {
            s.index(&i);
            s.items.insert(i.id, i);
        }
        for (key, value) in &snap.control {
            if key.starts_with("removed:") {
                if let Ok(t) = serde_json::from_slice::<Tombstone>(value) {
                    s.tombstones.insert((t.inbox, t.rel), t.seen);
                }
            }
        }
        s
    }

    /// Records a control-table write for this step's commit.
    pub fn put_control(&mut self, key: String, value: Vec<u8>) {
        self.pending.removed_control.retain(|k| k != &key);
        self.pending.control.push((key, value));
    }

    pub fn del_control(&mut self, key: String) {
        self.pending.control.retain(|(k, _)| k != &key);
        self.pending.removed_control.push(key);
    }

    /// Remembers a removed file so rescans do not bring it back.
    pub fn add_tombstone(&mut self, inbox: &str, rel: &RelPath, seen: Fingerprint) {
        let t = Tombstone {
            inbox: inbox.into(),
            rel: rel.clone(),
            seen,
        };
        self.put_control(
            tombstone_key(inbox, rel),
            serde_json::to_vec(&t).unwrap_or_default(),
        );
        self.tombstones.insert((inbox.into(), rel.clone()), seen);
    }

    /// The tombstone of a file, if it was removed.
    pub fn tombstone(&self, inbox: &str, rel: &RelPath) -> Option<&Fingerprint> {
        self.tombstones.get(&(inbox.to_string(), rel.clone()))
    }

    pub fn drop_tombstone(&mut self, inbox: &str, rel: &RelPath) {
        if self
            .tombstones
            .remove(&(inbox.to_string(), rel.clone()))
            .is_some()
        {
            self.del_control(tombstone_key(inbox, rel));
        }
    }

    fn inbox_of(&self, batch: BatchId) -> String {
        self.batches
            .get(&batch)
            .map(|b| b.inbox.clone())
            .unwrap_or_default()
    }

    fn index(&mut self, i: &Item) {
        let inbox = self.inbox_of(i.batch);
        self.by_path.insert((inbox, i.rel.clone()), i.id);
        self.by_batch.entry(i.batch).or_default().insert(i.id);
        self.stems
            .entry(i.batch)
            .or_default()
            .insert(i.out_stem.clone());
    }

    /// A new id for a batch or an item (persisted with the next commit).
    pub fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.next_id = Some(self.next_id);
        id
    }

    pub fn item_at(&self, inbox: &str, rel: &RelPath) -> Option<&Item> {
        let id = self.by_path.get(&(inbox.to_string(), rel.clone()))?;
        self.items.get(id)
    }

    pub fn batch_items(&self, batch: BatchId) -> impl Iterator<Item = &Item> {
        self.by_batch
            .get(&batch)
            .into_iter()
            .flatten()
            .filter_map(|id| self.items.get(id))
    }

    /// True when `stem` is free in `batch`'s outbox folder.
    pub fn stem_free(&self, batch: BatchId, stem: &RelPath) -> bool {
        !self.stems.get(&batch).is_some_and(|s| s.contains(stem))
    }

    pub fn put_batch(&mut self, b: Batch) {
        self.dirty.insert(b.id);
        self.pending.batches.retain(|x| x.id != b.id);
        self.pending.batches.push(b.clone());
        self.batches.insert(b.id, b);
    }

    /// Stores a new or changed item, noting its transition and dirtying its batch.
    pub fn put_item(&mut self, i: Item) {
        let from = self.items.get(&i.id).map(|old| old.state);
        if from.is_none() {
            self.index(&i);
        }
        if from != Some(i.state) {
            self.transitions.push(Transition {
                at: now_ms(),
                item: i.id,
                batch: i.batch,
                from,
                to: Some(i.state),
            });
        }
        self.dirty.insert(i.batch);
        self.pending.items.push(i.clone());
        self.items.insert(i.id, i);
    }

    pub fn remove_item(&mut self, id: ItemId) -> Option<Item> {
        let i = self.items.remove(&id)?;
        let inbox = self.inbox_of(i.batch);
        self.by_path.remove(&(inbox, i.rel.clone()));
        if let Some(set) = self.by_batch.get_mut(&i.batch) {
            set.remove(&id);
        }
        if let Some(set) = self.stems.get_mut(&i.batch) {
            set.remove(&i.out_stem);
        }
        self.transitions.push(Transition {
            at: now_ms(),
            item: id,
            batch: i.batch,
            from: Some(i.state),
            to: None,
        });
        self.dirty.insert(i.batch);
        self.pending.items.retain(|x| x.id != id);
        self.pending.removed_items.push(id);
        Some(i)
    }

    pub fn remove_batch(&mut self, id: BatchId) -> Option<Batch> {
        let ids: Vec<ItemId> = self
            .by_batch
            .get(&id)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for item in ids {
            self.remove_item(item);
        }
        self.by_batch.remove(&id);
        self.stems.remove(&id);
        self.pending.batches.retain(|x| x.id != id);
        self.pending.removed_batches.push(id);
        self.batches.remove(&id)
    }

    /// Takes the writes accumulated so far (to commit them).
    pub fn take_pending(&mut self) -> Changes {
        std::mem::take(&mut self.pending)
    }

    /// The folder batch `name` of `inbox`, if recorded.
    pub fn folder_batch(&self, inbox: &str, name: &str) -> Option<&Batch> {
        self.batches
            .values()
            .find(|b| b.is_folder && b.inbox == inbox && b.name == name)
    }

    /// The newest loose-file batch of `inbox`.
    pub fn newest_loose_batch(&self, inbox: &str) -> Option<&Batch> {
        self.batches
            .values()
            .filter(|b| !b.is_folder && b.inbox == inbox)
            .max_by_key(|b| (b.created_at, b.id))
    }

    pub fn batch_named(&self, inbox: &str, name: &str) -> bool {
        self.batches
            .values()
            .any(|b| b.inbox == inbox && b.name == name)
    }

    pub fn ids_in_state(&self, state: ItemState) -> Vec<ItemId> {
        self.items
            .values()
            .filter(|i| i.state == state)
            .map(|i| i.id)
            .collect()
    }
}

/// A display path's output stem: the path below the batch folder without its extension.
pub fn default_stem(rel: &RelPath) -> RelPath {
    let within = rel.within_batch();
    let stem = within.with_extension("");
    RelPath::new(&stem)
        .or_else(|| RelPath::new(within))
        .unwrap_or_else(|| rel.clone())
}

/// The stem to use when the default one is taken: keep the extension (`talk.wav`).
pub fn full_stem(rel: &RelPath) -> RelPath {
    RelPath::new(rel.within_batch()).unwrap_or_else(|| rel.clone())
}

/// The stem with a numeric suffix, for the rare clash of both forms.
pub fn numbered_stem(rel: &RelPath, n: usize) -> RelPath {
    let within = rel.within_batch();
    let mut name = within.as_os_str().to_os_string();
    name.push(format!("~{n}"));
    RelPath::new(Path::new(&name)).unwrap_or_else(|| rel.clone())
}
