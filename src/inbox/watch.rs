//! The per-inbox task: scan, settle, report; rescan on notify hints and on a timer.

use super::fingerprint::content_hash;
use super::netfs::network_fs;
use super::scan::scan;
use super::scan::{Entry, Markers};
use super::settle::{Changes, Settler};
use crate::config::{Inbox, WatchMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// What an inbox task tells the scheduler.
#[derive(Debug)]
pub struct InboxReport {
    pub inbox: String,
    pub changes: Changes,
    /// The inbox's pause markers, when they changed (or on the first scan).
    pub markers: Option<Markers>,
}

/// Timing knobs from the config.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub settle: Duration,
    pub rescan: Duration,
    pub max_depth: usize,
}

/// Polling interval on filesystems without usable change events.
const POLL: Duration = Duration::from_secs(2);

struct Task<M> {
    inbox: Inbox,
    timing: Timing,
    tx: mpsc::Sender<M>,
    hint: Arc<Notify>,
    watcher: Option<RecommendedWatcher>,
    settler: Settler,
    logged: HashSet<PathBuf>,
    available: bool,
    markers: Option<Markers>,
}

/// Starts watching `inbox`; reports go to `tx` until `shutdown`.
pub fn spawn<M>(
    inbox: Inbox,
    timing: Timing,
    tx: mpsc::Sender<M>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()>
where
    M: From<InboxReport> + Send + 'static,
{
    let task = Task {
        settler: Settler::new(timing.settle),
        inbox,
        timing,
        tx,
        hint: Arc::new(Notify::new()),
        watcher: None,
        logged: HashSet::new(),
        available: true,
        markers: None,
    };
    tokio::spawn(task.run(shutdown))
}

impl<M: From<InboxReport> + Send + 'static> Task<M> {
    async fn run(mut self, shutdown: CancellationToken) {
        let polling = self.polls();
        tracing::info!(inbox = %self.inbox.name, path = %self.inbox.path.display(), polling, "watching inbox");
        loop {
            if !polling && self.watcher.is_none() && self.inbox.path.is_dir() {
                self.watcher = self.start_watcher();
            }
            if !self.scan_once().await {
                return;
            }
            let wait = self.next_wait(polling);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.hint.notified() => {
                    // Let a burst of events land before looking.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Whether this inbox is polled instead of watched.
    fn polls(&self) -> bool {
        match self.inbox.watch {
            WatchMode::Poll => true,
            WatchMode::Native => false,
            WatchMode::Auto => match network_fs(&self.inbox.path) {
                Some(fs) => {
                    tracing::info!(inbox = %self.inbox.name, fs, "network filesystem: polling instead of inotify");
                    true
                }
                None => false,
            },
        }
    }

    fn next_wait(&self, polling: bool) -> Duration {
        let idle = if polling || self.watcher.is_none() {
            self.timing.rescan.min(POLL)
        } else {
            self.timing.rescan
        };
        if self.settler.has_unsettled() {
            (self.timing.settle / 2).clamp(Duration::from_millis(50), idle)
        } else {
            idle
        }
    }

    fn start_watcher(&self) -> Option<RecommendedWatcher> {
        let hint = self.hint.clone();
        let name = self.inbox.name.clone();
        let handler = move |res: notify::Result<notify::Event>| {
            if let Err(e) = res {
                tracing::warn!(inbox = %name, cause = %e, "watcher error; rescanning");
            }
            hint.notify_one();
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(inbox = %self.inbox.name, cause = %e, "cannot watch; polling");
                return None;
            }
        };
        match watcher.watch(&self.inbox.path, RecursiveMode::Recursive) {
            Ok(()) => Some(watcher),
            Err(e) => {
                tracing::warn!(inbox = %self.inbox.name, cause = %e, "cannot watch; polling");
                None
            }
        }
    }

    /// One scan and its report; false when the scheduler has gone away.
    async fn scan_once(&mut self) -> bool {
        let (root, depth) = (self.inbox.path.clone(), self.timing.max_depth);
        let Ok(result) = tokio::task::spawn_blocking(move || scan(&root, depth)).await else {
            return true;
        };
        self.note_availability(&result.passed_over);
        for (path, why) in &result.passed_over {
            if self.logged.insert(path.clone()) {
                tracing::warn!(inbox = %self.inbox.name, path = %path.display(), reason = %why, "passed over");
            }
        }
        let markers = (result.complete && self.markers.as_ref() != Some(&result.markers))
            .then(|| result.markers.clone());
        if let Some(m) = &markers {
            self.markers = Some(m.clone());
        }
        let mut changes = self
            .settler
            .observe(result.entries, result.complete, Instant::now());
        if changes.is_empty() && markers.is_none() {
            return true;
        }
        changes.settled = self.fingerprint(changes.settled).await;
        let report = InboxReport {
            inbox: self.inbox.name.clone(),
            changes,
            markers,
        };
        self.tx.send(M::from(report)).await.is_ok()
    }

    /// Takes the content hash of settled files (off the async threads); a file that cannot
    /// be read now is reported again at the next settle.
    async fn fingerprint(&self, settled: Vec<Entry>) -> Vec<Entry> {
        let root = self.inbox.path.clone();
        let hashed = tokio::task::spawn_blocking(move || {
            settled
                .into_iter()
                .map(|mut e| {
                    e.hash = content_hash(&e.rel.under(&root)).unwrap_or(0);
                    e
                })
                .collect::<Vec<_>>()
        });
        hashed.await.unwrap_or_default()
    }

    fn note_availability(&mut self, passed: &[(PathBuf, String)]) {
        let root_ok = !passed.iter().any(|(p, _)| p == &self.inbox.path);
        if root_ok != self.available {
            self.available = root_ok;
            if root_ok {
                tracing::info!(inbox = %self.inbox.name, "inbox available again");
                self.logged.clear();
            } else {
                tracing::error!(inbox = %self.inbox.name, path = %self.inbox.path.display(), "inbox unavailable; its files are kept as they are");
                self.watcher = None;
            }
        }
    }
}
