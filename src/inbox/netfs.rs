//! Detects network and FUSE filesystems, where inotify misses changes made by other machines.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// statfs `f_type` magic numbers of filesystems that must be polled.
const POLLED: [(i64, &str); 9] = [
    (0x6969, "nfs"),
    (0x517B, "smb"),
    (0xFF53_4D42, "cifs"),
    (0xFE53_4D42, "smb2"),
    (0x6573_5546, "fuse"),
    (0x00C3_6400, "ceph"),
    (0x5346_414F, "afs"),
    (0x0102_1997, "9p"),
    (0x0BD0_0BD0, "lustre"),
];

/// The name of the network filesystem holding `path`, or `None` for a local one
/// (or when it cannot be told).
pub fn network_fs(path: &Path) -> Option<&'static str> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `buf` a properly sized out-parameter.
    if unsafe { libc::statfs(c.as_ptr(), &mut buf) } != 0 {
        return None;
    }
    let magic = buf.f_type as i64 & 0xFFFF_FFFF;
    POLLED
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_temp_dir_is_not_network() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(network_fs(dir.path()), None);
        assert_eq!(network_fs(Path::new("/nonexistent/x")), None);
    }
}
