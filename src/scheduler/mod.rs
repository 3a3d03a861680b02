//! The one actor that owns scheduling: items, batches, workers, and what gets committed when.
//!
//! Each step handles messages, commits every change in one redb transaction, and only then
//! acts on it (starts jobs, moves originals, writes status files).

mod control;
mod dispatch;
mod finish;
mod health;
mod ingest;
mod pauses;
mod publish;
mod recover;
mod state;

pub use ingest::loose_batch_name;
pub use state::State;

use crate::config::Config;
use crate::control::{GlobalMarker, Outcome, Request};
use crate::engine::{Engine, JobControl};
use crate::inbox::InboxReport;
use crate::job::{JobError, JobOutput};
use crate::model::{BatchId, ItemId, Millis};
use crate::outbox::{BatchSummary, Writer};
use crate::store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Everything that reaches the scheduler.
#[derive(Debug)]
pub enum Msg {
    Inbox(InboxReport),
    JobDone {
        id: ItemId,
        result: Result<JobOutput, JobError>,
    },
    OriginalDone {
        id: ItemId,
        result: Result<(), String>,
    },
    Control(Request),
    GlobalMarker(GlobalMarker),
    /// A reloaded configuration (restart-only keys already kept at their old values).
    Reconfigure(Arc<Config>),
}

impl From<InboxReport> for Msg {
    fn from(r: InboxReport) -> Self {
        Msg::Inbox(r)
    }
}

impl From<Request> for Msg {
    fn from(r: Request) -> Self {
        Msg::Control(r)
    }
}

impl From<GlobalMarker> for Msg {
    fn from(m: GlobalMarker) -> Self {
        Msg::GlobalMarker(m)
    }
}

/// Side effects that may only run after the step's changes are committed.
#[derive(Debug)]
enum Effect {
    Abort(ItemId),
    HandleOriginal(ItemId),
    RemoveEmptyFolder(BatchId),
    Reply(tokio::sync::oneshot::Sender<Outcome>, Outcome),
    DeleteFile(std::path::PathBuf),
    ForgetOutbox {
        dir: std::path::PathBuf,
        purge: bool,
    },
}

/// A job in flight.
struct Running {
    control: JobControl,
}

pub struct Scheduler {
    cfg: Arc<Config>,
    store: Store,
    state: State,
    engine: Arc<dyn Engine>,
    writer: Writer,
    tx: mpsc::Sender<Msg>,
    running: HashMap<ItemId, Running>,
    /// Running items whose file vanished: dropped when their job returns.
    vanished: HashSet<ItemId>,
    originals_in_flight: HashSet<ItemId>,
    effects: Vec<Effect>,
    published: HashMap<BatchId, Instant>,
    summaries: HashMap<BatchId, BatchSummary>,
    stop_deadline: Option<Instant>,
    pauses: pauses::Pauses,
    /// Command-file claims already applied (so a crash never applies one twice).
    claims: HashSet<String>,
    /// Workers allowed now (the config's value, or a `set concurrency` command's).
    concurrency: usize,
    /// Control lines for events.jsonl, not yet written.
    control_events: Vec<serde_json::Value>,
    /// Control answers waiting for the step's status files.
    replies: Vec<(tokio::sync::oneshot::Sender<Outcome>, Outcome)>,
    health: health::Health,
}

const TICK: Duration = Duration::from_millis(250);
/// A batch's status file is rewritten at most this often...
const MIN_PUBLISH_GAP: Duration = Duration::from_millis(250);
/// ...and at least this often while it has running items (live progress).
const RUNNING_PUBLISH_GAP: Duration = Duration::from_secs(1);
/// Messages handled per step before committing.
const MAX_BATCHED_MESSAGES: usize = 4096;

