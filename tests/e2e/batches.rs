//! The daemon end to end with the real engine: folder batches, loose files, slow copies,
//! reopening, corrupt files, concurrency, restarts, the single-instance lock.

use crate::daemon::*;
use crate::harness::*;
use std::time::{Duration, Instant};

const BATCH_TIMEOUT: Duration = Duration::from_secs(240);

#[test]
fn folder_of_five_files_completes_with_transcripts_and_status() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup::default());
    let files = [
        ("jfk.wav", corpus("jfk.wav")),
        ("talks/jfk.mp3", corpus("jfk.mp3")),
        ("ldc 8k.wav", corpus("ldc93s1-8k-mono.wav")),
        ("stereo.wav", corpus("ldc93s1-44k-stereo.wav")),
        ("stars.wav", corpus("new-home-in-the-stars-16k.wav")),
    ];
    let refs = references();
    let dropped = Instant::now();
    d.drop_folder(
        "meeting",
        &files
            .iter()
            .map(|(n, p)| (*n, p.as_path()))
            .collect::<Vec<_>>(),
    );
    let s = d.wait_finished("meeting", BATCH_TIMEOUT);
    eprintln!(
        "batch of 5 finished {:.1} s after the drop",
        dropped.elapsed().as_secs_f64()
    );
    assert_eq!(s["state"], "completed", "{s}");
    assert_eq!(s["counts"]["done"], 5);
    assert_eq!(s["progress"], 1.0);
    assert_eq!(s["inbox"], "main");
    assert!(s["audio_seconds"]["done"].as_f64().unwrap() > 30.0, "{s}");
    assert!(
        s["throughput"]["audio_seconds_per_second"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(s["finished_at"].is_string() && s["started_at"].is_string());
    for (stem, source) in [
        ("jfk", "jfk.wav"),
        ("talks/jfk", "jfk.mp3"),
        ("ldc 8k", "ldc93s1-8k-mono.wav"),
        ("stereo", "ldc93s1-44k-stereo.wav"),
        ("stars", "new-home-in-the-stars-16k.wav"),
    ] {
        let text = transcript(&d, "meeting", stem);
        assert!(
            wer(&refs[source], &text) <= wer_limit(source),
            "{stem}: {text:?}"
        );
        for ext in ["srt", "vtt", "json"] {
            assert!(
                d.outbox()
                    .join("meeting")
                    .join(format!("{stem}.{ext}"))
                    .is_file(),
                "{stem}.{ext}"
            );
        }
    }
    let jfk = item(&s, "meeting/talks/jfk.mp3");
    assert_eq!(jfk["state"], "done");
    assert_eq!(jfk["attempts"], 1);
    assert_eq!(jfk["outputs"][0], "talks/jfk.txt");
    assert!(d.outbox().join("meeting/DONE").is_file());
    // Originals archived, the emptied batch folder removed from the inbox.
    assert!(
        d.archive().join("meeting/talks/jfk.mp3").is_file(),
        "{}",
        d.context()
    );
    wait_for(
        "empty batch folder removed",
        Duration::from_secs(10),
        || (!d.inbox().join("meeting").exists()).then_some(()),
        || d.context(),
    );
    let list: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.outbox().join("batches.json")).unwrap())
            .unwrap();
    assert_eq!(list[0]["name"], "meeting");
    assert_eq!(list[0]["state"], "completed");
    let done_events = d.events().iter().filter(|e| e["to"] == "done").count();
    assert_eq!(done_events, 5);
}

