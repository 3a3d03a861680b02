//! Derived views after each commit: status.json, batches.json, markers, events.jsonl.

use super::{Scheduler, MIN_PUBLISH_GAP, RUNNING_PUBLISH_GAP};
use crate::model::{now_ms, BatchId, Item, ItemState};
use crate::outbox::{
    batch_dir, batch_status, batch_summary, rfc3339, ItemProgress, Marker, Write,
    MAX_ITEMS_IN_STATUS,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

impl Scheduler {
    /// Rewrites the views of changed batches (at most every MIN_PUBLISH_GAP each) and of
    /// running ones (every RUNNING_PUBLISH_GAP); `force` writes every dirty one now.
    pub(super) fn publish(&mut self, force: bool) {
        self.write_events();
        let now = Instant::now();
        let due = |last: Option<&Instant>, gap| {
            force || last.is_none_or(|t| now.duration_since(*t) >= gap)
        };
        let mut ids: BTreeSet<BatchId> = self
            .state
            .dirty
            .iter()
            .copied()
            .filter(|id| due(self.published.get(id), MIN_PUBLISH_GAP))
            .collect();
        let running_batches = self
            .running
            .keys()
            .filter_map(|id| self.state.items.get(id))
            .map(|i| i.batch);
        ids.extend(running_batches.filter(|b| due(self.published.get(b), RUNNING_PUBLISH_GAP)));
        if ids.is_empty() {
            return;
        }
        let mut inboxes = BTreeSet::new();
        let mut markers = Vec::new();
        for id in ids {
            self.state.dirty.remove(&id);
            self.published.insert(id, now);
            if let Some((inbox, marker)) = self.publish_batch(id) {
                inboxes.insert(inbox);
                markers.extend(marker);
            }
        }
        for inbox in inboxes {
            self.publish_list(&inbox);
        }
        // Markers last: when DONE appears, every view already says so.
        for m in markers {
            self.writer.send(m);
        }
    }

    pub(super) fn progress(&self) -> ItemProgress {
        self.running
            .iter()
            .map(|(id, r)| (*id, r.control.progress()))
            .collect()
    }

    /// Writes one batch's status.json; returns its inbox name and its marker write.
    fn publish_batch(&mut self, id: BatchId) -> Option<(String, Option<Write>)> {
        let Some(batch) = self.state.batches.get(&id) else {
            // Dropped: its line leaves batches.json, its status files go.
            let gone = self.summaries.remove(&id)?;
            let inbox = self.cfg.inbox(&gone.inbox)?;
            let dir = batch_dir(&inbox.outbox, &gone.name);
            self.writer.send(Write::Forget { dir, purge: false });
            return Some((gone.inbox, None));
        };
        let inbox = self.cfg.inbox(&batch.inbox)?;
        let dir = batch_dir(&inbox.outbox, &batch.name);
        let items: Vec<&Item> = self.state.batch_items(id).collect();
        let paused = self.pause_note(batch);
        let status = batch_status(
            batch,
            &items,
            &self.progress(),
            paused,
            MAX_ITEMS_IN_STATUS,
            now_ms(),
        );
        let marker = match (status.state.is_finished(), status.counts.failed > 0) {
            (false, _) => Marker::None,
            (true, false) => Marker::Done,
            (true, true) => Marker::Failed,
        };
        let bytes = serde_json::to_vec_pretty(&status).unwrap_or_default();
        self.writer.send(Write::File {
            path: dir.join("status.json"),
            bytes,
        });
        self.summaries.insert(id, batch_summary(&status));
        Some((batch.inbox.clone(), Some(Write::Marker { dir, marker })))
    }

    /// Rewrites `batches.json` of one inbox: a JSON array, one batch per line, newest first.
    fn publish_list(&mut self, inbox_name: &str) {
        let Some(inbox) = self.cfg.inbox(inbox_name) else {
            return;
        };
        let mut rows: Vec<_> = self
            .summaries
            .values()
            .filter(|s| s.inbox == inbox_name)
            .collect();
        rows.sort_by(|a, b| (&b.created_at, b.id).cmp(&(&a.created_at, a.id)));
        let lines: Vec<String> = rows
            .iter()
            .filter_map(|s| serde_json::to_string(s).ok())
            .collect();
        let text = if lines.is_empty() {
            "[]\n".to_string()
        } else {
            format!("[\n{}\n]\n", lines.join(",\n"))
        };
        self.writer.send(Write::File {
            path: inbox.outbox.join("batches.json"),
            bytes: text.into_bytes(),
        });
    }

    /// Appends the step's item transitions to each inbox's `events.jsonl`.
    fn write_events(&mut self) {
        let mut per_outbox: BTreeMap<std::path::PathBuf, String> = BTreeMap::new();
        for t in std::mem::take(&mut self.state.transitions) {
            let Some(batch) = self.state.batches.get(&t.batch) else {
                continue;
            };
            let Some(inbox) = self.cfg.inbox(&batch.inbox) else {
                continue;
            };
            let item = self.state.items.get(&t.item);
            let line = serde_json::json!({
                "time": rfc3339(t.at),
                "inbox": batch.inbox,
                "batch": batch.name,
                "batch_id": batch.id,
                "item_id": t.item,
                "path": item.map(|i| i.rel.display()),
                "from": t.from.map(ItemState::name),
                "to": t.to.map_or("removed", ItemState::name),
                "error": item.and_then(|i| i.error.clone()),
            });
            let text = per_outbox
                .entry(inbox.outbox.join("events.jsonl"))
                .or_default();
            text.push_str(&line.to_string());
            text.push('\n');
        }
        for line in std::mem::take(&mut self.control_events) {
            for inbox in &self.cfg.inboxes {
                let text = per_outbox
                    .entry(inbox.outbox.join("events.jsonl"))
                    .or_default();
                text.push_str(&line.to_string());
                text.push('\n');
            }
        }
        for (path, text) in per_outbox {
            self.writer.send(Write::Append { path, text });
        }
    }
}
