//! Applying control commands: pause, resume, cancel, retry, remove, delete, set, list, show.

use super::pauses::{Note, Scope};
use super::{Effect, Scheduler};
use crate::control::{Command, Outcome, Request, Target};
use crate::model::{now_ms, Batch, BatchId, Item, ItemId, ItemState, Millis};
use crate::outbox::batch_status;
use std::path::PathBuf;

impl Scheduler {
    /// One code path for every control source: markers, command files, the CLI, signals.
    pub(super) fn on_control(&mut self, req: Request) {
        let now = now_ms();
        let outcome = match &req.claim {
            Some(claim) if self.claims.contains(claim) => {
                Outcome::ok("already applied (answered after a restart)")
            }
            _ => self.apply_command(&req.command, &req.source.describe(), now),
        };
        if let (true, Some(claim)) = (outcome.ok, &req.claim) {
            self.state
                .put_control(format!("claim:{claim}"), now.to_string().into_bytes());
            self.claims.insert(claim.clone());
        }
        tracing::info!(command = ?req.command, by = %req.source.describe(), ok = outcome.ok, effect = ?outcome.effect, error = ?outcome.error, "control");
        self.note_control_event(&req, &outcome, now);
        if let Some(reply) = req.reply {
            self.effects.push(Effect::Reply(reply, outcome));
        }
    }

    fn apply_command(&mut self, cmd: &Command, by: &str, now: Millis) -> Outcome {
        let result = match cmd {
            Command::Pause { target, now: abort } => self.pause(target, *abort, by, now),
            Command::Resume { target } => self.resume(target),
            Command::Cancel { batch } => self
                .find_batch(batch)
                .map(|id| self.cancel_batch(id, by, now)),
            Command::Retry { batch, item } => self
                .find_batch(batch)
                .and_then(|id| self.retry(id, item.as_deref(), now)),
            Command::Remove {
                batch,
                item,
                delete_file,
            } => self
                .find_batch(batch)
                .and_then(|id| self.remove(id, item, *delete_file)),
            Command::Delete {
                batch,
                purge,
                force,
            } => self
                .find_batch(batch)
                .and_then(|id| self.delete(id, *purge, *force, by, now)),
            Command::SetPriority { batch, priority } => self
                .find_batch(batch)
                .map(|id| self.set_priority(id, *priority)),
            Command::SetConcurrency { concurrency } => Ok(self.set_concurrency(*concurrency)),
            Command::List {
                state,
                inbox,
                page,
                per_page,
            } => Ok(self.list(state.as_deref(), inbox.as_deref(), *page, *per_page)),
            Command::Show { batch } => self.find_batch(batch).map(|id| self.show(id, now)),
        };
        result.unwrap_or_else(Outcome::err)
    }

    /// A batch of a served inbox, by id or unique name.
    fn find_batch(&self, name: &str) -> Result<BatchId, String> {
        let served = |b: &&Batch| self.cfg.inbox(&b.inbox).is_some();
        if let Ok(id) = name.parse::<BatchId>() {
            if self.state.batches.get(&id).filter(served).is_some() {
                return Ok(id);
            }
        }
        let matches: Vec<BatchId> = self
            .state
            .batches
            .values()
            .filter(served)
            .filter(|b| b.name == name)
            .map(|b| b.id)
            .collect();
        match matches.as_slice() {
            [id] => Ok(*id),
            [] => Err(format!("unknown batch {name:?}")),
            many => Err(format!(
                "batch name {name:?} is ambiguous: use its id ({many:?})"
            )),
        }
    }

    fn batch_name(&self, id: BatchId) -> String {
        self.state
            .batches
            .get(&id)
            .map(|b| b.name.clone())
            .unwrap_or_default()
    }

    fn scope(&self, target: &Target) -> Result<Scope, String> {
        match target {
            Target::All => Ok(Scope::All),
            Target::Inbox(name) if self.cfg.inbox(name).is_some() => Ok(Scope::Inbox(name.clone())),
            Target::Inbox(name) => Err(format!("unknown inbox {name:?}")),
            Target::Batch(name) => self.find_batch(name).map(Scope::Batch),
        }
    }

    fn in_scope(&self, scope: &Scope, batch: BatchId) -> bool {
        match (scope, self.state.batches.get(&batch)) {
            (Scope::All, _) => true,
            (Scope::Inbox(name), Some(b)) => &b.inbox == name,
            (Scope::Batch(id), _) => *id == batch,
            _ => false,
        }
    }

