//! Mono downmix and streaming band-limited resampling to 16 kHz (rubato's FFT resampler).

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::conv::IntoSample;
use symphonia::core::sample::Sample;

use super::sink::extend_checked;
use super::{AudioError, SAMPLE_RATE};

/// Approximate input frames per rubato call (one FFT block; the filter is as long).
const TARGET_CHUNK_IN: usize = 1024;
/// Sample rates accepted as input; anything else is treated as a broken header.
pub(super) const MIN_RATE: u32 = 1_000;
pub(super) const MAX_RATE: u32 = 1_536_000;

/// Replaces `out` with the average of the channels of a decoded packet.
pub(super) fn downmix(decoded: &AudioBufferRef<'_>, out: &mut Vec<f32>) {
    match decoded {
        AudioBufferRef::U8(b) => downmix_planar(b, out),
        AudioBufferRef::U16(b) => downmix_planar(b, out),
        AudioBufferRef::U24(b) => downmix_planar(b, out),
        AudioBufferRef::U32(b) => downmix_planar(b, out),
        AudioBufferRef::S8(b) => downmix_planar(b, out),
        AudioBufferRef::S16(b) => downmix_planar(b, out),
        AudioBufferRef::S24(b) => downmix_planar(b, out),
        AudioBufferRef::S32(b) => downmix_planar(b, out),
        AudioBufferRef::F32(b) => downmix_planar(b, out),
        AudioBufferRef::F64(b) => downmix_planar(b, out),
    }
}

fn downmix_planar<S>(buf: &AudioBuffer<S>, out: &mut Vec<f32>)
where
    S: Sample + IntoSample<f32>,
{
    let channels = buf.spec().channels.count();
    out.clear();
    out.resize(buf.frames(), 0.0);
    for ch in 0..channels {
        for (acc, sample) in out.iter_mut().zip(buf.chan(ch)) {
            *acc += (*sample).into_sample();
        }
    }
    if channels > 1 {
        let scale = 1.0 / channels as f32;
        out.iter_mut().for_each(|v| *v *= scale);
    }
}

/// Streams mono audio at one input rate to 16 kHz. Output is aligned with the input (the
/// filter delay is removed) and has `round(frames_in * 16000 / rate)` samples after
/// [`MonoResampler::finish`]. At 16 kHz input it copies samples through unchanged.
pub(super) struct MonoResampler {
    rate_in: u32,
    inner: Option<Fft>,
    frames_in: u64,
}

/// The rubato state used when the input rate differs from 16 kHz.
struct Fft {
    resampler: FftFixedIn<f32>,
    /// Input frames per rubato call.
    chunk_in: usize,
    /// Input not yet handed to rubato (less than one chunk after each push).
    pending: Vec<f32>,
    /// rubato's output buffer, reused.
    scratch: Vec<Vec<f32>>,
    /// Leading output samples still to drop (the filter delay).
    skip: usize,
    /// Output samples emitted so far.
    frames_out: u64,
}

impl MonoResampler {
    /// A resampler from `rate_in` Hz to 16 kHz.
    pub(super) fn new(rate_in: u32) -> Result<Self, AudioError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate_in) {
            return Err(AudioError::Unsupported {
                what: format!("sample rate {rate_in} Hz"),
                remedy: super::Remedy::None,
            });
        }
        let inner = if rate_in == SAMPLE_RATE {
            None
        } else {
            Some(Fft::new(rate_in)?)
        };
        Ok(MonoResampler {
            rate_in,
            inner,
            frames_in: 0,
        })
    }

    /// The input rate.
    pub(super) fn rate_in(&self) -> u32 {
        self.rate_in
    }

    /// Resamples `input` and appends what is ready to `out`.
    pub(super) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.frames_in += input.len() as u64;
        match &mut self.inner {
            None => extend_checked(out, input),
            Some(fft) => fft.push(input, out),
        }
    }

    /// Flushes the filter tail and trims the output to exactly match the input duration.
    pub(super) fn finish(self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(mut fft) = self.inner else {
            return Ok(());
        };
        let wanted = self.frames_in * u64::from(SAMPLE_RATE);
        let wanted = (wanted + u64::from(self.rate_in) / 2) / u64::from(self.rate_in);
        fft.flush(wanted, out)?;
        let extra = fft.frames_out.saturating_sub(wanted);
        let keep = out
            .len()
            .saturating_sub(usize::try_from(extra).unwrap_or(usize::MAX));
        out.truncate(keep);
        Ok(())
    }
}

