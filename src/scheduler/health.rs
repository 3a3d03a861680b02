//! Liveness for systemd: WATCHDOG=1 from the scheduler loop itself, and the STATUS= line.

use super::Scheduler;
use crate::model::ItemState;
use crate::sd;
use std::time::{Duration, Instant};

const WATCHDOG_EVERY: Duration = Duration::from_secs(1);

/// Test-only hook: while the file named by this variable exists, the scheduler loop blocks,
/// as a wedged scheduler would (so the watchdog test can see the pings stop).
const WEDGE_ENV: &str = "VOICEFLOWD_TEST_WEDGE_FILE";

#[derive(Debug)]
pub struct Health {
    last_ping: Option<Instant>,
    last_line: String,
    wedge: Option<std::path::PathBuf>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            last_ping: None,
            last_line: String::new(),
            wedge: std::env::var_os(WEDGE_ENV).map(Into::into),
        }
    }
}

impl Scheduler {
    /// Called from every tick of the loop: a loop that stops ticking stops the pings.
    pub(super) fn heartbeat(&mut self) {
        if let Some(path) = &self.health.wedge {
            while path.exists() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if self
            .health
            .last_ping
            .is_some_and(|t| t.elapsed() < WATCHDOG_EVERY)
        {
            return;
        }
        self.health.last_ping = Some(Instant::now());
        sd::watchdog();
        let line = self.status_line();
        if line != self.health.last_line {
            sd::status(&line);
            self.health.last_line = line;
        }
    }

    fn status_line(&self) -> String {
        let queued = self
            .state
            .items
            .values()
            .filter(|i| i.state == ItemState::Queued)
            .count();
        let open: Vec<_> = self
            .summaries
            .values()
            .filter(|s| !s.state.is_finished())
            .collect();
        let eta: f64 = open.iter().filter_map(|s| s.eta_seconds).sum();
        sd::status_line(
            self.running.len(),
            queued,
            open.len(),
            (eta > 0.0).then_some(eta),
        )
    }
}
