//! In-process decoding with symphonia: probe, pick the audio track, decode packet by packet.

use std::any::Any;
use std::fs::File;
use std::io::ErrorKind;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{Limit, MetadataOptions};
use symphonia::core::probe::Hint;

use super::error::{Position, Remedy};
use super::media::codec_name;
use super::resample::downmix;
use super::sink::Sink;
use super::{AudioError, DecodeOptions};

/// Tags and cover art above this size are skipped instead of loaded.
const METADATA_LIMIT: usize = 1 << 20;

/// Decodes with symphonia; a panic inside symphonia becomes [`AudioError::Corrupt`].
pub(super) fn decode_guarded(
    file: File,
    path: &Path,
    ext: Option<&str>,
    opts: &DecodeOptions,
) -> Result<Vec<f32>, AudioError> {
    let run = AssertUnwindSafe(|| decode(file, path, ext, opts));
    panic::catch_unwind(run).unwrap_or_else(|payload| {
        tracing::warn!(path = %path.display(), "symphonia panicked while decoding");
        Err(AudioError::Corrupt {
            at: None,
            detail: format!("decoder crashed: {}", panic_message(payload.as_ref())),
        })
    })
}

fn decode(
    file: File,
    path: &Path,
    ext: Option<&str>,
    opts: &DecodeOptions,
) -> Result<Vec<f32>, AudioError> {
    let mut input = Input::open(file, path, ext)?;
    input.check_declared_length(opts.max_duration_seconds)?;
    let mut sink = Sink::new(opts.max_duration_seconds, input.credible_seconds());
    let mut stats = PacketStats::default();
    while let Some(packet) = input.next_packet(&sink)? {
        input.decode_packet(&packet, &mut sink, &mut stats)?;
    }
    stats.verdict(path)?;
    sink.finish()
}

/// An open container with the chosen audio track and its decoder.
struct Input<'p> {
    path: &'p Path,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: Track,
    /// File size, to tell a credible header from an absurd one.
    file_len: Option<u64>,
    /// Scratch buffer for the downmixed packet.
    mono: Vec<f32>,
}

impl<'p> Input<'p> {
    fn open(file: File, path: &'p Path, ext: Option<&str>) -> Result<Self, AudioError> {
        let file_len = file.metadata().ok().map(|m| m.len());
        let format = probe(file, path, ext)?;
        let track = select_track(format.tracks())?.clone();
        let decoder = make_decoder(&track)?;
        Ok(Input {
            path,
            format,
            decoder,
            track,
            file_len,
            mono: Vec::new(),
        })
    }

    /// The duration the container header declares (may be wrong, e.g. a 4 GiB WAV header).
    fn declared_seconds(&self) -> Option<f64> {
        let params = &self.track.codec_params;
        let frames = params.n_frames?;
        let rate = params.sample_rate.filter(|r| *r > 0)?;
        Some(frames as f64 / f64::from(rate))
    }

    /// Refuses a file whose header credibly declares more than `max_seconds`, before
    /// decoding hours of audio only to reject it. Decoding enforces the limit regardless.
    fn check_declared_length(&self, max_seconds: Option<f64>) -> Result<(), AudioError> {
        let (Some(max_seconds), Some(seconds)) = (max_seconds, self.credible_seconds()) else {
            return Ok(());
        };
        if seconds <= max_seconds {
            return Ok(());
        }
        Err(AudioError::TooLong {
            seconds: Some(seconds),
            max_seconds,
        })
    }

    /// The declared duration, if the header is believable.
    fn credible_seconds(&self) -> Option<f64> {
        self.declared_seconds()
            .filter(|_| self.declared_length_credible())
    }

    /// PCM headers (WAV, AIFF, CAF) may claim 4 GiB for a recording that was never
    /// finalised: believe them only if the file is big enough. Compressed formats derive
    /// their length from frame tables or headers written after encoding: believed.
    fn declared_length_credible(&self) -> bool {
        let params = &self.track.codec_params;
        if codec_name(params.codec) != "pcm" {
            return true;
        }
        let channels = params.channels.map_or(1, |c| c.count()) as u64;
        let bits = params
            .bits_per_coded_sample
            .or(params.bits_per_sample)
            .unwrap_or(8);
        let bytes = params
            .n_frames
            .unwrap_or(0)
            .saturating_mul(channels * u64::from(bits) / 8);
        self.file_len.is_some_and(|len| bytes <= len)
    }

    /// The next packet of the chosen track; `None` at the end of the stream.
    fn next_packet(&mut self, sink: &Sink) -> Result<Option<Packet>, AudioError> {
        loop {
            match self.format.next_packet() {
                Ok(packet) if packet.track_id() == self.track.id => return Ok(Some(packet)),
                Ok(_) => continue,
                Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    return Ok(None)
                }
                Err(SymError::IoError(e)) => return Err(AudioError::io(self.path, e)),
                Err(SymError::ResetRequired) => self.reset_track()?,
                Err(e) => return demux_failure(self.path, e, sink),
            }
        }
    }

    /// Decodes one packet into `sink`; an undecodable packet is counted and skipped.
    fn decode_packet(
        &mut self,
        packet: &Packet,
        sink: &mut Sink,
        stats: &mut PacketStats,
    ) -> Result<(), AudioError> {
        match self.decoder.decode(packet) {
            Ok(decoded) => {
                stats.ok += 1;
                let rate = decoded.spec().rate;
                downmix(&decoded, &mut self.mono);
                sink.push_mono(&self.mono, rate)
            }
            Err(SymError::DecodeError(detail)) => {
                stats.failed(sink.seconds(), detail.to_string());
                Ok(())
            }
            // Decoders read only the in-memory packet: an I/O error means a short packet.
            Err(SymError::IoError(e)) => {
                stats.failed(sink.seconds(), format!("truncated packet ({e})"));
                Ok(())
            }
            Err(SymError::ResetRequired) => {
                self.decoder.reset();
                Ok(())
            }
            Err(SymError::Unsupported(feature)) => Err(unsupported_codec(&self.track, feature)),
            Err(e) => Err(AudioError::Corrupt {
                at: Some(Position::Seconds(sink.seconds())),
                detail: e.to_string(),
            }),
        }
    }

    /// After a chained-stream boundary: pick the audio track again with a fresh decoder.
    fn reset_track(&mut self) -> Result<(), AudioError> {
        self.track = select_track(self.format.tracks())?.clone();
        self.decoder = make_decoder(&self.track)?;
        Ok(())
    }
}