/// An input chunk of about [`TARGET_CHUNK_IN`] frames that is exactly one rubato FFT block
/// (a multiple of `rate / gcd(rate, 16000)`). Both the input and the output block are even:
/// rubato centres its filter at input sample `block_in / 2`, so the delay is then exactly
/// `block_out / 2` output samples (its `output_delay()`) and can be removed without a
/// fractional-sample shift.
fn chunk_size(rate_in: u32) -> usize {
    let (rate_in, rate_out) = (rate_in as usize, SAMPLE_RATE as usize);
    let gcd = gcd(rate_in, rate_out);
    let unit_in = rate_in / gcd;
    let mut blocks = TARGET_CHUNK_IN.div_ceil(unit_in);
    blocks += blocks % 2;
    blocks * unit_in
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Fft {
    fn new(rate_in: u32) -> Result<Self, AudioError> {
        let chunk_in = chunk_size(rate_in);
        let resampler =
            FftFixedIn::<f32>::new(rate_in as usize, SAMPLE_RATE as usize, chunk_in, 1, 1)
                .map_err(|e| AudioError::Internal(format!("resampler for {rate_in} Hz: {e}")))?;
        let scratch = resampler.output_buffer_allocate(true);
        let skip = resampler.output_delay();
        Ok(Fft {
            resampler,
            chunk_in,
            pending: Vec::with_capacity(chunk_in),
            scratch,
            skip,
            frames_out: 0,
        })
    }

    fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        let mut input = input;
        // Fill up a partial chunk first, then feed whole chunks straight from `input`.
        if !self.pending.is_empty() {
            let take = (self.chunk_in - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < self.chunk_in {
                return Ok(());
            }
            let chunk = std::mem::take(&mut self.pending);
            self.process(&chunk, out)?;
            self.pending = chunk;
            self.pending.clear();
        }
        let mut chunks = input.chunks_exact(self.chunk_in);
        for chunk in chunks.by_ref() {
            self.process(chunk, out)?;
        }
        self.pending.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Pushes zeros after the pending input until `wanted` samples have been emitted.
    fn flush(&mut self, wanted: u64, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let mut chunk = std::mem::take(&mut self.pending);
        chunk.resize(self.chunk_in, 0.0);
        // Each chunk yields at least one FFT block once the delay is passed; bound the loop
        // anyway so a logic error cannot spin forever.
        let max_rounds = 4 + (self.skip + self.resampler.output_frames_max()) / self.chunk_in * 4;
        for _ in 0..max_rounds.max(16) {
            if self.frames_out >= wanted {
                return Ok(());
            }
            self.process(&chunk, out)?;
            chunk.fill(0.0);
        }
        Err(AudioError::Internal(
            "resampler did not flush its output".into(),
        ))
    }

    /// Resamples exactly one chunk of `chunk_in` frames.
    fn process(&mut self, chunk: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        let (_, produced) = self
            .resampler
            .process_into_buffer(&[chunk], &mut self.scratch, None)
            .map_err(|e| AudioError::Internal(format!("resampler: {e}")))?;
        let ready = &self.scratch[0][..produced];
        let dropped = self.skip.min(ready.len());
        self.skip -= dropped;
        let ready = &ready[dropped..];
        self.frames_out += ready.len() as u64;
        extend_checked(out, ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    fn sine(freq: f32, rate: u32, seconds: f32, amplitude: f32) -> Vec<f32> {
        let n = (seconds * rate as f32).round() as usize;
        (0..n)
            .map(|i| amplitude * (2.0 * PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Resamples `input` in uneven pieces, as packets would arrive.
    fn resample(input: &[f32], rate: u32) -> Vec<f32> {
        let mut r = MonoResampler::new(rate).unwrap();
        let mut out = Vec::new();
        let mut rest = input;
        let sizes = [1usize, 577, 1152, 4096, 3, 1024];
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = (*size).min(rest.len());
            r.push(&rest[..n], &mut out).unwrap();
            rest = &rest[n..];
        }
        r.finish(&mut out).unwrap();
        out
    }

    /// Magnitude of the DFT bin at `freq` (Goertzel), normalised to the sine amplitude.
    fn goertzel_amplitude(x: &[f32], freq: f32, rate: f32) -> f32 {
        let w = 2.0 * PI * freq / rate;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let coeff = 2.0 * (w as f64).cos();
        for &v in x {
            let s0 = v as f64 + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        (2.0 * power.sqrt() / x.len() as f64) as f32
    }

    fn zero_crossings(x: &[f32]) -> usize {
        x.windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    fn check_sine_after_resampling(rate: u32) {
        let input = sine(1000.0, rate, 2.0, 0.5);
        let out = resample(&input, rate);
        assert!(
            (out.len() as i64 - 32_000).abs() <= 2,
            "{rate} Hz: {} samples",
            out.len()
        );
        // Ignore the edges, where the zero padding of the filter shows.
        let mid = &out[800..out.len() - 800];
        let amp = goertzel_amplitude(mid, 1000.0, 16_000.0);
        assert!((amp - 0.5).abs() < 0.5 * 0.03, "{rate} Hz: amplitude {amp}");
        let off = goertzel_amplitude(mid, 1100.0, 16_000.0);
        assert!(off < 0.02, "{rate} Hz: energy at 1.1 kHz {off}");
        let seconds = mid.len() as f32 / 16_000.0;
        let freq = zero_crossings(mid) as f32 / 2.0 / seconds;
        assert!(
            (freq - 1000.0).abs() < 5.0,
            "{rate} Hz: {freq} Hz by zero crossings"
        );
        // Aligned in time: compare with an ideal 16 kHz sine of the same phase.
        let ideal = sine(1000.0, 16_000, 2.0, 0.5);
        let err = mid
            .iter()
            .zip(&ideal[800..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("{rate} Hz: amplitude {amp:.4}, {freq:.1} Hz, max deviation {err:.5}");
        assert!(err < 0.005, "{rate} Hz: max deviation from ideal {err}");
    }

    #[test]
    fn sine_44k_to_16k_keeps_frequency_amplitude_length_and_phase() {
        check_sine_after_resampling(44_100);
    }

    #[test]
    fn sine_8k_to_16k_keeps_frequency_amplitude_length_and_phase() {
        check_sine_after_resampling(8_000);
    }

    #[test]
    fn sine_at_other_rates_to_16k() {
        for rate in [48_000, 32_000, 22_050, 11_025, 96_000, 44_101, 7_999] {
            check_sine_after_resampling(rate);
        }
    }

    #[test]
    fn chunk_sizes_give_even_output_blocks() {
        for rate in [
            8_000u32, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000, 44_101,
        ] {
            let chunk = chunk_size(rate);
            let out = chunk * 16_000 / rate as usize;
            assert_eq!(chunk * 16_000 % rate as usize, 0, "{rate}");
            assert_eq!((chunk % 2, out % 2), (0, 0), "{rate}: {chunk} -> {out}");
        }
    }

    #[test]
    fn removes_frequencies_above_8k() {
        // A 12 kHz tone at 44.1 kHz must not alias into the 16 kHz output (to 4 kHz).
        let out = resample(&sine(12_000.0, 44_100, 1.0, 0.5), 44_100);
        let rms = (out.iter().map(|v| v * v).sum::<f32>() / out.len() as f32).sqrt();
        assert!(rms < 0.01, "aliasing: rms {rms}");
    }

    #[test]
    fn passthrough_at_16k_is_exact() {
        let input = sine(440.0, 16_000, 1.3, 0.7);
        assert_eq!(resample(&input, 16_000), input);
    }

    #[test]
    fn short_and_empty_inputs() {
        assert!(resample(&[], 44_100).is_empty());
        let out = resample(&[0.1; 10], 44_100);
        assert_eq!(out.len(), 4);
    }

    fn planar_buffer<S: Sample>(channels: &[&[S]], rate: u32) -> AudioBuffer<S> {
        use symphonia::core::audio::{Channels, SignalSpec};
        let layout = [
            Channels::FRONT_LEFT,
            Channels::FRONT_RIGHT,
            Channels::FRONT_CENTRE,
        ];
        let mask = layout[..channels.len()]
            .iter()
            .fold(Channels::empty(), |acc, c| acc | *c);
        let frames = channels[0].len();
        let mut buf = AudioBuffer::new(frames as u64, SignalSpec::new(rate, mask));
        buf.render_reserved(Some(frames));
        for (ch, data) in channels.iter().enumerate() {
            buf.chan_mut(ch).copy_from_slice(data);
        }
        buf
    }

    #[test]
    fn stereo_downmix_averages_channels() {
        let mut out = Vec::new();
        let stereo = planar_buffer::<f32>(&[&[1.0, 0.5, -1.0], &[0.0, 0.5, 1.0]], 44_100);
        downmix(
            &AudioBufferRef::F32(std::borrow::Cow::Borrowed(&stereo)),
            &mut out,
        );
        assert_eq!(out, vec![0.5, 0.5, 0.0]);
        let three = planar_buffer::<f32>(&[&[0.3], &[0.6], &[0.9]], 8_000);
        downmix(
            &AudioBufferRef::F32(std::borrow::Cow::Borrowed(&three)),
            &mut out,
        );
        assert!((out[0] - 0.6).abs() < 1e-6);
        let mono16 = planar_buffer::<i16>(&[&[16_384, -32_768]], 16_000);
        downmix(
            &AudioBufferRef::S16(std::borrow::Cow::Borrowed(&mono16)),
            &mut out,
        );
        assert_eq!(out, vec![0.5, -1.0]);
    }

    #[test]
    fn refuses_absurd_rates() {
        assert!(MonoResampler::new(0).is_err());
        assert!(MonoResampler::new(10_000_000).is_err());
    }
}
