//! The control CLI: writes a command file into the daemon's control folder, waits for the
//! result file, prints it. Exit 0 when the daemon says ok.

use crate::cli::{Client, Command, SetCommand, TargetArgs};
use crate::config::Config;
use crate::control::DONE_DIR;
use crate::fsutil::atomic_write;
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The JSON command for a control subcommand, and the client settings to send it with.
pub fn command_json(cmd: &Command) -> Option<(Value, &Client)> {
    let target = |t: &TargetArgs| match (&t.batch, t.all, &t.inbox) {
        (_, true, _) => json!({"all": true}),
        (_, _, Some(i)) => json!({"inbox": i}),
        (b, _, _) => json!({"batch": b}),
    };
    let with = |mut base: Value, extra: Value| {
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        base
    };
    Some(match cmd {
        Command::Pause(a) => (
            with(json!({"op": "pause", "now": a.now}), target(&a.target)),
            &a.target.client,
        ),
        Command::Resume(a) => (with(json!({"op": "resume"}), target(a)), &a.client),
        Command::Cancel(a) => (json!({"op": "cancel", "batch": a.batch}), &a.client),
        Command::Retry(a) => {
            let mut v = json!({"op": "retry", "batch": a.batch});
            if let Some(item) = &a.item {
                v["item"] = json!(item);
            }
            (v, &a.client)
        }
        Command::Remove(a) => (
            json!({"op": "remove", "batch": a.batch, "item": a.item, "delete_file": a.delete_file}),
            &a.client,
        ),
        Command::Delete(a) => (
            json!({"op": "delete", "batch": a.batch, "purge": a.purge, "force": a.force}),
            &a.client,
        ),
        Command::Set(SetCommand::Priority {
            batch,
            priority,
            client,
        }) => (
            json!({"op": "set", "batch": batch, "priority": priority}),
            client,
        ),
        Command::Set(SetCommand::Concurrency { workers, client }) => {
            (json!({"op": "set", "concurrency": workers}), client)
        }
        _ => return None,
    })
}

/// Sends `command` and prints the daemon's answer.
pub fn run(command: Value, client: &Client) -> anyhow::Result<ExitCode> {
    let answer = send(&command, client)?;
    let ok = answer["ok"].as_bool().unwrap_or(false);
    if ok {
        println!("{}", answer["effect"].as_str().unwrap_or("ok"));
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "voiceflowd: {}",
            answer["error"].as_str().unwrap_or("refused")
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Writes the command file and waits for its result (the daemon consumes the file).
pub fn send(command: &Value, client: &Client) -> anyhow::Result<Value> {
    let cfg = Config::load(&client.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = &cfg.control_dir;
    if !dir.is_dir() {
        bail!(
            "control folder {} does not exist: is voiceflowd running with this config?",
            dir.display()
        );
    }
    let name = format!("cli-{}-{}", std::process::id(), crate::model::now_ms());
    let path = dir.join(format!("{name}.cmd"));
    atomic_write(&path, command.to_string().as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let result = dir.join(DONE_DIR).join(format!("{name}.result.json"));
    match wait_result(&result, Duration::from_secs_f64(client.timeout.max(0.1))) {
        Some(v) => {
            let _ = std::fs::remove_file(&result);
            Ok(v)
        }
        None => {
            let unclaimed = std::fs::remove_file(&path).is_ok();
            let why = if unclaimed {
                "is voiceflowd running?"
            } else {
                "it may still be applied"
            };
            bail!(
                "no answer from voiceflowd within {} s ({why})",
                client.timeout
            )
        }
    }
}

fn wait_result(path: &Path, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(v) = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
