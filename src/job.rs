//! One item's work: decode -> recognise -> write every output atomically.

use crate::audio::{self, AudioError, DecodeOptions, SAMPLE_RATE};
use crate::engine::{DecodeParams, Engine, EngineError, JobControl};
use crate::inbox::content_hash;
use crate::model::{mtime_ns, Fingerprint};
use crate::transcript::{clean_segments, write_outputs, Format, Transcript};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a job reads from and writes to, and how.
#[derive(Debug, Clone)]
pub struct JobSpec<'a> {
    pub input: &'a Path,
    pub out_dir: &'a Path,
    /// Output file name without extension (`talk` -> `talk.txt`, `talk.srt`, ...).
    pub stem: &'a OsStr,
    pub formats: &'a [Format],
    pub params: DecodeParams,
    pub decode: DecodeOptions,
    /// The input as it was when it settled: if it differs after recognition, the file was
    /// replaced or truncated meanwhile and no outputs are written.
    pub expected: Option<Fingerprint>,
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct JobOutput {
    pub transcript: Transcript,
    pub outputs: Vec<PathBuf>,
    pub audio_seconds: f64,
    pub decode_time: Duration,
    pub recognise_time: Duration,
}

/// Why a job failed; the message is what a user sees in the item's status.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Audio(#[from] AudioError),
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the file changed while it was being transcribed; it will be transcribed again")]
    SourceChanged { now: Fingerprint },
}

impl JobError {
    /// Transient failures (I/O, disk full, out of memory) are worth retrying later.
    pub fn is_transient(&self) -> bool {
        match self {
            JobError::Audio(e) => e.is_transient(),
            JobError::Engine(e) => e.is_transient(),
            JobError::Write { .. } | JobError::SourceChanged { .. } => true,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, JobError::Engine(EngineError::Cancelled))
    }
}

/// Fails with `SourceChanged` when the input no longer matches `spec.expected` (content hash
/// and size when the hash is known, else size and mtime).
fn check_source(spec: &JobSpec<'_>) -> Result<(), JobError> {
    let Some(expected) = spec.expected else {
        return Ok(());
    };
    let meta = std::fs::symlink_metadata(spec.input).map_err(|source| AudioError::Io {
        path: spec.input.to_path_buf(),
        source,
    })?;
    let hash = if expected.hash != 0 {
        content_hash(spec.input).unwrap_or(0)
    } else {
        0
    };
    let now = Fingerprint {
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
        hash,
    };
    if expected.same_content(&now) {
        Ok(())
    } else {
        Err(JobError::SourceChanged { now })
    }
}

/// Runs one job to completion on the calling thread.
pub fn run(
    engine: &dyn Engine,
    spec: &JobSpec<'_>,
    control: &JobControl,
) -> Result<JobOutput, JobError> {
    let started = Instant::now();
    let samples = audio::decode_file(spec.input, &spec.decode)?;
    let decode_time = started.elapsed();
    let audio_seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
    let raw = engine.transcribe(&samples, &spec.params, control)?;
    drop(samples);
    check_source(spec)?;
    let recognise_time = started.elapsed() - decode_time;
    let transcript = Transcript {
        model: engine.model_name().to_string(),
        language: spec.params.language.clone(),
        duration_seconds: audio_seconds,
        segments: clean_segments(raw, audio_seconds),
    };
    let outputs =
        write_outputs(&transcript, spec.out_dir, spec.stem, spec.formats).map_err(|source| {
            JobError::Write {
                path: spec.out_dir.to_path_buf(),
                source,
            }
        })?;
    Ok(JobOutput {
        transcript,
        outputs,
        audio_seconds,
        decode_time,
        recognise_time,
    })
}