    fn pause(
        &mut self,
        target: &Target,
        abort: bool,
        by: &str,
        now: Millis,
    ) -> Result<Outcome, String> {
        let scope = self.scope(target)?;
        let note = Note {
            by: by.to_string(),
            at: now,
        };
        self.state
            .put_control(scope.key(), serde_json::to_vec(&note).unwrap_or_default());
        self.pauses.commanded.insert(scope.clone(), note);
        self.dirty_scope(&scope);
        let mut aborted = 0;
        if abort {
            let running: Vec<(ItemId, BatchId)> = self
                .running
                .keys()
                .filter_map(|id| self.state.items.get(id))
                .map(|i| (i.id, i.batch))
                .collect();
            let hit: Vec<ItemId> = running
                .into_iter()
                .filter(|(_, b)| self.in_scope(&scope, *b))
                .map(|(id, _)| id)
                .collect();
            aborted = hit.len();
            self.effects.extend(hit.into_iter().map(Effect::Abort));
        }
        let what = describe(&scope, self);
        Ok(match (abort, aborted) {
            (true, n) => Outcome::ok(format!(
                "paused {what}; {n} running items aborted and requeued"
            )),
            (false, _) => Outcome::ok(format!("paused {what}; running items finish")),
        })
    }

    fn resume(&mut self, target: &Target) -> Result<Outcome, String> {
        let scope = self.scope(target)?;
        let was = self.pauses.commanded.remove(&scope).is_some();
        if was {
            self.state.del_control(scope.key());
        }
        self.dirty_scope(&scope);
        let what = describe(&scope, self);
        let still = self
            .state
            .batches
            .values()
            .filter(|b| self.in_scope(&scope, b.id))
            .find_map(|b| self.pauses.of(b))
            .map(|n| n.by.clone());
        Ok(Outcome::ok(match (was, still) {
            (_, Some(by)) => format!("resumed {what}; still paused by {by}"),
            (true, None) => format!("resumed {what}"),
            (false, None) => format!("{what} was not paused"),
        }))
    }

    fn dirty_scope(&mut self, scope: &Scope) {
        let ids: Vec<BatchId> = self
            .state
            .batches
            .keys()
            .copied()
            .filter(|b| self.in_scope(scope, *b))
            .collect();
        self.state.dirty.extend(ids);
    }

    fn cancel_batch(&mut self, id: BatchId, by: &str, now: Millis) -> Outcome {
        let open: Vec<Item> = self
            .state
            .batch_items(id)
            .filter(|i| !i.state.is_terminal())
            .cloned()
            .collect();
        let mut running = 0;
        for item in &open {
            if item.state == ItemState::Running {
                running += 1;
                self.effects.push(Effect::Abort(item.id));
            }
            if let Ok(next) = item.cancel(now) {
                self.state.put_item(next);
            }
        }
        if let Some(b) = self.state.batches.get(&id).cloned() {
            self.state.put_batch(Batch {
                cancelled_at: Some(now),
                cancelled_by: Some(by.to_string()),
                ..b
            });
        }
        Outcome::ok(format!(
            "cancelled batch {:?}: {} items cancelled, {running} running aborted",
            self.batch_name(id),
            open.len()
        ))
    }

    fn find_item(&self, batch: BatchId, name: &str) -> Result<Item, String> {
        let found = self
            .state
            .batch_items(batch)
            .find(|i| i.rel.display() == name || i.rel.within_batch().to_string_lossy() == name);
        found.cloned().ok_or_else(|| {
            format!(
                "unknown item {name:?} in batch {:?}",
                self.batch_name(batch)
            )
        })
    }

    fn retry(
        &mut self,
        batch: BatchId,
        item: Option<&str>,
        now: Millis,
    ) -> Result<Outcome, String> {
        let items: Vec<Item> = match item {
            Some(name) => vec![self.find_item(batch, name)?],
            None => self.state.batch_items(batch).cloned().collect(),
        };
        let retried: Vec<Item> = items.iter().filter_map(|i| i.retry(now).ok()).collect();
        if let (Some(name), true) = (item, retried.is_empty()) {
            return Err(format!("item {name:?} is not failed or cancelled"));
        }
        let n = retried.len();
        retried.into_iter().for_each(|i| self.state.put_item(i));
        if let Some(b) = self
            .state
            .batches
            .get(&batch)
            .cloned()
            .filter(|b| b.cancelled_at.is_some())
        {
            self.state.put_batch(Batch {
                cancelled_at: None,
                cancelled_by: None,
                ..b
            });
        }
        Ok(Outcome::ok(format!(
            "{n} items of batch {:?} queued again",
            self.batch_name(batch)
        )))
    }

    fn inbox_path(&self, item: &Item) -> Option<PathBuf> {
        let b = self.state.batches.get(&item.batch)?;
        Some(item.rel.under(&self.cfg.inbox(&b.inbox)?.path))
    }

