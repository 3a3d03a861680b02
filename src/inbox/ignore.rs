//! Names an inbox never treats as work: partial downloads, OS and NAS litter, dot-files.

/// The control marker that pauses a batch or an inbox (never an item).
pub const PAUSE_MARKER: &str = "PAUSE";

/// Why a name is ignored, or `None` when it may be an item (or a folder to enter).
pub fn ignored_reason(name: &str) -> Option<&'static str> {
    const TEMP_SUFFIXES: [&str; 5] = [".part", ".partial", ".filepart", ".tmp", ".crdownload"];
    const SYSTEM_NAMES: [&str; 2] = ["@eaDir", "#recycle"];
    let lower = name.to_ascii_lowercase();
    if TEMP_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        Some("temporary file (still being copied?)")
    } else if name.starts_with("~$") {
        Some("office lock file")
    } else if name.starts_with('.') {
        Some("hidden or system file")
    } else if SYSTEM_NAMES.contains(&name) {
        Some("NAS system folder")
    } else if name == PAUSE_MARKER {
        Some("control marker")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litter_is_ignored_and_media_is_not() {
        for name in [
            "a.mp3.part",
            "a.PARTIAL",
            "x.filepart",
            "y.tmp",
            "z.crdownload",
            "~$doc.docx",
            ".~lock",
            ".syncthing.a.mp3.tmp",
            ".DS_Store",
            "._a.mp3",
            "@eaDir",
            "#recycle",
            ".Trash-1000",
            ".hidden.wav",
            "PAUSE",
        ] {
            assert!(ignored_reason(name).is_some(), "{name}");
        }
        for name in ["talk.mp3", "meeting 2026", "part.wav", "tmp", "a.tmp.wav"] {
            assert_eq!(ignored_reason(name), None, "{name}");
        }
    }
}
