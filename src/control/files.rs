//! The control folder: `*.cmd` files are claimed, parsed, applied once, and answered in
//! `done/<name>.result.json`; a `PAUSE` file there pauses everything while it exists.

use super::{parse_command, Outcome, Request, Source};
use crate::fsutil::atomic_write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Where results go, inside the control folder.
pub const DONE_DIR: &str = "done";
/// Claimed commands wait here until answered (survives a crash).
pub const CLAIMED_DIR: &str = ".claimed";
/// Larger command files are rejected unread.
pub const MAX_COMMAND_BYTES: u64 = 64 * 1024;
const POLL: Duration = Duration::from_millis(200);

/// The global pause marker's state, as the control folder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalMarker {
    pub path: PathBuf,
    pub present: bool,
}

/// Watches `dir` until `shutdown`; requests and marker changes go to `tx`.
pub async fn run_control_dir<M>(dir: PathBuf, tx: mpsc::Sender<M>, shutdown: CancellationToken)
where
    M: From<Request> + From<GlobalMarker> + Send + 'static,
{
    for sub in [DONE_DIR, CLAIMED_DIR] {
        if let Err(e) = std::fs::create_dir_all(dir.join(sub)) {
            tracing::error!(path = %dir.join(sub).display(), cause = %e, "cannot create control folder");
        }
    }
    let mut marker: Option<bool> = None;
    let mut seq = 0u64;
    loop {
        let present = dir.join(crate::inbox::PAUSE_MARKER).is_file();
        if marker != Some(present) {
            marker = Some(present);
            let m = GlobalMarker {
                path: dir.join(crate::inbox::PAUSE_MARKER),
                present,
            };
            if tx.send(M::from(m)).await.is_err() {
                return;
            }
        }
        for claimed in claim_all(&dir, &mut seq) {
            if !answer(&dir, &claimed, &tx).await {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Moves every `*.cmd` into the claimed folder (oldest claims first, then new files by name).
fn claim_all(dir: &Path, seq: &mut u64) -> Vec<PathBuf> {
    let claimed_dir = dir.join(CLAIMED_DIR);
    let mut out = sorted_files(&claimed_dir, |_| true);
    for path in sorted_files(dir, |n| n.ends_with(".cmd") && !n.starts_with('.')) {
        *seq += 1;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let claim = claimed_dir.join(format!("{}-{}-{name}", crate::model::now_ms(), seq));
        match std::fs::rename(&path, &claim) {
            Ok(()) => out.push(claim),
            Err(e) => {
                tracing::warn!(path = %path.display(), cause = %e, "cannot claim command file")
            }
        }
    }
    out
}

fn sorted_files(dir: &Path, want: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| want(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// The user's file name of a claim (`<ms>-<seq>-pause.cmd` -> `pause.cmd`).
fn original_name(claim: &Path) -> String {
    let name = claim
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.splitn(3, '-').nth(2).unwrap_or(&name).to_string()
}

/// Reads, parses and applies one claimed command, writes its result, drops the claim.
/// False when the scheduler has gone away (shutting down: the claim stays for next start).
async fn answer<M: From<Request>>(dir: &Path, claim: &Path, tx: &mpsc::Sender<M>) -> bool {
    let name = original_name(claim);
    let outcome = match read_command(claim) {
        Err(e) => Outcome::err(e),
        Ok(command) => {
            let (reply, rx) = oneshot::channel();
            let claim_id = claim.file_name().map(|n| n.to_string_lossy().into_owned());
            let request = Request {
                command,
                source: Source::CommandFile(name.clone()),
                claim: claim_id,
                reply: Some(reply),
            };
            if tx.send(M::from(request)).await.is_err() {
                return false;
            }
            match rx.await {
                Ok(outcome) => outcome,
                Err(_) => return false,
            }
        }
    };
    write_result(dir, &name, &outcome);
    if let Err(e) = std::fs::remove_file(claim) {
        tracing::warn!(path = %claim.display(), cause = %e, "cannot remove answered command");
    }
    true
}

fn read_command(path: &Path) -> Result<super::Command, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_COMMAND_BYTES {
        return Err(format!(
            "command file too large ({} bytes, at most {MAX_COMMAND_BYTES})",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| "not a text command (invalid UTF-8)".to_string())?;
    parse_command(&text).map_err(|e| e.0)
}

fn write_result(dir: &Path, name: &str, outcome: &Outcome) {
    let stem = name.strip_suffix(".cmd").unwrap_or(name);
    let path = dir.join(DONE_DIR).join(format!("{stem}.result.json"));
    let mut value = serde_json::to_value(outcome).unwrap_or_default();
    value["command"] = serde_json::Value::String(name.to_string());
    value["finished_at"] = crate::outbox::rfc3339(crate::model::now_ms()).into();
    let bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
    if let Err(e) = atomic_write(&path, &bytes) {
        tracing::error!(path = %path.display(), cause = %e, "cannot write command result");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_keep_the_users_name() {
        assert_eq!(
            original_name(Path::new("/c/.claimed/1764424992123-7-pause-all.cmd")),
            "pause-all.cmd"
        );
    }

    #[test]
    fn oversized_and_binary_files_are_rejected_unparsed() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.cmd");
        std::fs::write(&big, vec![b'a'; MAX_COMMAND_BYTES as usize + 1]).unwrap();
        assert!(read_command(&big).unwrap_err().contains("too large"));
        let bin = dir.path().join("bin.cmd");
        std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x01]).unwrap();
        assert!(read_command(&bin)
            .unwrap_err()
            .contains("not a text command"));
    }

    #[test]
    fn claiming_moves_only_command_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(CLAIMED_DIR)).unwrap();
        std::fs::write(dir.path().join("b.cmd"), "resume all").unwrap();
        std::fs::write(dir.path().join("a.cmd"), "pause all").unwrap();
        std::fs::write(dir.path().join(".c.cmd"), "x").unwrap();
        std::fs::write(dir.path().join("PAUSE"), "").unwrap();
        let mut seq = 0;
        let claimed = claim_all(dir.path(), &mut seq);
        let names: Vec<_> = claimed.iter().map(|p| original_name(p)).collect();
        assert_eq!(names, ["a.cmd", "b.cmd"]);
        assert!(dir.path().join(".c.cmd").exists() && dir.path().join("PAUSE").exists());
    }
}
