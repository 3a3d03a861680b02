//! Content fingerprints: a hash of a file's first and last MiB (with its size).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use xxhash_rust::xxh3::Xxh3;

const EDGE: u64 = 1 << 20;

/// Hashes the first and last MiB of a regular file; never blocks on a FIFO.
pub fn content_hash(path: &Path) -> io::Result<u64> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let size = meta.len();
    let mut hasher = Xxh3::new();
    hasher.update(&size.to_le_bytes());
    hash_span(&mut file, 0, EDGE.min(size), &mut hasher)?;
    if size > EDGE {
        let start = (size - EDGE).max(EDGE);
        hash_span(&mut file, start, size - start, &mut hasher)?;
    }
    // 0 means "not taken" in records.
    Ok(hasher.digest().max(1))
}

fn hash_span(file: &mut File, start: u64, len: u64, hasher: &mut Xxh3) -> io::Result<()> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; len as usize];
    file.read_exact(&mut buf)?;
    hasher.update(&buf);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_hash_and_edges_matter() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let mut data = vec![7u8; 3 << 20];
        std::fs::write(&a, &data).unwrap();
        std::fs::write(&b, &data).unwrap();
        assert_eq!(content_hash(&a).unwrap(), content_hash(&b).unwrap());
        let last = data.len() - 1;
        data[last] = 8;
        std::fs::write(&b, &data).unwrap();
        assert_ne!(content_hash(&a).unwrap(), content_hash(&b).unwrap());
        std::fs::write(&b, b"").unwrap();
        assert!(content_hash(&b).unwrap() > 0);
    }
}
