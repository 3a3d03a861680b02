//! Audio input: decode any supported audio/video file to 16 kHz mono f32 samples for whisper.
//!
//! Symphonia decodes in-process (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A/MP4, MKV/WebM audio);
//! anything it cannot probe or decode (Opus, WMA, AC-3, ...) falls back to an `ffmpeg`
//! subprocess when one is on PATH and [`DecodeOptions::allow_ffmpeg`] is set.

mod decode;
mod error;
mod ffmpeg;
mod guard;
mod media;
mod resample;
mod sink;
mod source;
#[cfg(test)]
mod tests;

use std::ffi::OsStr;
use std::path::Path;

pub use error::{AudioError, Position, Remedy};

/// The sample rate whisper expects, and the rate of every decoded buffer.
pub const SAMPLE_RATE: u32 = 16_000;

/// Limits and fallbacks for [`decode_file`].
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Refuse audio longer than this; decoding stops as soon as the limit is passed.
    pub max_duration_seconds: Option<f64>,
    /// Decode formats symphonia cannot handle (Opus, WMA, ...) with an `ffmpeg` subprocess.
    pub allow_ffmpeg: bool,
}

impl Default for DecodeOptions {
    /// At most 6 hours, ffmpeg fallback allowed.
    fn default() -> Self {
        DecodeOptions {
            max_duration_seconds: Some(6.0 * 3600.0),
            allow_ffmpeg: true,
        }
    }
}

/// Decodes `path` to 16 kHz mono f32.
///
/// A container with an audio track but no audio frames decodes to an empty `Vec` (success);
/// a container without an audio track is [`AudioError::NoAudioTrack`].
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Vec<f32>, AudioError> {
    let (file, len) = source::open_regular(path)?;
    if len == 0 {
        return Err(AudioError::Empty);
    }
    guard::check_headers(&file, len)?;
    let ext = path.extension().and_then(OsStr::to_str);
    let started = std::time::Instant::now();
    let result = decode::decode_guarded(file, path, ext, opts);
    let result = match result {
        Err(err) if wants_fallback(&err) => fallback(path, err, opts),
        other => other,
    };
    if let Ok(samples) = &result {
        let seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
        let ms = started.elapsed().as_millis();
        tracing::debug!(path = %path.display(), seconds, ms, "decoded audio");
    }
    result
}

/// True for file extensions the daemon should treat as media (audio or video containers),
/// compared case-insensitively: wav, flac, mp3, ogg, oga, opus, m4a, mp4, aac, mkv, webm, ...
pub fn is_media_extension(ext: &OsStr) -> bool {
    media::is_media_extension(ext)
}

/// Symphonia errors that ffmpeg may do better on: unknown containers, codecs without a
/// decoder, and containers where symphonia sees no audio track it understands.
fn wants_fallback(err: &AudioError) -> bool {
    matches!(
        err,
        AudioError::Unsupported { .. } | AudioError::NoAudioTrack
    )
}

/// Retries with ffmpeg, or explains why that was not possible.
fn fallback(path: &Path, err: AudioError, opts: &DecodeOptions) -> Result<Vec<f32>, AudioError> {
    if !opts.allow_ffmpeg {
        return Err(err.with_remedy(Remedy::FfmpegDisabled));
    }
    match ffmpeg::decode(path, opts) {
        Ok(samples) => Ok(samples),
        Err(ffmpeg::Failure::NotInstalled) => Err(err.with_remedy(Remedy::InstallFfmpeg)),
        Err(ffmpeg::Failure::Rejected(message)) => {
            Err(err.with_remedy(Remedy::FfmpegFailed(message)))
        }
        Err(ffmpeg::Failure::Error(ffmpeg_err)) => Err(ffmpeg_err),
    }
}
