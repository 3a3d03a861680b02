//! The real engine: whisper.cpp through whisper-rs, one context, one state per job.

use super::{DecodeParams, Engine, EngineError, JobControl, MIN_SAMPLES};
use crate::transcript::Segment;
use std::ffi::c_void;
use std::os::raw::c_int;
use std::path::Path;
use std::sync::Once;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// A whisper model loaded once; every job creates its own `WhisperState` from it.
pub struct WhisperEngine {
    ctx: WhisperContext,
    name: String,
}

static LOG_HOOKS: Once = Once::new();

impl WhisperEngine {
    /// Loads a ggml model file (see `voiceflowd model import`).
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        LOG_HOOKS.call_once(whisper_rs::install_logging_hooks);
        let load_err = |reason: String| EngineError::Load {
            path: path.display().to_string(),
            reason,
        };
        if !path.is_file() {
            return Err(load_err("no such file".into()));
        }
        let mut cparams = WhisperContextParameters::default();
        cparams.use_gpu(false);
        let ctx = WhisperContext::new_with_params(path, cparams)
            .map_err(|e| load_err(format!("{e} (not a whisper.cpp ggml model?)")))?;
        Ok(WhisperEngine {
            ctx,
            name: model_name_from_path(path),
        })
    }
}

/// `models/ggml-tiny.en-q8_0.bin` -> `tiny.en-q8_0`.
fn model_name_from_path(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let stem = stem.unwrap_or_else(|| "whisper".into());
    stem.strip_prefix("ggml-").unwrap_or(&stem).to_string()
}

impl Engine for WhisperEngine {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn transcribe(
        &self,
        samples: &[f32],
        params: &DecodeParams,
        control: &JobControl,
    ) -> Result<Vec<Segment>, EngineError> {
        if control.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        if samples.len() < MIN_SAMPLES || is_digital_silence(samples) {
            control.set_percent(100);
            return Ok(Vec::new());
        }
        let mut state = self
            .ctx
            .create_state()
            .map_err(|_| EngineError::OutOfMemory)?;
        let mut full = full_params(params);
        // SAFETY: the callbacks only read `control` through `user_data`, which outlives
        // `state.full` below: `full` runs synchronously and the params are dropped after it.
        unsafe { install_callbacks(&mut full, control) };
        let result = state.full(full, samples);
        if control.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        result.map_err(|e| EngineError::Failed(e.to_string()))?;
        control.set_percent(100);
        Ok(collect_segments(&state))
    }
}

fn full_params(params: &DecodeParams) -> FullParams<'_, '_> {
    let strategy = if params.beam_size > 1 {
        SamplingStrategy::BeamSearch {
            beam_size: params.beam_size as c_int,
            patience: -1.0,
        }
    } else {
        SamplingStrategy::Greedy { best_of: 1 }
    };
    let mut full = FullParams::new(strategy);
    full.set_n_threads(params.threads.max(1) as c_int);
    let language = params.language.as_str();
    full.set_language(Some(if language.is_empty() {
        "auto"
    } else {
        language
    }));
    full.set_translate(false);
    full.set_print_special(false);
    full.set_print_progress(false);
    full.set_print_realtime(false);
    full.set_print_timestamps(false);
    full.set_suppress_nst(true);
    full
}

unsafe extern "C" fn on_progress(
    _ctx: *mut whisper_rs::WhisperSysContext,
    _state: *mut whisper_rs::WhisperSysState,
    percent: c_int,
    user_data: *mut c_void,
) {
    let control = &*(user_data as *const JobControl);
    control.set_percent(percent.clamp(0, 100) as u32);
}

unsafe extern "C" fn on_abort(user_data: *mut c_void) -> bool {
    let control = &*(user_data as *const JobControl);
    control.is_cancelled()
}

/// Points whisper's progress and abort callbacks at `control`.
///
/// whisper-rs 0.16's `set_abort_callback_safe` casts its boxed closure to the wrong type,
/// so both callbacks are installed through the raw API with a borrowed pointer instead.
unsafe fn install_callbacks(full: &mut FullParams<'_, '_>, control: &JobControl) {
    let user_data = control as *const JobControl as *mut c_void;
    full.set_progress_callback(Some(on_progress));
    full.set_progress_callback_user_data(user_data);
    full.set_abort_callback(Some(on_abort));
    full.set_abort_callback_user_data(user_data);
}

fn collect_segments(state: &whisper_rs::WhisperState) -> Vec<Segment> {
    state
        .as_iter()
        .map(|seg| Segment {
            // whisper timestamps are in centiseconds.
            start: seg.start_timestamp() as f64 / 100.0,
            end: seg.end_timestamp() as f64 / 100.0,
            text: seg
                .to_str_lossy()
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        })
        .collect()
}

/// All samples at (near) zero: nothing to recognise, and whisper would only hallucinate.
fn is_digital_silence(samples: &[f32]) -> bool {
    samples.iter().all(|s| s.abs() < 1e-4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_drop_the_ggml_prefix() {
        assert_eq!(
            model_name_from_path(Path::new("/m/ggml-tiny.en.bin")),
            "tiny.en"
        );
        assert_eq!(
            model_name_from_path(Path::new("tiny.en-q8_0.bin")),
            "tiny.en-q8_0"
        );
    }

    #[test]
    fn missing_model_is_a_clear_load_error() {
        let err = WhisperEngine::load(Path::new("/nonexistent/model.bin"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("no such file"), "{err}");
    }

    #[test]
    fn garbage_model_is_a_load_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.bin");
        std::fs::write(&path, b"not a model at all").unwrap();
        let err = WhisperEngine::load(&path).err().unwrap();
        assert!(matches!(err, EngineError::Load { .. }), "{err}");
    }
}