#[test]
fn loose_files_dropped_together_form_one_batch() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup {
        settle: 1.0,
        ..Setup::default()
    });
    std::fs::copy(corpus("ldc93s1-16k-mono.wav"), d.inbox().join("a.wav")).unwrap();
    std::fs::copy(
        corpus("new-home-in-the-stars-16k.wav"),
        d.inbox().join("b.wav"),
    )
    .unwrap();
    let batch = wait_for(
        "a loose batch",
        Duration::from_secs(30),
        || loose_batch_name(&d),
        || d.context(),
    );
    assert!(
        batch.len() == 19 && batch.as_bytes()[10] == b'T',
        "batch named by time: {batch}"
    );
    let s = d.wait_finished(&batch, BATCH_TIMEOUT);
    assert_eq!(s["counts"]["done"], 2, "{s}");
    assert_eq!(
        std::fs::read_dir(d.outbox())
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .count(),
        1
    );
    assert!(
        wer(
            &references()["new-home-in-the-stars-16k.wav"],
            &transcript(&d, &batch, "b")
        ) <= 0.25
    );
    assert!(d.archive().join(&batch).join("a.wav").is_file());
}

fn loose_batch_name(d: &Daemon) -> Option<String> {
    std::fs::read_dir(d.outbox())
        .ok()?
        .flatten()
        .find(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
}

#[test]
fn slowly_copied_file_is_transcribed_once_and_whole() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup {
        settle: 2.0,
        ..Setup::default()
    });
    std::fs::create_dir(d.inbox().join("slow")).unwrap();
    let bytes = std::fs::read(corpus("jfk.wav")).unwrap();
    let target = d.inbox().join("slow/jfk.wav");
    let mut f = std::fs::File::create(&target).unwrap();
    let chunk = bytes.len() / 20 + 1;
    for part in bytes.chunks(chunk) {
        use std::io::Write;
        f.write_all(part).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(500)); // the copy's own pace, not a sync wait
        let s = d.status("slow");
        let queued = s
            .as_ref()
            .is_some_and(|s| s["counts"]["waiting"] == 0 && s["items_total"] == 1);
        assert!(!queued, "taken before the copy finished: {s:?}");
    }
    drop(f);
    let s = d.wait_finished("slow", BATCH_TIMEOUT);
    assert_eq!(s["counts"]["done"], 1, "{s}");
    assert_eq!(item(&s, "slow/jfk.wav")["attempts"], 1);
    let text = transcript(&d, "slow", "jfk");
    assert!(wer(&references()["jfk.wav"], &text) <= 0.05, "{text}");
    assert_eq!(
        d.events().iter().filter(|e| e["to"] == "running").count(),
        1
    );
}

#[test]
fn file_added_to_a_finished_batch_reopens_it() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup {
        originals: "keep",
        ..Setup::default()
    });
    d.drop_folder("calls", &[("one.wav", &corpus("ldc93s1-16k-mono.wav"))]);
    let first = d.wait_finished("calls", BATCH_TIMEOUT);
    assert_eq!(first["counts"]["done"], 1);
    std::fs::copy(
        corpus("new-home-in-the-stars-16k.wav"),
        d.inbox().join("calls/two.wav"),
    )
    .unwrap();
    d.wait_status("calls", "reopened", Duration::from_secs(30), |s| {
        s["items_total"] == 2
    });
    let s = d.wait_finished("calls", BATCH_TIMEOUT);
    assert_eq!(s["counts"]["done"], 2, "{s}");
    assert!(d.outbox().join("calls/two.txt").is_file());
    // Kept originals are not transcribed twice.
    assert_eq!(d.events().iter().filter(|e| e["to"] == "done").count(), 2);
    assert!(d.inbox().join("calls/one.wav").is_file());
}

