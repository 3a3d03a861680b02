//! Running as a systemd service: the sd_notify sequence and the scheduler's watchdog.

use crate::daemon::*;
use std::time::{Duration, Instant};

#[test]
fn notify_sequence_across_start_reload_and_stop() {
    let mut d = Daemon::new(Setup {
        engine: "fake:50",
        ..Setup::default()
    });
    d.launch();
    let ready = d
        .notes
        .lock()
        .unwrap()
        .iter()
        .find(|n| n.contains("READY=1"))
        .unwrap()
        .clone();
    assert!(ready.contains("STATUS="), "{ready}");
    let status = d.wait_notify("STATUS=0 running", Duration::from_secs(10));
    assert!(
        status.contains("queued") && status.contains("batches"),
        "{status}"
    );
    d.wait_notify("WATCHDOG=1", Duration::from_secs(10));
    d.signal(libc::SIGHUP);
    let reloading = d.wait_notify("RELOADING=1", Duration::from_secs(10));
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    d.wait_notify("READY=1", Duration::from_secs(10));
    d.signal(libc::SIGTERM);
    d.wait_notify("STOPPING=1", Duration::from_secs(10));
    let notes = d.notes.lock().unwrap().clone();
    let keys = ["READY=1", "RELOADING=1", "STOPPING=1"];
    let order: Vec<&str> = notes
        .iter()
        .filter_map(|n| keys.into_iter().find(|k| n.contains(k)))
        .collect();
    assert_eq!(
        order,
        ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"],
        "{notes:?}"
    );
}

#[test]
fn watchdog_stops_when_the_scheduler_is_blocked() {
    let mut d = Daemon::new(Setup {
        engine: "fake:50",
        ..Setup::default()
    });
    let wedge = d.root().join("wedge");
    d.env.push((
        "VOICEFLOWD_TEST_WEDGE_FILE".into(),
        wedge.display().to_string(),
    ));
    d.launch();
    d.wait_notify("WATCHDOG=1", Duration::from_secs(10));
    d.wait_notify("WATCHDOG=1", Duration::from_secs(10));
    std::fs::write(&wedge, b"").unwrap();
    // Let a ping already on its way arrive, then expect silence.
    std::thread::sleep(Duration::from_millis(1500));
    let before = d.notes.lock().unwrap().len();
    let quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(4) {
        let late: Vec<String> = d.notes.lock().unwrap()[before..].to_vec();
        let pinged = late.iter().any(|n| n.contains("WATCHDOG=1"));
        assert!(
            !pinged,
            "watchdog pinged {:?} after the scheduler blocked: {late:?}",
            quiet_since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    d.skip_notes();
    std::fs::remove_file(&wedge).unwrap();
    d.wait_notify("WATCHDOG=1", Duration::from_secs(10));
}
