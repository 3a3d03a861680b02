//! `voiceflowd list` and `voiceflowd status`: read the outbox status files (the database is
//! locked by the running daemon) and print them for people or scripts.

use crate::cli::{Client, ListArgs, StatusArgs};
use crate::config::Config;
use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Duration;

fn config(client: &Client) -> anyhow::Result<Config> {
    Config::load(&client.config).map_err(|e| anyhow!("{e}"))
}

/// Every batch line of every inbox's `batches.json`, newest first.
fn all_batches(cfg: &Config) -> Vec<Value> {
    let mut rows: Vec<Value> = cfg
        .inboxes
        .iter()
        .filter_map(|i| std::fs::read(i.outbox.join("batches.json")).ok())
        .filter_map(|b| serde_json::from_slice::<Vec<Value>>(&b).ok())
        .flatten()
        .collect();
    rows.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["created_at"].as_str().unwrap_or("").to_string(),
                v["id"].as_u64().unwrap_or(0),
            )
        };
        key(b).cmp(&key(a))
    });
    rows
}

pub fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let cfg = config(&args.client)?;
    let rows: Vec<Value> = all_batches(&cfg)
        .into_iter()
        .filter(|r| args.state.as_deref().is_none_or(|s| r["state"] == s))
        .filter(|r| args.inbox.as_deref().is_none_or(|i| r["inbox"] == i))
        .collect();
    let per_page = args.per_page.clamp(1, 1000);
    let total = rows.len();
    let page: Vec<Value> = rows
        .into_iter()
        .skip(args.page.saturating_sub(1) * per_page)
        .take(per_page)
        .collect();
    if args.json {
        println!(
            "{}",
            json!({"page": args.page, "per_page": per_page, "total": total, "batches": page})
        );
    } else {
        print!("{}", super::table::batches(&page));
        let pages = total.div_ceil(per_page).max(1);
        println!("page {} of {pages} ({total} batches)", args.page);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let cfg = config(&args.client)?;
    let mut last = String::new();
    loop {
        let text = render_status(&cfg, args)?;
        if !args.watch {
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        if text != last {
            print!("\x1b[2J\x1b[H{text}");
            use std::io::Write;
            let _ = std::io::stdout().flush();
            last = text;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn render_status(cfg: &Config, args: &StatusArgs) -> anyhow::Result<String> {
    let rows = all_batches(cfg);
    let Some(name) = &args.batch else {
        let shown: Vec<Value> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| *i < 10 || r["finished_at"].is_null())
            .map(|(_, r)| r.clone())
            .collect();
        return Ok(if args.json {
            format!("{}\n", Value::Array(shown))
        } else {
            super::table::batches(&shown)
        });
    };
    let row = rows
        .iter()
        .find(|r| {
            r["name"] == name.as_str()
                || r["id"].as_u64().map(|i| i.to_string()).as_deref() == Some(name)
        })
        .ok_or_else(|| anyhow!("unknown batch {name:?}"))?;
    let inbox = cfg
        .inbox(row["inbox"].as_str().unwrap_or(""))
        .context("batch of an unknown inbox")?;
    let path = inbox
        .outbox
        .join(row["name"].as_str().unwrap_or(""))
        .join("status.json");
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut status: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    if status["items_truncated"] == true {
        if let Some(full) = full_status(name, &args.client) {
            status = full;
        }
    }
    if args.json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(&status)?));
    }
    Ok(super::table::batch_detail(&status))
}

/// status.json lists the first items only; the daemon gives the full list on request.
fn full_status(batch: &str, client: &Client) -> Option<Value> {
    let answer = super::ctl::send(&json!({"op": "show", "batch": batch}), client).ok()?;
    answer["data"].is_object().then(|| answer["data"].clone())
}