impl Scheduler {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: Arc<Config>,
        store: Store,
        state: State,
        control: &[(String, Vec<u8>)],
        engine: Arc<dyn Engine>,
        writer: Writer,
        tx: mpsc::Sender<Msg>,
    ) -> Self {
        let records = control.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        let claims = control
            .iter()
            .filter_map(|(k, _)| k.strip_prefix("claim:"))
            .map(String::from)
            .collect();
        Scheduler {
            pauses: pauses::Pauses::load(records),
            claims,
            concurrency: cfg.concurrency,
            control_events: Vec::new(),
            replies: Vec::new(),
            health: health::Health::default(),
            cfg,
            store,
            state,
            engine,
            writer,
            tx,
            running: HashMap::new(),
            vanished: HashSet::new(),
            originals_in_flight: HashSet::new(),
            effects: Vec::new(),
            published: HashMap::new(),
            summaries: HashMap::new(),
            stop_deadline: None,
        }
    }

    /// Runs until `shutdown` and the running jobs have finished or been aborted.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Msg>,
        shutdown: CancellationToken,
    ) -> Result<(), StoreError> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => self.handle(m),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
                _ = shutdown.cancelled(), if self.stop_deadline.is_none() => self.begin_stop(),
            }
            for _ in 0..MAX_BATCHED_MESSAGES {
                match rx.try_recv() {
                    Ok(m) => self.handle(m),
                    Err(_) => break,
                }
            }
            self.step()?;
            if self.stop_deadline.is_some() && self.running.is_empty() {
                break;
            }
        }
        self.finish_stop()
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Inbox(report) => self.on_inbox(report),
            Msg::JobDone { id, result } => self.on_job_done(id, result),
            Msg::OriginalDone { id, result } => self.on_original_done(id, result),
            Msg::Control(req) => self.on_control(req),
            Msg::GlobalMarker(m) => self.on_global_marker(m),
            Msg::Reconfigure(cfg) => self.on_reconfigure(cfg),
        }
    }

    fn on_global_marker(&mut self, m: GlobalMarker) {
        let note = m.present.then(|| pauses::Note {
            by: format!("marker {}", m.path.display()),
            at: crate::model::now_ms(),
        });
        if note.is_some() != self.pauses.global_marker.is_some() {
            tracing::info!(path = %m.path.display(), paused = m.present, "global pause marker");
            let ids: Vec<BatchId> = self.state.batches.keys().copied().collect();
            self.state.dirty.extend(ids);
        }
        self.pauses.global_marker = note;
    }

    fn on_reconfigure(&mut self, cfg: Arc<Config>) {
        self.concurrency = cfg.concurrency;
        self.cfg = cfg;
        let ids: Vec<BatchId> = self.state.batches.keys().copied().collect();
        self.state.dirty.extend(ids);
    }

    /// The pause holding `batch` back, as (who, when).
    fn pause_note(&self, batch: &crate::model::Batch) -> Option<(&str, Millis)> {
        self.pauses.of(batch).map(|n| (n.by.as_str(), n.at))
    }

    fn on_inbox(&mut self, report: InboxReport) {
        let Some(inbox) = self.cfg.inbox(&report.inbox).cloned() else {
            return;
        };
        let settle_ms = (self.cfg.settle_seconds * 1000.0) as Millis;
        if let Some(m) = &report.markers {
            if self
                .pauses
                .set_inbox_markers(&inbox.name, m.top, &m.folders, crate::model::now_ms())
            {
                tracing::info!(inbox = %inbox.name, top = m.top, folders = ?m.folders, "pause markers changed");
                let ids: Vec<BatchId> = self
                    .state
                    .batches
                    .values()
                    .filter(|b| b.inbox == inbox.name)
                    .map(|b| b.id)
                    .collect();
                self.state.dirty.extend(ids);
            }
        }
        let follow = ingest::apply(&mut self.state, &inbox, settle_ms, report);
        for id in follow.abort {
            self.vanished.insert(id);
            self.effects.push(Effect::Abort(id));
        }
    }

    fn on_tick(&mut self) {
        self.check_stop_deadline();
        self.heartbeat();
    }

    /// Commit, then act: effects, new jobs, status files.
    fn step(&mut self) -> Result<(), StoreError> {
        self.refresh_batches();
        self.commit()?;
        self.run_effects();
        if self.stop_deadline.is_none() {
            self.dispatch()?;
        }
        self.publish(false);
        self.send_replies();
        Ok(())
    }

    /// Answers control requests once their effect is visible in the status files, so a
    /// client that reads them right after the answer sees the change.
    fn send_replies(&mut self) {
        if self.replies.is_empty() {
            return;
        }
        self.publish(true);
        self.writer.flush();
        for (tx, outcome) in self.replies.drain(..) {
            let _ = tx.send(outcome);
        }
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let changes = self.state.take_pending();
        self.store.commit(&changes)
    }

    fn run_effects(&mut self) {
        for effect in std::mem::take(&mut self.effects) {
            match effect {
                Effect::Abort(id) => {
                    if let Some(r) = self.running.get(&id) {
                        r.control.cancel();
                    }
                }
                Effect::HandleOriginal(id) => self.handle_original(id),
                Effect::RemoveEmptyFolder(batch) => self.remove_empty_folder(batch),
                Effect::Reply(tx, outcome) => self.replies.push((tx, outcome)),
                Effect::DeleteFile(path) => {
                    if let Err(e) = std::fs::remove_file(&path) {
                        tracing::warn!(path = %path.display(), cause = %e, "cannot delete removed file");
                    }
                }
                Effect::ForgetOutbox { dir, purge } => self
                    .writer
                    .send(crate::outbox::Write::Forget { dir, purge }),
            }
        }
    }

    fn begin_stop(&mut self) {
        let grace = Duration::from_secs_f64(self.cfg.shutdown_grace_seconds);
        tracing::info!(
            running = self.running.len(),
            grace_seconds = grace.as_secs_f64(),
            "stopping: no new items start"
        );
        self.stop_deadline = Some(Instant::now() + grace);
        self.check_stop_deadline();
    }

    fn check_stop_deadline(&mut self) {
        if self.stop_deadline.is_some_and(|d| Instant::now() >= d) {
            for (id, r) in &self.running {
                if !r.control.is_cancelled() {
                    tracing::info!(
                        item = id,
                        "grace period over: aborting, the item stays queued"
                    );
                    r.control.cancel();
                }
            }
        }
    }

    fn finish_stop(mut self) -> Result<(), StoreError> {
        self.refresh_batches();
        self.commit()?;
        self.publish(true);
        self.writer.flush();
        tracing::info!("scheduler stopped");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
