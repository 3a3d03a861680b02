//! Decoding errors: one variant per cause, messages that say what went wrong and where.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a file could not be decoded. [`AudioError::is_transient`] tells retryable from final.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// Opening, inspecting or reading the file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A FIFO, socket, device or directory: never opened, so it cannot block.
    #[error("cannot read {}: {kind}, not a regular file", path.display())]
    NotRegularFile { path: PathBuf, kind: &'static str },
    /// The file has zero bytes.
    #[error("empty file")]
    Empty,
    /// Neither symphonia nor (if allowed and installed) ffmpeg can decode the container or codec.
    #[error("unsupported format: {what}{remedy}")]
    Unsupported { what: String, remedy: Remedy },
    /// The container holds no audio track (e.g. a video-only MP4).
    #[error("no audio track")]
    NoAudioTrack,
    /// The container or codec data is damaged beyond skipping single packets.
    #[error("corrupt data{}: {detail}", at.map(|p| format!(" at {p}")).unwrap_or_default())]
    Corrupt {
        at: Option<Position>,
        detail: String,
    },
    /// The audio is longer than [`super::DecodeOptions::max_duration_seconds`].
    #[error(
        "too long: {} exceeds max_duration_seconds {}",
        seconds.map_or_else(|| format!("more than {}", HumanDuration(*max_seconds)), |s| HumanDuration(s).to_string()),
        HumanDuration(*max_seconds)
    )]
    TooLong {
        /// The length the container declares, when known and above the limit.
        seconds: Option<f64>,
        max_seconds: f64,
    },
    /// The decoded samples do not fit in memory.
    #[error("out of memory holding {} of decoded audio", HumanDuration(*seconds))]
    OutOfMemory { seconds: f64 },
    /// The ffmpeg fallback failed for a reason other than an unsupported input.
    #[error("ffmpeg failed: {message}")]
    Ffmpeg { message: String, transient: bool },
    /// A bug: a resampler or decoder was misused.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Where in the stream corrupt data was found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// Seconds of audio decoded before the damage.
    Seconds(f64),
    /// Byte offset in the file.
    Byte(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Seconds(s) => write!(f, "{s:.1} s"),
            Position::Byte(b) => write!(f, "byte offset {b}"),
        }
    }
}

/// What the user can do about an unsupported format; shown in parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Nothing known (e.g. not yet decided whether ffmpeg helps).
    None,
    /// ffmpeg is not on PATH.
    InstallFfmpeg,
    /// [`super::DecodeOptions::allow_ffmpeg`] is false.
    FfmpegDisabled,
    /// ffmpeg ran and could not decode it either; its message.
    FfmpegFailed(String),
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remedy::None => Ok(()),
            Remedy::InstallFfmpeg => f.write_str(" (install ffmpeg to decode it)"),
            Remedy::FfmpegDisabled => f.write_str(" (the ffmpeg fallback is disabled)"),
            Remedy::FfmpegFailed(msg) => write!(f, " (ffmpeg: {msg})"),
        }
    }
}

/// A duration for messages: "12.3 s", "4.5 min", "7.2 h"; whole numbers without ".0".
pub(super) struct HumanDuration(pub f64);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (value, unit) = match self.0 {
            s if s < 120.0 => (s, "s"),
            s if s < 7200.0 => (s / 60.0, "min"),
            s => (s / 3600.0, "h"),
        };
        let text = format!("{value:.1}");
        let text = text.strip_suffix(".0").unwrap_or(&text);
        write!(f, "{text} {unit}")
    }
}

impl AudioError {
    /// True for errors worth retrying later: I/O errors such as EIO or EAGAIN, running out of
    /// memory, an ffmpeg that could not be started or stalled. Unsupported, corrupt, empty or
    /// too-long input is permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            AudioError::Io { source, .. } => io_is_transient(source),
            AudioError::OutOfMemory { .. } => true,
            AudioError::Ffmpeg { transient, .. } => *transient,
            _ => false,
        }
    }

    /// Builds an [`AudioError::Io`] for `path`.
    pub(super) fn io(path: &std::path::Path, source: io::Error) -> Self {
        AudioError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Attaches advice to an [`AudioError::Unsupported`]; other errors are returned as they are.
    pub(super) fn with_remedy(self, remedy: Remedy) -> Self {
        match self {
            AudioError::Unsupported { what, .. } => AudioError::Unsupported { what, remedy },
            other => other,
        }
    }
}

/// I/O errors that may go away on their own.
pub(super) fn io_is_transient(err: &io::Error) -> bool {
    use io::ErrorKind as K;
    if matches!(
        err.kind(),
        K::Interrupted | K::WouldBlock | K::TimedOut | K::OutOfMemory
    ) {
        return true;
    }
    let transient_codes = [
        libc::EIO,
        libc::EAGAIN,
        libc::ENOMEM,
        libc::EINTR,
        libc::EBUSY,
        libc::ENFILE,
        libc::EMFILE,
        libc::ENOBUFS,
        libc::ETIMEDOUT,
        libc::ESTALE,
    ];
    err.raw_os_error()
        .is_some_and(|code| transient_codes.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_specific() {
        let too_long = AudioError::TooLong {
            seconds: Some(7.2 * 3600.0),
            max_seconds: 6.0 * 3600.0,
        };
        assert_eq!(
            too_long.to_string(),
            "too long: 7.2 h exceeds max_duration_seconds 6 h"
        );
        let unknown = AudioError::TooLong {
            seconds: None,
            max_seconds: 30.0,
        };
        assert_eq!(
            unknown.to_string(),
            "too long: more than 30 s exceeds max_duration_seconds 30 s"
        );
        let corrupt = AudioError::Corrupt {
            at: Some(Position::Seconds(12.34)),
            detail: "mp3: invalid main_data offset".into(),
        };
        assert_eq!(
            corrupt.to_string(),
            "corrupt data at 12.3 s: mp3: invalid main_data offset"
        );
        let opus = AudioError::Unsupported {
            what: "opus audio".into(),
            remedy: Remedy::InstallFfmpeg,
        };
        assert_eq!(
            opus.to_string(),
            "unsupported format: opus audio (install ffmpeg to decode it)"
        );
    }

    #[test]
    fn transient_classification() {
        let eio = AudioError::io(
            std::path::Path::new("/x"),
            io::Error::from_raw_os_error(libc::EIO),
        );
        assert!(eio.is_transient());
        assert!(eio.to_string().starts_with("cannot read /x: "));
        let enoent = AudioError::io(
            std::path::Path::new("/x"),
            io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert!(!enoent.is_transient());
        assert!(AudioError::OutOfMemory { seconds: 1.0 }.is_transient());
        assert!(!AudioError::Empty.is_transient());
        assert!(!AudioError::NoAudioTrack.is_transient());
    }
}