    fn remove(&mut self, batch: BatchId, name: &str, delete_file: bool) -> Result<Outcome, String> {
        let item = self.find_item(batch, name)?;
        let path = self.inbox_path(&item);
        let inbox = self
            .state
            .batches
            .get(&batch)
            .map(|b| b.inbox.clone())
            .unwrap_or_default();
        match (&path, delete_file) {
            (Some(p), true) => self.effects.push(Effect::DeleteFile(p.clone())),
            (Some(p), false) if p.exists() => {
                self.state.add_tombstone(&inbox, &item.rel, item.seen)
            }
            _ => {}
        }
        if item.state == ItemState::Running {
            self.vanished.insert(item.id);
            self.effects.push(Effect::Abort(item.id));
        } else {
            self.state.remove_item(item.id);
        }
        let file = if delete_file {
            "file deleted"
        } else {
            "file left in place"
        };
        Ok(Outcome::ok(format!(
            "removed {} from batch {:?} ({file})",
            item.rel.display(),
            self.batch_name(batch)
        )))
    }

    fn delete(
        &mut self,
        id: BatchId,
        purge: bool,
        force: bool,
        by: &str,
        now: Millis,
    ) -> Result<Outcome, String> {
        let running = self
            .state
            .batch_items(id)
            .filter(|i| i.state == ItemState::Running)
            .count();
        if running > 0 && !force {
            return Err(format!(
                "batch {:?} has {running} running items; cancel it first or use force",
                self.batch_name(id)
            ));
        }
        self.cancel_batch(id, by, now);
        let items: Vec<Item> = self.state.batch_items(id).cloned().collect();
        let Some(batch) = self.state.batches.get(&id).cloned() else {
            return Err("batch vanished".into());
        };
        for item in &items {
            if self.inbox_path(item).is_some_and(|p| p.exists()) {
                self.state.add_tombstone(&batch.inbox, &item.rel, item.seen);
            }
        }
        self.state.remove_batch(id);
        if self.pauses.commanded.remove(&Scope::Batch(id)).is_some() {
            self.state.del_control(Scope::Batch(id).key());
        }
        if let Some(inbox) = self.cfg.inbox(&batch.inbox) {
            let dir = crate::outbox::batch_dir(&inbox.outbox, &batch.name);
            self.effects.push(Effect::ForgetOutbox { dir, purge });
        }
        let kept = if purge {
            "transcripts deleted"
        } else {
            "transcripts kept"
        };
        Ok(Outcome::ok(format!(
            "deleted batch {:?} ({} items; {kept})",
            batch.name,
            items.len()
        )))
    }

    fn set_priority(&mut self, id: BatchId, priority: i64) -> Outcome {
        if let Some(b) = self.state.batches.get(&id).cloned() {
            self.state.put_batch(Batch { priority, ..b });
        }
        Outcome::ok(format!(
            "batch {:?} priority {priority}",
            self.batch_name(id)
        ))
    }

    fn set_concurrency(&mut self, n: usize) -> Outcome {
        let before = self.concurrency;
        self.concurrency = n;
        Outcome::ok(format!(
            "concurrency {before} -> {n} (until restart or reload)"
        ))
    }

    fn list(
        &self,
        state: Option<&str>,
        inbox: Option<&str>,
        page: usize,
        per_page: usize,
    ) -> Outcome {
        let mut rows: Vec<_> = self
            .summaries
            .values()
            .filter(|s| state.is_none_or(|st| s.state.name() == st))
            .filter(|s| inbox.is_none_or(|i| s.inbox == i))
            .collect();
        rows.sort_by(|a, b| (&b.created_at, b.id).cmp(&(&a.created_at, a.id)));
        let per_page = per_page.clamp(1, 1000);
        let total = rows.len();
        let page_rows: Vec<_> = rows
            .into_iter()
            .skip(page.saturating_sub(1) * per_page)
            .take(per_page)
            .collect();
        let data = serde_json::json!({ "page": page, "per_page": per_page, "total": total, "batches": page_rows });
        Outcome::ok(format!("{total} batches")).with_data(data)
    }

    fn show(&self, id: BatchId, now: Millis) -> Outcome {
        let Some(batch) = self.state.batches.get(&id) else {
            return Outcome::err("unknown batch");
        };
        let items: Vec<&Item> = self.state.batch_items(id).collect();
        let status = batch_status(
            batch,
            &items,
            &self.progress(),
            self.pause_note(batch),
            usize::MAX,
            now,
        );
        Outcome::ok(format!("batch {:?}", batch.name))
            .with_data(serde_json::to_value(status).unwrap_or_default())
    }

    fn note_control_event(&mut self, req: &Request, outcome: &Outcome, now: Millis) {
        let line = serde_json::json!({
            "time": crate::outbox::rfc3339(now),
            "event": "control",
            "command": req.command,
            "by": req.source.describe(),
            "ok": outcome.ok,
            "effect": outcome.effect,
            "error": outcome.error,
        });
        if !matches!(req.command, Command::List { .. } | Command::Show { .. }) {
            self.control_events.push(line);
        }
    }
}

fn describe(scope: &Scope, s: &Scheduler) -> String {
    match scope {
        Scope::All => "everything".into(),
        Scope::Inbox(name) => format!("inbox {name:?}"),
        Scope::Batch(id) => format!("batch {:?}", s.batch_name(*id)),
    }
}
