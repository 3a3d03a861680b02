//! Unix signals -> one control event type, delivered on a channel.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;
use tokio::sync::mpsc;

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    /// SIGTERM / SIGINT: stop gracefully (a second one: stop at once).
    Terminate,
    /// SIGHUP: reload the config file.
    Reload,
    /// SIGUSR1: pause everything.
    PauseAll,
    /// SIGUSR2: resume everything.
    ResumeAll,
}

fn event_of(signal: i32) -> Option<SignalEvent> {
    match signal {
        SIGTERM | SIGINT => Some(SignalEvent::Terminate),
        SIGHUP => Some(SignalEvent::Reload),
        SIGUSR1 => Some(SignalEvent::PauseAll),
        SIGUSR2 => Some(SignalEvent::ResumeAll),
        _ => None,
    }
}

/// Installs the handlers and forwards each signal from a small thread.
pub fn spawn() -> std::io::Result<mpsc::UnboundedReceiver<SignalEvent>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2])?;
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if let Some(event) = event_of(signal) {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        })?;
    Ok(rx)
}
