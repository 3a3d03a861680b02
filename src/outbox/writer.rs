//! The outbox writer thread: status files, batch lists, markers and the events log.

use crate::fsutil::{atomic_write, sync_parent};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::mpsc;

/// The end-of-batch marker for NAS automation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Done,
    Failed,
    /// The batch is not finished (any marker is removed).
    None,
}

/// One write for the writer thread.
#[derive(Debug)]
pub enum Write {
    /// Replace a file atomically.
    File { path: PathBuf, bytes: Vec<u8> },
    /// Append lines to a log file.
    Append { path: PathBuf, text: String },
    /// Set the DONE/FAILED marker of a batch folder.
    Marker { dir: PathBuf, marker: Marker },
    /// Remove a batch's status files (its batch was dropped); with `purge` its transcripts too.
    Forget { dir: PathBuf, purge: bool },
    /// Reply once everything sent before is written.
    Flush(mpsc::Sender<()>),
}

/// Handle to the writer thread; writes happen in order, off the scheduler's thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Write>,
}

impl Writer {
    pub fn spawn() -> Writer {
        let (tx, rx) = mpsc::channel::<Write>();
        std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || rx.into_iter().for_each(perform))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(cause = %e, "cannot start the outbox writer"));
        Writer { tx }
    }

    pub fn send(&self, w: Write) {
        let _ = self.tx.send(w);
    }

    /// Waits until every write sent so far is done.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Write::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

fn perform(w: Write) {
    let (what, result) = match w {
        Write::File { path, bytes } => (
            path.clone(),
            ensure_parent(&path).and_then(|()| atomic_write(&path, &bytes)),
        ),
        Write::Append { path, text } => (path.clone(), append(&path, &text)),
        Write::Marker { dir, marker } => (dir.clone(), set_marker(&dir, marker)),
        Write::Forget { dir, purge } => (dir.clone(), forget(&dir, purge)),
        Write::Flush(reply) => {
            let _ = reply.send(());
            return;
        }
    };
    if let Err(e) = result {
        tracing::warn!(path = %what.display(), cause = %e, "cannot write status");
    }
}

fn ensure_parent(path: &std::path::Path) -> std::io::Result<()> {
    match path.parent() {
        Some(p) => std::fs::create_dir_all(p),
        None => Ok(()),
    }
}

fn append(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    ensure_parent(path)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

fn set_marker(dir: &std::path::Path, marker: Marker) -> std::io::Result<()> {
    let (keep, drop) = match marker {
        Marker::Done => (Some("DONE"), "FAILED"),
        Marker::Failed => (Some("FAILED"), "DONE"),
        Marker::None => (None, "DONE"),
    };
    remove_if_present(&dir.join(drop))?;
    match keep {
        Some(name) => {
            std::fs::create_dir_all(dir)?;
            atomic_write(&dir.join(name), b"")
        }
        None => remove_if_present(&dir.join("FAILED")),
    }
}

fn remove_if_present(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn forget(dir: &std::path::Path, purge: bool) -> std::io::Result<()> {
    if purge {
        return match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    for name in ["status.json", "DONE", "FAILED"] {
        remove_if_present(&dir.join(name))?;
    }
    // Only an empty folder goes; transcripts are never removed here.
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_replace_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::spawn();
        let b = dir.path().join("batch");
        w.send(Write::Marker {
            dir: b.clone(),
            marker: Marker::Failed,
        });
        w.send(Write::Marker {
            dir: b.clone(),
            marker: Marker::Done,
        });
        w.flush();
        assert!(b.join("DONE").exists() && !b.join("FAILED").exists());
        w.send(Write::Marker {
            dir: b.clone(),
            marker: Marker::None,
        });
        w.send(Write::Append {
            path: dir.path().join("events.jsonl"),
            text: "a\n".into(),
        });
        w.send(Write::Append {
            path: dir.path().join("events.jsonl"),
            text: "b\n".into(),
        });
        w.flush();
        assert!(!b.join("DONE").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap(),
            "a\nb\n"
        );
    }
}
