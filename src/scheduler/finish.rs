//! Finishing work: job outcomes, originals archived/deleted/kept, batches closed.

use super::ingest::drop_empty_batch;
use super::{Effect, Msg, Scheduler};
use crate::config::Originals;
use crate::job::{JobError, JobOutput};
use crate::model::{now_ms, Batch, BatchCounts, BatchId, Item, ItemId, ItemState};
use std::io;
use std::path::{Path, PathBuf};

impl Scheduler {
    pub(super) fn on_job_done(&mut self, id: ItemId, result: Result<JobOutput, JobError>) {
        self.running.remove(&id);
        let Some(item) = self.state.items.get(&id).cloned() else {
            return;
        };
        if item.state != ItemState::Running {
            return; // cancelled or removed meanwhile
        }
        if self.vanished.remove(&id) {
            self.state.remove_item(id);
            drop_empty_batch(&mut self.state, item.batch);
            return;
        }
        let now = now_ms();
        let next = match result {
            Ok(out) => {
                let outputs = out
                    .outputs
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned());
                let stem_dir = item.out_stem.as_path().parent().unwrap_or(Path::new(""));
                let outputs = outputs
                    .map(|n| stem_dir.join(n).display().to_string())
                    .collect();
                tracing::info!(item = id, audio_seconds = out.audio_seconds, "done");
                self.effects.push(Effect::HandleOriginal(id));
                item.succeed(out.audio_seconds, outputs, now)
            }
            Err(e) if e.is_cancelled() => item.requeue(),
            Err(JobError::SourceChanged { now: seen }) => {
                tracing::info!(item = id, path = %item.rel.display(), "file changed while transcribing; doing it again");
                let changed = Item { seen, ..item };
                changed.fail(
                    "the file changed while it was being transcribed",
                    true,
                    self.cfg.max_attempts,
                    now,
                )
            }
            Err(e) => {
                tracing::warn!(item = id, path = %item.rel.display(), cause = %e, transient = e.is_transient(), "item failed");
                item.fail(&e.to_string(), e.is_transient(), self.cfg.max_attempts, now)
            }
        };
        if let Ok(next) = next {
            self.state.put_item(next);
        }
    }

    /// After `done` is committed: archive, delete or keep the original, off the actor thread.
    pub(super) fn handle_original(&mut self, id: ItemId) {
        let Some(item) = self.state.items.get(&id) else {
            return;
        };
        let Some(batch) = self.state.batches.get(&item.batch) else {
            return;
        };
        let Some(inbox) = self.cfg.inbox(&batch.inbox) else {
            return;
        };
        if item.state != ItemState::Done
            || item.original_handled
            || !self.originals_in_flight.insert(id)
        {
            return;
        }
        let source = item.rel.under(&inbox.path);
        let target = inbox
            .archive
            .join(&batch.name)
            .join(item.rel.within_batch());
        let mode = inbox.originals;
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = match mode {
                Originals::Keep => Ok(()),
                Originals::Delete => remove_original(&source),
                Originals::Archive => archive_original(&source, &target),
            };
            let result = result.map_err(|e| format!("{}: {e}", source.display()));
            let _ = tx.blocking_send(Msg::OriginalDone { id, result });
        });
    }

    pub(super) fn on_original_done(&mut self, id: ItemId, result: Result<(), String>) {
        self.originals_in_flight.remove(&id);
        match result {
            Ok(()) => {
                if let Some(next) = self
                    .state
                    .items
                    .get(&id)
                    .and_then(|i| i.original_done().ok())
                {
                    self.state.put_item(next);
                }
            }
            Err(e) => {
                tracing::error!(item = id, cause = %e, "cannot archive or delete the original; it stays in the inbox")
            }
        }
    }

    /// Keeps each dirty batch's `started_at`/`finished_at` in step with its items.
    pub(super) fn refresh_batches(&mut self) {
        let now = now_ms();
        let dirty: Vec<BatchId> = self.state.dirty.iter().copied().collect();
        for id in dirty {
            let Some(b) = self.state.batches.get(&id).cloned() else {
                continue;
            };
            let counts = BatchCounts::of(self.state.batch_items(id));
            let finished = counts.total() > 0 && counts.unfinished() == 0;
            if finished && b.finished_at.is_none() {
                self.state.put_batch(Batch {
                    finished_at: Some(now),
                    ..b
                });
                tracing::info!(batch = %self.state.batches[&id].name, done = counts.done, failed = counts.failed, "batch finished");
            } else if !finished && b.finished_at.is_some() {
                self.state.put_batch(Batch {
                    finished_at: None,
                    ..b
                });
            }
            let settled = self
                .state
                .batch_items(id)
                .all(|i| i.state != ItemState::Done || i.original_handled);
            if finished && settled && self.state.batches[&id].is_folder {
                self.effects.push(Effect::RemoveEmptyFolder(id));
            }
        }
    }

    /// A finished batch's folder goes once nothing is left in it (failed files stay).
    pub(super) fn remove_empty_folder(&mut self, batch: BatchId) {
        let Some(b) = self.state.batches.get(&batch) else {
            return;
        };
        let Some(inbox) = self.cfg.inbox(&b.inbox) else {
            return;
        };
        let folder = inbox.path.join(&b.name);
        tokio::task::spawn_blocking(move || remove_empty_dirs(&folder));
    }
}

/// Moves `source` to `target` (a free name beside it if taken), across filesystems if needed.
fn archive_original(source: &Path, target: &Path) -> io::Result<()> {
    if !source.exists() {
        return Ok(()); // already handled before a crash, or removed by the user
    }
    let target = free_target(target);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::rename(source, &target) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            std::fs::copy(source, &target)?;
            std::fs::File::open(&target)?.sync_all()?;
            std::fs::remove_file(source)?;
        }
        Err(e) => return Err(e),
    }
    crate::fsutil::sync_parent(&target)?;
    crate::fsutil::sync_parent(source)
}

fn remove_original(source: &Path) -> io::Result<()> {
    match std::fs::remove_file(source) {
        Ok(()) => crate::fsutil::sync_parent(source),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `target`, or `name (2).ext`, `name (3).ext` ... when taken.
fn free_target(target: &Path) -> PathBuf {
    if !target.exists() {
        return target.to_path_buf();
    }
    let stem = target
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let ext = target
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| target.with_file_name(format!("{stem} ({n}){ext}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| target.to_path_buf())
}

/// Removes empty folders under and including `dir`, deepest first; never follows links.
fn remove_empty_dirs(dir: &Path) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("arch/b/a.wav"));
        std::fs::write(&a, b"one").unwrap();
        archive_original(&a, &b).unwrap();
        std::fs::write(&a, b"two").unwrap();
        archive_original(&a, &b).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"one");
        assert_eq!(
            std::fs::read(dir.path().join("arch/b/a (2).wav")).unwrap(),
            b"two"
        );
        assert!(!a.exists());
        archive_original(&a, &b).unwrap();
    }

    #[test]
    fn only_empty_folders_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("batch");
        std::fs::create_dir_all(root.join("x/y")).unwrap();
        std::fs::create_dir_all(root.join("z")).unwrap();
        std::fs::write(root.join("z/failed.wav"), b"1").unwrap();
        remove_empty_dirs(&root);
        assert!(!root.join("x").exists());
        assert!(root.join("z/failed.wav").exists());
    }
}
