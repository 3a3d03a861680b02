//! systemd notifications (READY, STOPPING, STATUS); silent without NOTIFY_SOCKET.

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!(cause = %e, "sd_notify failed");
    }
}

/// Start-up is complete: the store is recovered and every inbox is watched.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

pub fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

/// A reload started (systemd wants the monotonic time with it).
pub fn reloading() {
    let usec = monotonic_usec();
    send(&[NotifyState::Reloading, NotifyState::MonotonicUsec(usec)]);
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
