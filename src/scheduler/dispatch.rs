//! Starting work: pick the next items in priority order, commit them running, spawn jobs.

use super::{Msg, Running, Scheduler};
use crate::audio::DecodeOptions;
use crate::engine::{DecodeParams, JobControl};
use crate::job::{self, JobSpec};
use crate::model::{now_ms, Batch, ItemId, Millis, RelPath};
use crate::outbox::batch_dir;
use crate::store::StoreError;
use std::cmp::Reverse;
use std::path::PathBuf;

/// Everything a job needs, owned, to move onto a worker thread.
struct OwnedSpec {
    input: PathBuf,
    out_dir: PathBuf,
    stem: std::ffi::OsString,
    formats: Vec<crate::transcript::Format>,
    params: DecodeParams,
    decode: DecodeOptions,
    expected: crate::model::Fingerprint,
}

impl Scheduler {
    /// Fills free worker slots: commits the items as running first, then starts them.
    pub(super) fn dispatch(&mut self) -> Result<(), StoreError> {
        let free = self.concurrency.saturating_sub(self.running.len());
        if free == 0 {
            return Ok(());
        }
        let now = now_ms();
        let picks = self.pick(free, now);
        if picks.is_empty() {
            return Ok(());
        }
        for id in &picks {
            self.mark_started(*id, now);
        }
        self.refresh_batches();
        self.commit()?;
        for id in picks {
            self.spawn_job(id);
        }
        Ok(())
    }

    /// The next `n` ready items: inbox priority, batch priority, batch age, file order.
    fn pick(&self, n: usize, now: Millis) -> Vec<ItemId> {
        type Key<'a> = (Reverse<i64>, Reverse<i64>, Millis, u64, &'a RelPath, ItemId);
        let mut keys: Vec<Key<'_>> = self
            .state
            .items
            .values()
            .filter(|i| i.is_ready(now) && !self.running.contains_key(&i.id))
            .filter_map(|i| {
                let b = self.state.batches.get(&i.batch)?;
                let inbox = self.cfg.inbox(&b.inbox)?;
                if self.pauses.of(b).is_some() {
                    return None;
                }
                Some((
                    Reverse(inbox.priority),
                    Reverse(b.priority),
                    b.created_at,
                    b.id,
                    &i.rel,
                    i.id,
                ))
            })
            .collect();
        if keys.len() > n {
            keys.select_nth_unstable(n);
            keys.truncate(n);
        }
        keys.sort_unstable();
        keys.into_iter().map(|k| k.5).collect()
    }

    fn mark_started(&mut self, id: ItemId, now: Millis) {
        let Some(item) = self.state.items.get(&id) else {
            return;
        };
        let Ok(started) = item.start(now) else { return };
        if let Some(b) = self
            .state
            .batches
            .get(&started.batch)
            .filter(|b| b.started_at.is_none())
        {
            let b = Batch {
                started_at: Some(now),
                ..b.clone()
            };
            self.state.put_batch(b);
        }
        self.state.put_item(started);
    }

    fn owned_spec(&self, id: ItemId) -> Option<OwnedSpec> {
        let item = self.state.items.get(&id)?;
        let batch = self.state.batches.get(&item.batch)?;
        let inbox = self.cfg.inbox(&batch.inbox)?;
        let stem_path = item.out_stem.as_path();
        let out_dir = batch_dir(&inbox.outbox, &batch.name)
            .join(stem_path.parent().unwrap_or(std::path::Path::new("")));
        Some(OwnedSpec {
            expected: item.seen,
            input: item.rel.under(&inbox.path),
            out_dir,
            stem: stem_path.file_name()?.to_os_string(),
            formats: inbox.formats.clone(),
            params: DecodeParams {
                language: inbox.language.clone(),
                threads: self.cfg.threads_per_worker,
                beam_size: self.cfg.beam_size,
            },
            decode: DecodeOptions {
                max_duration_seconds: Some(self.cfg.max_duration_seconds),
                allow_ffmpeg: true,
            },
        })
    }

    fn spawn_job(&mut self, id: ItemId) {
        let Some(spec) = self.owned_spec(id) else {
            tracing::error!(item = id, "item has no batch or inbox; cannot start it");
            return;
        };
        let control = JobControl::new();
        self.running.insert(
            id,
            Running {
                control: control.clone(),
            },
        );
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        tracing::info!(item = id, path = %spec.input.display(), "transcribing");
        tokio::task::spawn_blocking(move || {
            let borrowed = JobSpec {
                input: &spec.input,
                out_dir: &spec.out_dir,
                stem: &spec.stem,
                formats: &spec.formats,
                params: spec.params.clone(),
                decode: spec.decode.clone(),
                expected: Some(spec.expected),
            };
            let result = job::run(engine.as_ref(), &borrowed, &control);
            let _ = tx.blocking_send(Msg::JobDone { id, result });
        });
    }
}