#[test]
fn corrupt_file_fails_with_a_reason_and_the_batch_completes() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup::default());
    let staging = d.root().join("garbage.wav");
    let noise: Vec<u8> = (0..40_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&staging, noise).unwrap();
    let notes = d.root().join("notes.txt");
    std::fs::write(&notes, "minutes").unwrap();
    d.drop_folder(
        "mixed",
        &[
            ("good.wav", &corpus("ldc93s1-16k-mono.wav")),
            ("bad.wav", &staging),
            ("notes.txt", &notes),
        ],
    );
    let s = d.wait_finished("mixed", BATCH_TIMEOUT);
    assert_eq!(s["state"], "completed_with_errors", "{s}");
    let bad = item(&s, "mixed/bad.wav");
    assert_eq!(bad["state"], "failed");
    let reason = bad["error"].as_str().unwrap();
    assert!(!reason.is_empty() && !reason.contains("panick"), "{reason}");
    assert_eq!(item(&s, "mixed/notes.txt")["state"], "skipped");
    assert!(item(&s, "mixed/notes.txt")["error"]
        .as_str()
        .unwrap()
        .contains("not an audio"));
    assert_eq!(item(&s, "mixed/good.wav")["state"], "done");
    assert!(d.outbox().join("mixed/FAILED").is_file());
    // What is left in the inbox is what needs attention.
    assert!(d.inbox().join("mixed/bad.wav").is_file());
    assert!(!d.inbox().join("mixed/good.wav").exists());
}

#[test]
fn concurrency_two_never_runs_more_than_two() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup {
        concurrency: 2,
        threads: 1,
        ..Setup::default()
    });
    let names = ["a", "b", "c", "d", "e", "f"];
    let files: Vec<(String, std::path::PathBuf)> = names
        .iter()
        .map(|n| (format!("{n}.wav"), corpus("jfk.wav")))
        .collect();
    d.drop_folder(
        "pair",
        &files
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_path()))
            .collect::<Vec<_>>(),
    );
    let mut max_running = 0;
    let deadline = Instant::now() + BATCH_TIMEOUT;
    loop {
        if let Some(s) = d.status("pair") {
            let running = s["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["state"] == "running")
                .count();
            max_running = max_running.max(running);
            assert!(running <= 2, "{running} running: {s}");
            if s["state"] == "completed" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "batch did not finish\n{}",
            d.context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(max_running, 2, "never saw two running");
}

#[test]
fn restart_mid_batch_finishes_every_item_exactly_once() {
    let _lock = whisper_lock();
    let mut d = Daemon::start(Setup::default());
    let files: Vec<(String, std::path::PathBuf)> = (0..5)
        .map(|i| (format!("{i}.wav"), corpus("jfk.wav")))
        .collect();
    d.drop_folder(
        "big",
        &files
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_path()))
            .collect::<Vec<_>>(),
    );
    d.wait_status("big", "one done", BATCH_TIMEOUT, |s| {
        s["counts"]["done"].as_u64() >= Some(1)
    });
    d.kill9();
    d.launch();
    let s = d.wait_finished("big", BATCH_TIMEOUT);
    assert_eq!(s["counts"]["done"], 5, "{s}");
    assert!(d.stop().success());
    let events = d.events();
    for i in 0..5 {
        let path = format!("big/{i}.wav");
        let done = events
            .iter()
            .filter(|e| e["path"] == path.as_str() && e["to"] == "done")
            .count();
        assert_eq!(done, 1, "{path} done {done} times\n{}", d.context());
        assert!(d.archive().join(&path).is_file());
        assert!(
            wer(
                &references()["jfk.wav"],
                &transcript(&d, "big", &i.to_string())
            ) <= 0.05
        );
    }
    assert!(
        !listing(d.root()).contains("vfd-tmp"),
        "temp files left:\n{}",
        listing(d.root())
    );
}

