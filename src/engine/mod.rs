//! The speech-to-text engine boundary: one loaded model shared by all jobs, per-job control.

mod fake;
mod whisper;

pub use fake::FakeEngine;
pub use whisper::WhisperEngine;

use crate::transcript::Segment;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// Input shorter than this (100 ms at 16 kHz) holds no recognisable speech.
pub const MIN_SAMPLES: usize = 1_600;

/// What to recognise and how; built per job, never shared between jobs.
#[derive(Debug, Clone)]
pub struct DecodeParams {
    /// ISO language code, or `auto` to detect it.
    pub language: String,
    /// CPU threads for this job.
    pub threads: usize,
    /// 0 or 1 means greedy decoding; above that, beam search with this width.
    pub beam_size: usize,
}

impl Default for DecodeParams {
    fn default() -> Self {
        DecodeParams {
            language: "en".into(),
            threads: 1,
            beam_size: 1,
        }
    }
}

/// A job's cancel switch and progress gauge, cheap to clone and share with the job.
#[derive(Debug, Clone, Default)]
pub struct JobControl {
    inner: Arc<ControlInner>,
}

#[derive(Debug, Default)]
struct ControlInner {
    cancelled: AtomicBool,
    percent: AtomicU32,
}

impl JobControl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the running job to stop; the engine aborts within about a second.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Progress of the running job, 0.0 ..= 1.0.
    pub fn progress(&self) -> f64 {
        f64::from(self.inner.percent.load(Ordering::Relaxed).min(100)) / 100.0
    }

    /// Records progress in percent (what whisper reports).
    pub fn set_percent(&self, percent: u32) {
        self.inner
            .percent
            .store(percent.min(100), Ordering::Relaxed);
    }
}

/// Why a job's recognition did not produce segments.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot load model {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("cancelled")]
    Cancelled,
    #[error("out of memory creating the recognition state")]
    OutOfMemory,
    #[error("recognition failed: {0}")]
    Failed(String),
}

impl EngineError {
    /// Transient errors may succeed when retried later.
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineError::OutOfMemory)
    }
}

/// A loaded speech model. Implementations are shared across worker threads.
pub trait Engine: Send + Sync {
    /// Short model name for outputs (`tiny.en`).
    fn model_name(&self) -> &str;

    /// Recognises 16 kHz mono samples. Blocks the calling thread; honours `control`.
    fn transcribe(
        &self,
        samples: &[f32],
        params: &DecodeParams,
        control: &JobControl,
    ) -> Result<Vec<Segment>, EngineError>;
}

/// Number of CPU cores this process may use (cgroup/affinity aware), at least 1.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_is_shared_between_clones() {
        let a = JobControl::new();
        let b = a.clone();
        b.set_percent(250);
        assert_eq!(a.progress(), 1.0);
        assert!(!a.is_cancelled());
        b.cancel();
        assert!(a.is_cancelled());
    }
}
