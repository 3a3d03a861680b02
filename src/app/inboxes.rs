//! The running inbox tasks, started, restarted and stopped to match the configuration.

use crate::config::{Config, Inbox};
use crate::inbox::{self, Timing};
use crate::scheduler::Msg;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Running {
    inbox: Inbox,
    timing: Timing,
    stop: CancellationToken,
}

#[derive(Default)]
pub struct Inboxes {
    running: HashMap<String, Running>,
}

fn timing(cfg: &Config) -> Timing {
    Timing {
        settle: Duration::from_secs_f64(cfg.settle_seconds),
        rescan: Duration::from_secs_f64(cfg.rescan_seconds),
        max_depth: cfg.max_depth,
    }
}

impl Inboxes {
    /// Starts new inboxes, restarts changed ones, stops removed ones.
    pub fn apply(&mut self, cfg: &Config, tx: &mpsc::Sender<Msg>, shutdown: &CancellationToken) {
        let timing = timing(cfg);
        self.running.retain(|name, r| {
            let keep = cfg.inbox(name).is_some();
            if !keep {
                tracing::info!(inbox = %name, "inbox removed from the config: no longer watched");
                r.stop.cancel();
            }
            keep
        });
        for inbox in &cfg.inboxes {
            let same = self
                .running
                .get(&inbox.name)
                .is_some_and(|r| &r.inbox == inbox && same_timing(&r.timing, &timing));
            if same {
                continue;
            }
            if let Some(old) = self.running.remove(&inbox.name) {
                old.stop.cancel();
            }
            let stop = shutdown.child_token();
            inbox::spawn(inbox.clone(), timing, tx.clone(), stop.clone());
            self.running.insert(
                inbox.name.clone(),
                Running {
                    inbox: inbox.clone(),
                    timing,
                    stop,
                },
            );
        }
    }
}

fn same_timing(a: &Timing, b: &Timing) -> bool {
    a.settle == b.settle && a.rescan == b.rescan && a.max_depth == b.max_depth
}
