//! Writes a transcript's output files atomically into a folder.

use super::{render, Format, Transcript};
use crate::fsutil::atomic_write;
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

/// The output path of each format for a file stem in `dir` (`talk` -> `dir/talk.srt`).
pub fn output_paths(dir: &Path, stem: &OsStr, formats: &[Format]) -> Vec<(Format, PathBuf)> {
    formats
        .iter()
        .map(|&f| {
            let mut name = stem.to_os_string();
            name.push(".");
            name.push(f.extension());
            (f, dir.join(name))
        })
        .collect()
}

/// Writes every requested format of `t` to `dir/<stem>.<ext>`, each one atomically
/// (temp name, fsync, rename). Returns the paths written, in format order.
pub fn write_outputs(
    t: &Transcript,
    dir: &Path,
    stem: &OsStr,
    formats: &[Format],
) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::with_capacity(formats.len());
    for (format, path) in output_paths(dir, stem, formats) {
        atomic_write(&path, render(t, format).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Segment;

    #[test]
    fn writes_each_format_beside_the_stem() {
        let dir = tempfile::tempdir().unwrap();
        let t = Transcript {
            model: "m".into(),
            language: "en".into(),
            duration_seconds: 1.0,
            segments: vec![Segment {
                start: 0.0,
                end: 1.0,
                text: "hi".into(),
            }],
        };
        let out = dir.path().join("sub");
        let paths = write_outputs(&t, &out, OsStr::new("talk"), &Format::ALL).unwrap();
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["talk.txt", "talk.srt", "talk.vtt", "talk.json"]);
        assert_eq!(
            std::fs::read_to_string(out.join("talk.txt")).unwrap(),
            "hi\n"
        );
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 4);
    }
}
