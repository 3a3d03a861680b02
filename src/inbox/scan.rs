//! One walk of an inbox: every candidate file with size and mtime; never follows symlinks.

use super::ignore::{ignored_reason, PAUSE_MARKER};
use crate::audio::is_media_extension;
use crate::model::RelPath;
use std::fs::{self, FileType};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// A regular file found in an inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub rel: RelPath,
    pub size: u64,
    pub mtime_ns: i64,
    pub is_media: bool,
    /// Content hash, taken once the file settled (0 before).
    pub hash: u64,
}

/// The result of one walk. `complete` is false when the inbox root could not be read:
/// then a missing file means nothing (the inbox is unavailable, not emptied).
#[derive(Debug, Default)]
pub struct Scan {
    pub entries: Vec<Entry>,
    pub complete: bool,
    /// Paths passed over, with the reason (symlinks, FIFOs, too deep, unreadable folders).
    pub passed_over: Vec<(PathBuf, String)>,
    /// `PAUSE` markers: at the top (the inbox) or in a batch folder (that batch).
    pub markers: Markers,
}

/// Level-triggered pause markers found by a scan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Markers {
    pub top: bool,
    pub folders: std::collections::BTreeSet<String>,
}

/// Walks `root` up to `max_depth` folders deep.
pub fn scan(root: &Path, max_depth: usize) -> Scan {
    let mut out = Scan::default();
    match fs::symlink_metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return pass(out, root, "inbox is not a folder"),
        Err(e) => return pass(out, root, &format!("inbox unavailable: {e}")),
    }
    out.complete = true;
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let read = match fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                // An unreadable folder below the root: its files are unknown, not gone.
                out.complete = false;
                out.passed_over
                    .push((dir.clone(), format!("cannot read folder: {e}")));
                continue;
            }
        };
        for entry in read.flatten() {
            visit(root, &entry, depth, max_depth, &mut stack, &mut out);
        }
    }
    out.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

fn note_marker(root: &Path, path: &Path, markers: &mut Markers) {
    match path.parent().and_then(|p| p.strip_prefix(root).ok()) {
        Some(p) if p.as_os_str().is_empty() => markers.top = true,
        Some(p) => {
            markers.folders.insert(p.to_string_lossy().into_owned());
        }
        None => {}
    }
}

fn pass(mut out: Scan, path: &Path, why: &str) -> Scan {
    out.passed_over.push((path.to_path_buf(), why.to_string()));
    out
}

fn visit(
    root: &Path,
    entry: &fs::DirEntry,
    depth: usize,
    max_depth: usize,
    stack: &mut Vec<(PathBuf, usize)>,
    out: &mut Scan,
) {
    let path = entry.path();
    let name = entry.file_name();
    if name == PAUSE_MARKER && depth <= 1 && entry.file_type().is_ok_and(|t| t.is_file()) {
        note_marker(root, &path, &mut out.markers);
        return;
    }
    if name.to_str().and_then(ignored_reason).is_some() {
        return;
    }
    let Ok(file_type) = entry.file_type() else {
        return;
    };
    if file_type.is_dir() {
        if depth + 1 > max_depth {
            out.passed_over
                .push((path, format!("deeper than max_depth {max_depth}")));
        } else {
            stack.push((path, depth + 1));
        }
        return;
    }
    if let Some(why) = not_regular(file_type) {
        out.passed_over.push((path, why.to_string()));
        return;
    }
    let (Ok(meta), Some(rel)) = (
        entry.metadata(),
        path.strip_prefix(root).ok().and_then(RelPath::new),
    ) else {
        return;
    };
    let is_media = path.extension().is_some_and(is_media_extension);
    let mtime_ns = crate::model::mtime_ns(&meta);
    out.entries.push(Entry {
        rel,
        size: meta.len(),
        mtime_ns,
        is_media,
        hash: 0,
    });
}

/// Anything but a regular file is never opened (a FIFO would block a reader forever).
fn not_regular(t: FileType) -> Option<&'static str> {
    if t.is_symlink() {
        Some("symbolic link (never followed)")
    } else if t.is_fifo() {
        Some("named pipe")
    } else if t.is_socket() {
        Some("socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("device node")
    } else if !t.is_file() {
        Some("not a regular file")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn finds_files_skips_litter_links_and_deep_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("meeting/day1/a/b")).unwrap();
        fs::write(root.join("loose.mp3"), b"x").unwrap();
        fs::write(root.join("meeting/day1/talk.wav"), b"xy").unwrap();
        fs::write(root.join("meeting/notes.pdf"), b"z").unwrap();
        fs::write(root.join("meeting/day1/a/b/deep.wav"), b"z").unwrap();
        fs::write(root.join("meeting/x.mp3.part"), b"z").unwrap();
        symlink("/etc/passwd", root.join("meeting/passwd.wav")).unwrap();
        symlink(root, root.join("meeting/loop")).unwrap();
        fs::write(root.join("PAUSE"), b"").unwrap();
        fs::write(root.join("meeting/PAUSE"), b"").unwrap();
        fs::write(root.join("meeting/day1/PAUSE"), b"").unwrap();
        let s = scan(root, 3);
        assert!(s.complete);
        assert!(s.markers.top);
        assert_eq!(s.markers.folders, ["meeting".to_string()].into());
        let rels: Vec<_> = s
            .entries
            .iter()
            .map(|e| (e.rel.display(), e.is_media, e.size))
            .collect();
        assert_eq!(
            rels,
            [
                ("loose.mp3".to_string(), true, 1),
                ("meeting/day1/talk.wav".to_string(), true, 2),
                ("meeting/notes.pdf".to_string(), false, 1),
            ]
        );
        let reasons: Vec<_> = s.passed_over.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            reasons
                .iter()
                .filter(|r| r.contains("symbolic link"))
                .count(),
            2
        );
        assert!(reasons.iter().any(|r| r.contains("max_depth")));
    }

    #[test]
    fn fifo_is_passed_over_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.wav");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let s = scan(dir.path(), 4);
        assert!(s.entries.is_empty());
        assert_eq!(s.passed_over[0].1, "named pipe");
    }

    #[test]
    fn missing_root_is_incomplete_not_empty() {
        let s = scan(Path::new("/nonexistent/inbox"), 4);
        assert!(!s.complete);
        assert!(s.passed_over[0].1.contains("inbox unavailable"));
    }
}
