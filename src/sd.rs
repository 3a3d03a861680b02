//! systemd notifications (READY, RELOADING, STOPPING, STATUS, WATCHDOG); silent without
//! NOTIFY_SOCKET. Sent from a thread of their own: a notify socket nobody reads (its queue
//! full) must never block the scheduler; messages that cannot be queued are dropped.

use sd_notify::NotifyState;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::OnceLock;

/// One notification, owned so it can cross to the sender thread.
#[derive(Debug)]
enum Note {
    Ready(String),
    Reloading(i128),
    Stopping,
    Status(String),
    Watchdog,
}

fn sender() -> Option<&'static SyncSender<Note>> {
    static TX: OnceLock<Option<SyncSender<Note>>> = OnceLock::new();
    TX.get_or_init(|| {
        std::env::var_os("NOTIFY_SOCKET")?;
        let (tx, rx) = sync_channel::<Note>(64);
        let spawned = std::thread::Builder::new()
            .name("sd-notify".into())
            .spawn(move || rx.into_iter().for_each(deliver));
        spawned.ok().map(|_| tx)
    })
    .as_ref()
}

fn deliver(note: Note) {
    let result = match &note {
        Note::Ready(s) => sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(s)]),
        Note::Reloading(usec) => sd_notify::notify(
            false,
            &[NotifyState::Reloading, NotifyState::MonotonicUsec(*usec)],
        ),
        Note::Stopping => sd_notify::notify(
            false,
            &[NotifyState::Stopping, NotifyState::Status("stopping")],
        ),
        Note::Status(s) => sd_notify::notify(false, &[NotifyState::Status(s)]),
        Note::Watchdog => sd_notify::notify(false, &[NotifyState::Watchdog]),
    };
    if let Err(e) = result {
        tracing::debug!(cause = %e, ?note, "sd_notify failed");
    }
}

fn send(note: Note) {
    if let Some(tx) = sender() {
        let _ = tx.try_send(note);
    }
}

/// Start-up is complete: the store is recovered and every inbox is watched.
pub fn ready(status: &str) {
    send(Note::Ready(status.to_string()));
}

pub fn stopping() {
    send(Note::Stopping);
}

pub fn status(line: &str) {
    send(Note::Status(line.to_string()));
}

/// A reload started (systemd wants the monotonic time with it).
pub fn reloading() {
    send(Note::Reloading(monotonic_usec()));
}

/// Tells systemd's watchdog the scheduler loop is alive.
pub fn watchdog() {
    send(Note::Watchdog);
}

fn monotonic_usec() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000 + i128::from(ts.tv_nsec) / 1000
}

/// The one-line summary for `systemctl status`: `2 running, 14 queued, 3 batches, ETA 4m`.
pub fn status_line(
    running: usize,
    queued: usize,
    batches: usize,
    eta_seconds: Option<f64>,
) -> String {
    let eta = match eta_seconds {
        Some(s) if s >= 3600.0 => format!(
            ", ETA {}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        ),
        Some(s) if s >= 60.0 => format!(", ETA {}m", (s / 60.0).round() as u64),
        Some(s) if s > 0.0 => format!(", ETA {}s", s.round() as u64),
        _ => String::new(),
    };
    format!("{running} running, {queued} queued, {batches} batches{eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_read_well() {
        assert_eq!(
            status_line(2, 14, 3, Some(240.0)),
            "2 running, 14 queued, 3 batches, ETA 4m"
        );
        assert_eq!(status_line(0, 0, 0, None), "0 running, 0 queued, 0 batches");
        assert_eq!(
            status_line(1, 0, 1, Some(3900.0)),
            "1 running, 0 queued, 1 batches, ETA 1h05m"
        );
    }
}
