//! `voiceflowd transcribe`: one-shot transcription of files with one model load.

use crate::audio::DecodeOptions;
use crate::cli::TranscribeArgs;
use crate::engine::{available_cores, DecodeParams, Engine, JobControl, WhisperEngine};
use crate::job::{self, JobOutput, JobSpec};
use anyhow::{bail, Context};
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One input and where its outputs go.
struct Planned {
    input: PathBuf,
    out_dir: PathBuf,
    /// Output name without extension: the input's stem, or its whole name when two inputs
    /// share a stem in one folder (`jfk.wav` and `jfk.mp3` -> `jfk.wav.txt`, `jfk.mp3.txt`).
    stem: OsString,
}

pub fn run(args: TranscribeArgs) -> anyhow::Result<ExitCode> {
    let plan = plan_outputs(&args.files, args.output_dir.as_deref())?;
    let workers = usize::from(args.workers).min(plan.len()).max(1);
    let threads = threads_per_worker(args.threads.map(usize::from), workers);
    let started = Instant::now();
    let engine = WhisperEngine::load(&args.model).context("cannot start")?;
    tracing::info!(
        model = engine.model_name(),
        workers,
        threads,
        files = plan.len(),
        "model loaded"
    );
    let params = DecodeParams {
        language: args.language.clone(),
        threads,
        beam_size: usize::from(args.beam_size),
    };
    let failures = run_all(&engine, &plan, &args, &params, workers);
    let total = started.elapsed().as_secs_f64();
    eprintln!(
        "{} files, {} failed, {:.1} s wall",
        plan.len(),
        failures,
        total
    );
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Threads for each worker: as asked, else the cores shared out; never oversubscribed.
fn threads_per_worker(asked: Option<usize>, workers: usize) -> usize {
    let cores = available_cores();
    let fair = (cores / workers).max(1);
    match asked {
        Some(t) if t * workers > cores => {
            tracing::warn!(
                workers,
                threads = t,
                cores,
                "workers x threads exceeds the cores; this runs much slower"
            );
            t
        }
        Some(t) => t,
        None => fair,
    }
}

/// Works out each file's output folder and name; same-named inputs keep their extension.
fn plan_outputs(files: &[PathBuf], output_dir: Option<&Path>) -> anyhow::Result<Vec<Planned>> {
    let mut plan = Vec::with_capacity(files.len());
    for input in files {
        let (Some(stem), Some(name)) = (input.file_stem(), input.file_name()) else {
            bail!("{}: not a file name", input.display());
        };
        let out_dir = match output_dir {
            Some(dir) => dir.to_path_buf(),
            None => input.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        let clash = files.iter().any(|other| {
            other != input
                && other.file_stem() == Some(stem)
                && (output_dir.is_some() || other.parent() == input.parent())
        });
        let stem = if clash { name } else { stem }.to_os_string();
        plan.push(Planned {
            input: input.clone(),
            out_dir,
            stem,
        });
    }
    let mut seen = HashSet::new();
    if let Some(dup) = plan.iter().find(|p| !seen.insert(p.out_dir.join(&p.stem))) {
        bail!("{}: given twice", dup.input.display());
    }
    Ok(plan)
}

/// Runs every planned file on `workers` threads; returns how many failed.
fn run_all(
    engine: &WhisperEngine,
    plan: &[Planned],
    args: &TranscribeArgs,
    params: &DecodeParams,
    workers: usize,
) -> usize {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(planned) = plan.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if !run_one(engine, planned, args, params) {
                        *failures.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn run_one(
    engine: &WhisperEngine,
    planned: &Planned,
    args: &TranscribeArgs,
    params: &DecodeParams,
) -> bool {
    let spec = JobSpec {
        input: &planned.input,
        out_dir: &planned.out_dir,
        stem: &planned.stem,
        formats: &args.formats.0,
        params: params.clone(),
        decode: DecodeOptions::default(),
        expected: None,
    };
    let started = Instant::now();
    match job::run(engine, &spec, &JobControl::new()) {
        Ok(out) => {
            report_done(&planned.input, &out, started.elapsed().as_secs_f64());
            true
        }
        Err(err) => {
            eprintln!("{}: failed: {err}", planned.input.display());
            false
        }
    }
}

fn report_done(input: &Path, out: &JobOutput, wall: f64) {
    let speed = if wall > 0.0 {
        out.audio_seconds / wall
    } else {
        0.0
    };
    let names: Vec<String> = out
        .outputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    eprintln!(
        "{}: {:.1} s audio in {:.2} s ({:.1}x realtime) -> {}",
        input.display(),
        out.audio_seconds,
        wall,
        speed,
        names.join(", ")
    );
}
