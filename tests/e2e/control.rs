//! Control end to end: every operation through a command file, the CLI, and (where it
//! applies) a PAUSE marker or a signal; SIGHUP reloads; garbage commands.

use crate::daemon::*;
use crate::harness::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(120);

/// A daemon with the fake engine at `speed` x realtime (jfk.wav: 11 s of audio).
fn fake(speed: &str, concurrency: usize) -> Daemon {
    let engine: &'static str = Box::leak(format!("fake:{speed}").into_boxed_str());
    Daemon::start(Setup {
        engine,
        concurrency,
        threads: 1,
        ..Setup::default()
    })
}

fn jfk_files(n: usize) -> Vec<(String, PathBuf)> {
    (0..n)
        .map(|i| (format!("{i}.wav"), corpus("jfk.wav")))
        .collect()
}

fn drop_jfk(d: &Daemon, batch: &str, n: usize) {
    let files = jfk_files(n);
    d.drop_folder(
        batch,
        &files
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_path()))
            .collect::<Vec<_>>(),
    );
}

fn running(s: &serde_json::Value) -> u64 {
    s["counts"]["running"].as_u64().unwrap_or(0)
}

#[test]
fn pause_and_resume_a_batch_by_marker_command_file_and_cli() {
    let d = fake("20", 1);
    // A batch dropped with a PAUSE marker inside waits.
    let staged = d.root().join("staging/held");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::write(staged.join("PAUSE"), b"").unwrap();
    std::fs::copy(corpus("jfk.wav"), staged.join("a.wav")).unwrap();
    std::fs::rename(&staged, d.inbox().join("held")).unwrap();
    let s = d.wait_status("held", "paused by marker", T, |s| s["state"] == "paused");
    assert!(
        s["paused"]["by"].as_str().unwrap().contains("held/PAUSE"),
        "{s}"
    );
    std::fs::remove_file(d.inbox().join("held/PAUSE")).unwrap();
    d.wait_finished("held", T);

    // Command file and CLI on a second batch.
    drop_jfk(&d, "later", 3);
    let r = d.command_file("p1", "pause batch=later");
    assert_eq!(r["ok"], true, "{r}");
    let s = d.wait_status("later", "paused", T, |s| {
        s["state"] == "paused" && running(s) == 0
    });
    assert_eq!(s["paused"]["by"], "command file p1.cmd");
    let events = d.events();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "control" && e["by"] == "command file p1.cmd"),
        "{events:?}"
    );
    let resumed = ok_stdout(&d, &d.cli(&["resume", "later"]));
    assert!(resumed.contains("resumed batch \"later\""), "{resumed}");
    let out = ok_stdout(&d, &d.cli(&["pause", "later"]));
    assert!(out.contains("paused batch \"later\""), "{out}");
    d.wait_status("later", "paused by cli", T, |s| {
        s["state"] == "paused" || s["state"] == "completed"
    });
    ok_stdout(&d, &d.cli(&["resume", "later"]));
    let s = d.wait_finished("later", T);
    assert_eq!(s["counts"]["done"], 3);
}

