//! A deterministic stand-in engine for fast scheduler tests: no model, predictable text.

use super::{DecodeParams, Engine, EngineError, JobControl, MIN_SAMPLES};
use crate::audio::SAMPLE_RATE;
use crate::transcript::Segment;
use std::time::{Duration, Instant};

/// Produces one segment naming the audio length, taking `speed`-times-realtime wall time.
/// Only for tests and benchmarks of the daemon itself; never the default.
pub struct FakeEngine {
    /// Audio seconds processed per wall second (e.g. 1000.0); 0 or less means instant.
    pub speed: f64,
}

impl Engine for FakeEngine {
    fn model_name(&self) -> &str {
        "fake"
    }

    fn transcribe(
        &self,
        samples: &[f32],
        _params: &DecodeParams,
        control: &JobControl,
    ) -> Result<Vec<Segment>, EngineError> {
        let seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
        self.work(seconds, control)?;
        if samples.len() < MIN_SAMPLES {
            return Ok(Vec::new());
        }
        Ok(vec![Segment {
            start: 0.0,
            end: seconds,
            text: format!("fake transcript of {seconds:.2} seconds"),
        }])
    }
}

impl FakeEngine {
    /// Spends the simulated time in small steps, reporting progress and honouring cancel.
    fn work(&self, seconds: f64, control: &JobControl) -> Result<(), EngineError> {
        let total = if self.speed > 0.0 {
            Duration::from_secs_f64(seconds / self.speed)
        } else {
            Duration::ZERO
        };
        let start = Instant::now();
        loop {
            if control.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            let elapsed = start.elapsed();
            if elapsed >= total {
                control.set_percent(100);
                return Ok(());
            }
            control.set_percent((elapsed.as_secs_f64() / total.as_secs_f64() * 100.0) as u32);
            std::thread::sleep((total - elapsed).min(Duration::from_millis(20)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_duration_and_honours_cancel() {
        let engine = FakeEngine { speed: 0.0 };
        let ctl = JobControl::new();
        let segs = engine
            .transcribe(&vec![0.1; 32_000], &DecodeParams::default(), &ctl)
            .unwrap();
        assert_eq!(segs[0].text, "fake transcript of 2.00 seconds");
        assert_eq!(ctl.progress(), 1.0);
        let slow = FakeEngine { speed: 0.001 };
        let ctl = JobControl::new();
        ctl.cancel();
        let err = slow.transcribe(&[0.1; 16_000], &DecodeParams::default(), &ctl);
        assert!(matches!(err, Err(EngineError::Cancelled)));
    }
}
