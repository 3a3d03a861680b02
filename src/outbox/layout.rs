//! Outbox paths, and removal of temp files a crash left behind.

use crate::fsutil::is_temp_name;
use std::path::{Path, PathBuf};

/// `outbox/<batch name>`.
pub fn batch_dir(outbox: &Path, batch_name: &str) -> PathBuf {
    outbox.join(batch_name)
}

/// Removes every temp file of ours under `dir` (a crash mid-write leaves them); returns how many.
pub fn clean_temp_files(dir: &Path, max_depth: usize) -> usize {
    let mut removed = 0;
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() && depth < max_depth {
                stack.push((e.path(), depth + 1));
            } else if t.is_file()
                && is_temp_name(&e.file_name().to_string_lossy())
                && std::fs::remove_file(e.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_our_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/.x.txt.123.vfd-tmp"), b"").unwrap();
        std::fs::write(dir.path().join("b/x.txt"), b"").unwrap();
        std::fs::write(dir.path().join(".status.json.9.vfd-tmp"), b"").unwrap();
        assert_eq!(clean_temp_files(dir.path(), 8), 2);
        assert!(dir.path().join("b/x.txt").exists());
    }
}