#[test]
fn pause_inbox_and_all_by_marker_signal_command_and_cli() {
    let mut d = fake("20", 1);
    // Inbox marker.
    std::fs::write(d.inbox().join("PAUSE"), b"").unwrap();
    drop_jfk(&d, "b1", 1);
    d.wait_status("b1", "inbox paused", T, |s| s["state"] == "paused");
    std::fs::remove_file(d.inbox().join("PAUSE")).unwrap();
    d.wait_finished("b1", T);
    // Global marker in the control folder.
    std::fs::write(d.control_dir().join("PAUSE"), b"").unwrap();
    drop_jfk(&d, "b2", 1);
    let s = d.wait_status("b2", "all paused", T, |s| s["state"] == "paused");
    assert!(
        s["paused"]["by"]
            .as_str()
            .unwrap()
            .contains("control/PAUSE"),
        "{s}"
    );
    std::fs::remove_file(d.control_dir().join("PAUSE")).unwrap();
    d.wait_finished("b2", T);
    // SIGUSR1 / SIGUSR2.
    d.signal(libc::SIGUSR1);
    wait_for(
        "signal pause",
        T,
        || {
            d.events()
                .iter()
                .any(|e| e["by"] == "signal SIGUSR1")
                .then_some(())
        },
        || d.context(),
    );
    drop_jfk(&d, "b3", 1);
    let s = d.wait_status("b3", "paused by signal", T, |s| s["state"] == "paused");
    assert_eq!(s["paused"]["by"], "signal SIGUSR1");
    d.signal(libc::SIGUSR2);
    d.wait_finished("b3", T);
    // CLI --inbox and --all, and a command file with `pause inbox=`.
    ok_stdout(&d, &d.cli(&["pause", "--inbox", "main"]));
    drop_jfk(&d, "b4", 1);
    d.wait_status("b4", "inbox paused by cli", T, |s| s["state"] == "paused");
    ok_stdout(&d, &d.cli(&["resume", "--inbox", "main"]));
    d.wait_finished("b4", T);
    assert_eq!(d.command_file("pa", "pause all")["ok"], true);
    drop_jfk(&d, "b5", 1);
    d.wait_status("b5", "all paused by command", T, |s| s["state"] == "paused");
    ok_stdout(&d, &d.cli(&["resume", "--all"]));
    d.wait_finished("b5", T);
    assert!(d.is_running());
}

#[test]
fn pause_now_aborts_and_requeues_without_losing_an_attempt() {
    let d = fake("2", 1);
    drop_jfk(&d, "slow", 2);
    d.wait_status("slow", "running", T, |s| running(s) == 1);
    let out = ok_stdout(&d, &d.cli(&["pause", "slow", "--now"]));
    assert!(out.contains("1 running items aborted"), "{out}");
    let s = d.wait_status("slow", "requeued", T, |s| {
        running(s) == 0 && s["state"] == "paused"
    });
    for i in s["items"].as_array().unwrap() {
        assert_eq!(i["attempts"], 0, "{s}");
        assert_eq!(i["state"], "queued", "{s}");
    }
    ok_stdout(&d, &d.cli(&["resume", "slow"]));
    let s = d.wait_finished("slow", T);
    assert_eq!(s["counts"]["done"], 2);
    assert!(
        s["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["attempts"] == 1),
        "{s}"
    );
}

#[test]
fn cancel_retry_by_command_file_and_cli() {
    let d = fake("2", 1);
    drop_jfk(&d, "c1", 3);
    d.wait_status("c1", "running", T, |s| running(s) == 1);
    let asked = Instant::now();
    let r = d.command_file("cancel-c1", "cancel batch=c1");
    assert_eq!(r["ok"], true, "{r}");
    let s = d.wait_status("c1", "cancelled", Duration::from_secs(5), |s| {
        s["state"] == "cancelled"
    });
    // The real-engine test holds the 2 s bound; here the fake engine shares the CPU with
    // other tests, so only a gross delay fails.
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "cancel took {:?}",
        asked.elapsed()
    );
    assert_eq!(s["counts"]["cancelled"], 3, "{s}");
    assert!(s["cancelled"]["by"]
        .as_str()
        .unwrap()
        .contains("cancel-c1.cmd"));
    assert!(d.outbox().join("c1/DONE").exists() || !d.outbox().join("c1/FAILED").exists());
    // Retry by CLI brings them back; they complete.
    let out = ok_stdout(&d, &d.cli(&["retry", "c1"]));
    assert!(out.contains("3 items"), "{out}");
    let s = d.wait_finished("c1", T);
    assert_eq!(s["state"], "completed", "{s}");
    // Cancel by CLI, retry one item by command file.
    drop_jfk(&d, "c2", 2);
    d.wait_status("c2", "running", T, |s| running(s) == 1);
    ok_stdout(&d, &d.cli(&["cancel", "c2"]));
    d.wait_status("c2", "cancelled", T, |s| s["state"] == "cancelled");
    let r = d.command_file("retry-one", r#"{"op":"retry","batch":"c2","item":"1.wav"}"#);
    assert_eq!(r["ok"], true, "{r}");
    let s = d.wait_finished("c2", T);
    assert_eq!(
        (
            s["counts"]["done"].as_u64(),
            s["counts"]["cancelled"].as_u64()
        ),
        (Some(1), Some(1)),
        "{s}"
    );
}

#[test]
fn cancel_stops_a_running_whisper_item_within_two_seconds() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup {
        threads: 1,
        ..Setup::default()
    });
    let long = long_file(&d);
    d.drop_folder("talk", &[("long.wav", &long)]);
    d.wait_status("talk", "running", T, |s| {
        running(s) == 1 && s["items"][0]["progress"].as_f64() > Some(0.0)
    });
    // Queued behind it (concurrency 1): it starts the moment the aborted job frees the worker.
    drop_jfk(&d, "next", 1);
    d.wait_status("next", "queued", T, |s| s["counts"]["queued"] == 1);
    let asked = Instant::now();
    ok_stdout(&d, &d.cli(&["cancel", "talk"]));
    d.wait_status("next", "running or done", T, |s| {
        running(s) == 1 || s["counts"]["done"] == 1
    });
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "cancel until the worker was free took {took:?}"
    );
    let s = d.wait_finished("talk", T);
    assert_eq!(s["state"], "cancelled", "{s}");
    assert!(!d.outbox().join("talk/long.txt").exists());
}

