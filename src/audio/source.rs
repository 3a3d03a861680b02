//! Opening input safely: only regular files, never blocking on a FIFO or device.

use std::fs::{File, Metadata, OpenOptions};
use std::path::Path;

use super::AudioError;

/// Opens `path` for reading if it is a regular file (symlinks followed) and returns it with
/// its length. FIFOs, sockets, devices and directories are refused before opening; the
/// open itself is non-blocking and re-checked, so a file swapped for a FIFO cannot hang us.
pub(super) fn open_regular(path: &Path) -> Result<(File, u64), AudioError> {
    let meta = std::fs::metadata(path).map_err(|e| AudioError::io(path, e))?;
    ensure_regular(path, &meta)?;
    let file = open_nonblocking(path).map_err(|e| AudioError::io(path, e))?;
    let meta = file.metadata().map_err(|e| AudioError::io(path, e))?;
    ensure_regular(path, &meta)?;
    Ok((file, meta.len()))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK has no effect on reads from regular files; it only keeps open() from
    // waiting for a writer if the path became a FIFO after the metadata check.
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

fn ensure_regular(path: &Path, meta: &Metadata) -> Result<(), AudioError> {
    if meta.is_file() {
        return Ok(());
    }
    Err(AudioError::NotRegularFile {
        path: path.to_path_buf(),
        kind: file_kind(meta),
    })
}

/// A short name for what a non-regular path is.
fn file_kind(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
    }
    "an unknown file type"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_directories_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_regular(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("a directory, not a regular file"),
            "{err}"
        );
        let err = open_regular(Path::new("/dev/null")).unwrap_err();
        assert!(
            err.to_string().contains("a device, not a regular file"),
            "{err}"
        );
        let err = open_regular(&dir.path().join("missing.wav")).unwrap_err();
        assert!(err.to_string().starts_with("cannot read "), "{err}");
        assert!(!err.is_transient());
    }
}
