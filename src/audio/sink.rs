//! Collects decoded mono audio as 16 kHz: resamples per input rate, enforces the duration limit.

use super::resample::MonoResampler;
use super::{AudioError, SAMPLE_RATE};

/// Receives mono audio at any rate (changes allowed) and keeps only the 16 kHz
/// result, so the full-rate audio of a long file is never held in memory.
pub(super) struct Sink {
    out: Vec<f32>,
    resampler: Option<MonoResampler>,
    /// Seconds of input in segments whose resampler is already finished.
    finished_seconds: f64,
    /// Frames pushed into the current resampler.
    current_frames: u64,
    max_seconds: Option<f64>,
    /// The duration the container declares, if any (used in the too-long message).
    declared_seconds: Option<f64>,
}

impl Sink {
    pub(super) fn new(max_seconds: Option<f64>, declared_seconds: Option<f64>) -> Self {
        Sink {
            out: Vec::new(),
            resampler: None,
            finished_seconds: 0.0,
            current_frames: 0,
            max_seconds,
            declared_seconds,
        }
    }

    /// Seconds of audio received so far.
    pub(super) fn seconds(&self) -> f64 {
        let rate = self
            .resampler
            .as_ref()
            .map_or(SAMPLE_RATE, MonoResampler::rate_in);
        self.finished_seconds + self.current_frames as f64 / f64::from(rate)
    }

    /// Adds mono samples at `rate` Hz; a rate change starts a new resampler segment.
    pub(super) fn push_mono(&mut self, samples: &[f32], rate: u32) -> Result<(), AudioError> {
        if samples.is_empty() {
            return Ok(());
        }
        self.use_rate(rate)?;
        let resampler = self.resampler.as_mut();
        let resampler = resampler.ok_or_else(|| AudioError::Internal("no resampler".into()))?;
        resampler.push(samples, &mut self.out)?;
        self.current_frames += samples.len() as u64;
        self.check_limit()
    }

    /// Flushes the resampler and returns the 16 kHz samples.
    pub(super) fn finish(mut self) -> Result<Vec<f32>, AudioError> {
        if let Some(resampler) = self.resampler.take() {
            resampler.finish(&mut self.out)?;
        }
        if self.out.capacity() > self.out.len() + self.out.len() / 4 {
            self.out.shrink_to_fit();
        }
        Ok(self.out)
    }

    /// Makes sure the current resampler takes `rate` Hz, finishing the previous segment.
    fn use_rate(&mut self, rate: u32) -> Result<(), AudioError> {
        if let Some(old) = self.resampler.take_if(|r| r.rate_in() != rate) {
            self.finished_seconds += self.current_frames as f64 / f64::from(old.rate_in());
            self.current_frames = 0;
            old.finish(&mut self.out)?;
        }
        if self.resampler.is_none() {
            self.resampler = Some(MonoResampler::new(rate)?);
        }
        Ok(())
    }

    fn check_limit(&self) -> Result<(), AudioError> {
        let Some(max_seconds) = self.max_seconds else {
            return Ok(());
        };
        let seconds = self.seconds();
        if seconds <= max_seconds {
            return Ok(());
        }
        let declared = self.declared_seconds.filter(|d| *d >= seconds);
        Err(AudioError::TooLong {
            seconds: declared,
            max_seconds,
        })
    }
}

/// Appends `samples` to `out`, reporting an allocation failure instead of aborting.
pub(super) fn extend_checked(out: &mut Vec<f32>, samples: &[f32]) -> Result<(), AudioError> {
    if out.try_reserve(samples.len()).is_err() {
        let seconds = (out.len() + samples.len()) as f64 / f64::from(SAMPLE_RATE);
        return Err(AudioError::OutOfMemory { seconds });
    }
    out.extend_from_slice(samples);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_max_duration_while_pushing() {
        let mut sink = Sink::new(Some(1.0), Some(7.2 * 3600.0));
        let second = vec![0.1f32; 16_000];
        sink.push_mono(&second, 16_000).unwrap();
        let err = sink.push_mono(&second[..10], 16_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "too long: 7.2 h exceeds max_duration_seconds 1 s"
        );
    }

    #[test]
    fn audio_at_44k_becomes_16k() {
        let mut sink = Sink::new(None, None);
        sink.push_mono(&vec![0.0f32; 44_100], 44_100).unwrap();
        assert!((sink.seconds() - 1.0).abs() < 1e-9);
        let out = sink.finish().unwrap();
        assert_eq!(out.len(), 16_000);
        assert!(out.iter().all(|v| v.abs() < 1e-3));
    }

    #[test]
    fn rate_change_starts_a_new_segment() {
        let mut sink = Sink::new(None, None);
        sink.push_mono(&[0.2; 8_000], 8_000).unwrap();
        sink.push_mono(&[0.2; 16_000], 16_000).unwrap();
        assert!((sink.seconds() - 2.0).abs() < 1e-9);
        assert_eq!(sink.finish().unwrap().len(), 32_000);
    }
}