#[test]
fn remove_item_by_cli_and_command_file_keeps_it_out() {
    let mut d = fake("2", 1);
    d.command_file("hold", "pause all");
    drop_jfk(&d, "r", 3);
    d.wait_status("r", "3 queued", T, |s| s["counts"]["queued"] == 3);
    let out = ok_stdout(&d, &d.cli(&["remove", "r", "0.wav"]));
    assert!(out.contains("file left in place"), "{out}");
    let res = d.command_file("rm1", "remove batch=r item=1.wav delete_file=true");
    assert_eq!(res["ok"], true, "{res}");
    d.wait_status("r", "two removed", T, |s| s["items_total"] == 1);
    assert!(d.inbox().join("r/0.wav").exists() && !d.inbox().join("r/1.wav").exists());
    let bad = d.command_file("rm2", "remove batch=r item=nope.wav");
    assert_eq!(bad["error"], "unknown item \"nope.wav\" in batch \"r\"");
    // Not brought back by a rescan or a restart.
    d.stop();
    d.launch();
    ok_stdout(&d, &d.cli(&["resume", "--all"]));
    let s = d.wait_finished("r", T);
    assert_eq!(s["items_total"], 1, "{s}");
    assert!(d.inbox().join("r/0.wav").exists());
}

#[test]
fn delete_batch_refused_while_running_unless_forced_and_purge() {
    let d = fake("1", 1);
    drop_jfk(&d, "del", 2);
    d.wait_status("del", "running", T, |s| running(s) == 1);
    let out = d.cli(&["delete", "del"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("running items"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok_stdout(&d, &d.cli(&["delete", "del", "--force"]));
    wait_for(
        "status gone",
        T,
        || (!d.status_path("del").exists()).then_some(()),
        || d.context(),
    );
    let list = ok_stdout(&d, &d.cli(&["list", "--json"]));
    assert!(!list.contains("\"del\""), "{list}");
    // A finished batch with --purge loses its transcripts too; the first keeps them.
    drop_jfk(&d, "keepme", 1);
    drop_jfk(&d, "purgeme", 1);
    d.wait_finished("keepme", T);
    d.wait_finished("purgeme", T);
    assert_eq!(d.command_file("d1", "delete batch=keepme")["ok"], true);
    assert_eq!(
        d.command_file("d2", "delete batch=purgeme purge=true")["ok"],
        true
    );
    wait_for(
        "purged",
        T,
        || (!d.outbox().join("purgeme").exists()).then_some(()),
        || d.context(),
    );
    assert!(d.outbox().join("keepme/0.txt").exists() && !d.status_path("keepme").exists());
    assert_eq!(
        d.command_file("d3", "delete batch=keepme")["error"],
        "unknown batch \"keepme\""
    );
}

#[test]
fn priority_reorders_the_queue_and_concurrency_changes_live() {
    let d = fake("4", 1);
    d.command_file("hold", "pause all");
    drop_jfk(&d, "old", 2);
    d.wait_status("old", "queued", T, |s| s["counts"]["queued"] == 2);
    drop_jfk(&d, "new", 2);
    d.wait_status("new", "queued", T, |s| s["counts"]["queued"] == 2);
    ok_stdout(&d, &d.cli(&["set", "priority", "new", "5"]));
    assert_eq!(
        d.command_file("prio", "set batch=old priority=-1")["ok"],
        true
    );
    ok_stdout(&d, &d.cli(&["resume", "--all"]));
    d.wait_finished("old", T);
    let order: Vec<String> = d
        .events()
        .iter()
        .filter(|e| e["to"] == "running")
        .map(|e| e["batch"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, ["new", "new", "old", "old"], "{order:?}");
    // Concurrency 1 -> 3 while a batch runs.
    drop_jfk(&d, "wide", 4);
    d.wait_status("wide", "one running", T, |s| running(s) == 1);
    ok_stdout(&d, &d.cli(&["set", "concurrency", "3"]));
    d.wait_status("wide", "three running", T, |s| running(s) == 3);
    assert_eq!(d.command_file("c", "set concurrency=1")["ok"], true);
    d.wait_finished("wide", T);
}

#[test]
fn list_and_status_read_the_outbox_for_people_and_scripts() {
    let d = fake("50", 1);
    drop_jfk(&d, "first-batch", 2);
    wait_for(
        "DONE marker",
        T,
        || d.outbox().join("first-batch/DONE").exists().then_some(()),
        || d.context(),
    );
    let mut bad = std::fs::read(corpus("jfk.wav")).unwrap();
    bad.truncate(30);
    let garbage = d.root().join("garbage.wav");
    std::fs::write(&garbage, bad).unwrap();
    d.drop_folder("second", &[("x.wav", &garbage)]);
    wait_for(
        "FAILED marker",
        T,
        || d.outbox().join("second/FAILED").exists().then_some(()),
        || d.context(),
    );
    let human = ok_stdout(&d, &d.cli(&["list"]));
    assert!(human.lines().all(|l| l.chars().count() <= 80), "{human}");
    assert!(
        human.lines().nth(1).unwrap().contains("second"),
        "newest first: {human}"
    );
    assert!(
        human.contains("completed") && human.contains("with errors"),
        "{human}"
    );
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(
        &d,
        &d.cli(&["list", "--json", "--state", "completed"]),
    ))
    .unwrap();
    assert_eq!(v["total"], 1);
    assert_eq!(v["batches"][0]["name"], "first-batch");
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(
        &d,
        &d.cli(&["list", "--json", "--per-page", "1", "--page", "2"]),
    ))
    .unwrap();
    assert_eq!(v["batches"][0]["name"], "first-batch");
    let detail = ok_stdout(&d, &d.cli(&["status", "second"]));
    assert!(
        detail.contains("failed") && detail.contains("second/x.wav"),
        "{detail}"
    );
    assert!(detail.lines().all(|l| l.chars().count() <= 80), "{detail}");
    let v: serde_json::Value =
        serde_json::from_str(&ok_stdout(&d, &d.cli(&["status", "first-batch", "--json"]))).unwrap();
    assert_eq!(v["counts"]["done"], 2);
    let all = ok_stdout(&d, &d.cli(&["status"]));
    assert!(all.contains("first-batch") && all.contains("second"));
    let out = d.cli(&["status", "nope"]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("unknown batch")
    );
    // A show command gives the full item list.
    let r = d.command_file("show", "show batch=first-batch");
    assert_eq!(r["data"]["items"].as_array().unwrap().len(), 2, "{r}");
}

#[test]
fn sighup_adds_an_inbox_live_and_a_broken_config_keeps_the_old_one() {
    let d = fake("50", 1);
    let second = d.root().join("inbox2");
    let out2 = d.root().join("outbox2");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::create_dir_all(&out2).unwrap();
    let base = std::fs::read_to_string(d.config_path()).unwrap();
    let added =
        format!("{base}\n[[inbox]]\nname = \"second\"\npath = {second:?}\noutbox = {out2:?}\n");
    std::fs::write(d.config_path(), &added).unwrap();
    d.signal(libc::SIGHUP);
    d.signal(libc::SIGHUP);
    wait_for(
        "reload",
        T,
        || d.log().contains("config reloaded").then_some(()),
        || d.context(),
    );
    std::fs::create_dir(second.join("new")).unwrap();
    std::fs::copy(corpus("jfk.wav"), second.join("new/a.wav")).unwrap();
    wait_for(
        "second inbox batch done",
        T,
        || out2.join("new/DONE").exists().then_some(()),
        || d.context(),
    );
    assert_eq!(
        d.log().matches("config reloaded").count(),
        1,
        "a burst reloads once"
    );
    // Broken config: logged with its key, the running config stays.
    std::fs::write(
        d.config_path(),
        added.replace("concurrency = 1", "concurrency = 99"),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    wait_for(
        "reload failure logged",
        T,
        || d.log().contains("config reload failed").then_some(()),
        || d.context(),
    );
    assert!(
        d.log().contains("concurrency: 99 is out of range"),
        "{}",
        d.context()
    );
    drop_jfk(&d, "still", 1);
    d.wait_finished("still", T);
}

#[test]
fn garbage_command_files_each_get_a_result_and_change_nothing() {
    let mut d = fake("50", 1);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let cases: Vec<Vec<u8>> = (0..100)
        .map(|i| match i % 5 {
            0 => (0..(next() % 300)).map(|_| next() as u8).collect(),
            1 => format!("frobnicate batch=x{i}").into_bytes(),
            2 => format!("cancel batch=../../etc/{i}").into_bytes(),
            3 => format!("{{\"op\":\"delete\",\"batch\":\"ghost{i}\"}}").into_bytes(),
            _ => vec![b'a'; 70 * 1024],
        })
        .collect();
    for (i, bytes) in cases.iter().enumerate() {
        std::fs::write(d.control_dir().join(format!(".g{i}")), bytes).unwrap();
        std::fs::rename(
            d.control_dir().join(format!(".g{i}")),
            d.control_dir().join(format!("g{i}.cmd")),
        )
        .unwrap();
    }
    for i in 0..100 {
        let path = d.control_dir().join(format!("done/g{i}.result.json"));
        let r: serde_json::Value = wait_for(
            &format!("result {i}"),
            T,
            || {
                std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
            },
            || d.context(),
        );
        assert_eq!(r["ok"], false, "g{i}: {r}");
        assert!(
            r["error"].as_str().is_some_and(|e| !e.is_empty()),
            "g{i}: {r}"
        );
    }
    assert!(std::fs::read_dir(d.control_dir())
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().ends_with(".cmd")));
    assert!(d.is_running());
    drop_jfk(&d, "after", 1);
    d.wait_finished("after", T);
}

#[test]
fn pause_now_on_a_long_whisper_item_requeues_and_completes_with_the_same_transcript() {
    let _lock = whisper_lock();
    let d = Daemon::start(Setup {
        threads: 1,
        ..Setup::default()
    });
    let long = long_file(&d);
    // The reference: the same file, model and threads, transcribed once without interruption.
    let reference_dir = d.root().join("reference");
    let mut cmd = voiceflowd();
    cmd.args([
        "transcribe",
        "--threads",
        "1",
        "--formats",
        "txt",
        "--model",
    ])
    .arg(model_q8())
    .arg("--output-dir")
    .arg(&reference_dir)
    .arg(&long);
    let out = run_with_timeout(cmd, T);
    assert!(out.status.success(), "{}", dump(&out, &reference_dir));
    let reference = std::fs::read_to_string(reference_dir.join("long.txt")).unwrap();
    d.drop_folder("talk", &[("long.wav", &long)]);
    d.wait_status("talk", "running with progress", T, |s| {
        running(s) == 1 && s["items"][0]["progress"].as_f64() > Some(0.0)
    });
    ok_stdout(&d, &d.cli(&["pause", "talk", "--now"]));
    let s = d.wait_status("talk", "requeued", T, |s| {
        running(s) == 0 && s["state"] == "paused"
    });
    assert_eq!(s["items"][0]["attempts"], 0, "{s}");
    ok_stdout(&d, &d.cli(&["resume", "talk"]));
    let s = d.wait_finished("talk", T);
    assert_eq!(s["items"][0]["attempts"], 1, "{s}");
    assert_eq!(transcript(&d, "talk", "long"), reference);
}