#[test]
fn second_daemon_on_the_same_state_dir_is_refused() {
    let d = Daemon::start(Setup {
        engine: "fake",
        ..Setup::default()
    });
    let mut cmd = voiceflowd();
    cmd.args(["run", "--config"]).arg(d.config_path());
    let out = run_with_timeout(cmd, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another voiceflowd is running"), "{err}");
}

#[test]
fn bad_config_exits_78_naming_key_and_line() {
    let d = Daemon::new(Setup {
        engine: "fake",
        ..Setup::default()
    });
    let mut text = std::fs::read_to_string(d.config_path()).unwrap();
    text = text.replace("concurrency = 1", "concurrency = 12");
    std::fs::write(d.config_path(), &text).unwrap();
    for sub in ["run", "check-config"] {
        let mut cmd = voiceflowd();
        cmd.args([sub, "--config"]).arg(d.config_path());
        let out = run_with_timeout(cmd, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(78), "{sub}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(":4: concurrency: 12 is out of range 1..=10"),
            "{sub}: {err}"
        );
    }
    std::fs::write(
        d.config_path(),
        text.replace("concurrency = 12", "concurrency = 1"),
    )
    .unwrap();
    let mut cmd = voiceflowd();
    cmd.args(["check-config", "--config"]).arg(d.config_path());
    let out = run_with_timeout(cmd, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("[[inbox]]\nname = \"main\""));
}

#[test]
fn sigterm_with_no_grace_requeues_the_running_item_without_losing_an_attempt() {
    let _lock = whisper_lock();
    let mut d = Daemon::start(Setup {
        grace: 0.0,
        threads: 1,
        ..Setup::default()
    });
    let long = long_file(&d);
    d.drop_folder("long", &[("long.wav", &long)]);
    d.wait_status("long", "running", BATCH_TIMEOUT, |s| {
        s["counts"]["running"] == 1
    });
    let asked = Instant::now();
    let status = d.stop();
    assert!(status.success(), "{status}\n{}", d.context());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        asked.elapsed()
    );
    let s = d.status("long").unwrap();
    assert_eq!(item(&s, "long/long.wav")["state"], "queued", "{s}");
    assert_eq!(item(&s, "long/long.wav")["attempts"], 0, "{s}");
    d.launch();
    let s = d.wait_finished("long", BATCH_TIMEOUT);
    assert_eq!(item(&s, "long/long.wav")["attempts"], 1, "{s}");
    assert_eq!(d.events().iter().filter(|e| e["to"] == "done").count(), 1);
    let text = transcript(&d, "long", "long");
    assert!(normalise(&text).len() >= 6 * 20, "{text}");
}

#[test]
fn sigterm_lets_the_running_item_finish_within_the_grace_period() {
    let _lock = whisper_lock();
    let mut d = Daemon::start(Setup {
        grace: 60.0,
        ..Setup::default()
    });
    d.drop_folder(
        "short",
        &[("a.wav", &corpus("jfk.wav")), ("b.wav", &corpus("jfk.wav"))],
    );
    d.wait_status("short", "running", BATCH_TIMEOUT, |s| {
        s["counts"]["running"] == 1
    });
    let status = d.stop();
    assert!(status.success(), "{status}");
    let s = d.status("short").unwrap();
    assert_eq!(
        s["counts"]["done"], 1,
        "the running item finishes, the next one does not start: {s}"
    );
    assert_eq!(s["counts"]["queued"], 1, "{s}");
}

#[test]
fn file_replaced_while_transcribing_is_redone_from_the_new_content() {
    let d = Daemon::start(Setup {
        engine: "fake:2",
        threads: 1,
        ..Setup::default()
    });
    d.drop_folder("swap", &[("talk.wav", &corpus("jfk.wav"))]);
    d.wait_status("swap", "running", BATCH_TIMEOUT, |s| {
        s["counts"]["running"] == 1
    });
    // Replaced in place while the (5.5 s) job runs.
    std::fs::copy(
        corpus("ldc93s1-16k-mono.wav"),
        d.inbox().join("swap/talk.wav"),
    )
    .unwrap();
    let s = d.wait_finished("swap", BATCH_TIMEOUT);
    let item = item(&s, "swap/talk.wav");
    assert_eq!(item["state"], "done", "{s}");
    assert_eq!(item["attempts"], 2, "{s}");
    let text = transcript(&d, "swap", "talk");
    assert_eq!(
        text.trim(),
        "fake transcript of 2.92 seconds",
        "outputs must come from the new content"
    );
    let changed = d.events().iter().any(|e| {
        e["error"]
            .as_str()
            .is_some_and(|m| m.contains("changed while"))
    });
    assert!(changed, "{}", d.context());
}