fn probe(file: File, path: &Path, ext: Option<&str>) -> Result<Box<dyn FormatReader>, AudioError> {
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let format_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let metadata_opts = MetadataOptions {
        limit_metadata_bytes: Limit::Maximum(METADATA_LIMIT),
        limit_visual_bytes: Limit::Maximum(METADATA_LIMIT),
    };
    symphonia::default::get_probe()
        .format(&hint, mss, &format_opts, &metadata_opts)
        .map(|probed| probed.format)
        .map_err(|e| probe_error(e, path, ext))
}

fn probe_error(err: SymError, path: &Path, ext: Option<&str>) -> AudioError {
    let file_kind = ext.map_or_else(|| "file".to_string(), |e| format!(".{e} file"));
    match err {
        SymError::Unsupported(_) => AudioError::Unsupported {
            what: format!("unrecognised {file_kind}"),
            remedy: Remedy::None,
        },
        SymError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => AudioError::Unsupported {
            what: format!("unrecognised or truncated {file_kind}"),
            remedy: Remedy::None,
        },
        SymError::IoError(e) => AudioError::io(path, e),
        other => AudioError::Corrupt {
            at: None,
            detail: format!("bad {file_kind} header: {other}"),
        },
    }
}

/// The first audio track with a decoder; a video file's audio track.
fn select_track(tracks: &[Track]) -> Result<&Track, AudioError> {
    let codecs = symphonia::default::get_codecs();
    let mut audio = tracks.iter().filter(|t| is_audio(t)).peekable();
    let first = audio.peek().copied().ok_or(AudioError::NoAudioTrack)?;
    audio
        .find(|t| codecs.get_codec(t.codec_params.codec).is_some())
        .ok_or_else(|| unsupported_codec(first, ""))
}

/// Symphonia knows only audio codecs; an unknown codec with a sample rate is audio too.
fn is_audio(track: &Track) -> bool {
    let params = &track.codec_params;
    params.codec != CODEC_TYPE_NULL || params.sample_rate.is_some()
}

fn make_decoder(track: &Track) -> Result<Box<dyn Decoder>, AudioError> {
    let opts = DecoderOptions::default();
    match symphonia::default::get_codecs().make(&track.codec_params, &opts) {
        Ok(decoder) => Ok(decoder),
        Err(SymError::Unsupported(feature)) => Err(unsupported_codec(track, feature)),
        Err(e) => Err(AudioError::Corrupt {
            at: None,
            detail: format!("{} codec parameters: {e}", codec_label(track)),
        }),
    }
}

/// "opus audio", or "aac audio (aac: HE-AAC v2 is not supported)".
fn unsupported_codec(track: &Track, feature: &str) -> AudioError {
    let mut what = format!("{} audio", codec_label(track));
    if !feature.is_empty() {
        what.push_str(&format!(" ({feature})"));
    }
    AudioError::Unsupported {
        what,
        remedy: Remedy::None,
    }
}

fn codec_label(track: &Track) -> String {
    match track.codec_params.codec {
        CODEC_TYPE_NULL => "unknown-codec".to_string(),
        codec => codec_name(codec),
    }
}

/// A demuxer error mid-stream: keep what was decoded before it, or report corruption.
fn demux_failure(path: &Path, err: SymError, sink: &Sink) -> Result<Option<Packet>, AudioError> {
    let seconds = sink.seconds();
    if seconds > 0.0 {
        tracing::warn!(path = %path.display(), seconds, error = %err, "stopped at unreadable container data; keeping the audio before it");
        return Ok(None);
    }
    Err(AudioError::Corrupt {
        at: Some(Position::Seconds(seconds)),
        detail: err.to_string(),
    })
}

/// Counts decoded and skipped packets; too many skipped means the stream is corrupt.
#[derive(Default)]
struct PacketStats {
    ok: u64,
    bad: u64,
    first_bad: Option<(f64, String)>,
}

impl PacketStats {
    fn failed(&mut self, seconds: f64, detail: String) {
        self.bad += 1;
        self.first_bad.get_or_insert((seconds, detail));
    }

    /// Fails if no packet or fewer than half of them decoded.
    fn verdict(&self, path: &Path) -> Result<(), AudioError> {
        let Some((seconds, detail)) = &self.first_bad else {
            return Ok(());
        };
        let total = self.ok + self.bad;
        if self.ok > 0 && self.bad <= self.ok {
            tracing::warn!(path = %path.display(), skipped = self.bad, total, first = %detail, "skipped undecodable packets");
            return Ok(());
        }
        Err(AudioError::Corrupt {
            at: Some(Position::Seconds(*seconds)),
            detail: format!("{detail} ({} of {total} packets undecodable)", self.bad),
        })
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        return (*s).to_string();
    }
    if let Some(s) = payload.downcast_ref::<String>() {
        return s.clone();
    }
    "unknown panic".to_string()
}
