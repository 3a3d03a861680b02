//! The mel filterbank whisper.cpp reads from the model file: Slaney-style mel scale with
//! Slaney area normalisation, as `librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)` computes
//! (which is what OpenAI's `mel_filters.npz` holds).

/// Sample rate Whisper works at.
pub const SAMPLE_RATE: f64 = 16000.0;
/// FFT size of Whisper's 25 ms window.
pub const N_FFT: usize = 400;
/// Frequency bins of that FFT: `1 + N_FFT / 2`.
pub const N_FREQS: usize = N_FFT / 2 + 1;

// Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// `n` frequencies evenly spaced on the mel scale from 0 Hz to `fmax` (numpy's linspace).
fn mel_frequencies(n: usize, fmax: f64) -> Vec<f64> {
    let max_mel = hz_to_mel(fmax);
    let step = max_mel / (n - 1) as f64;
    let mut mels: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
    mels[n - 1] = max_mel;
    mels.into_iter().map(mel_to_hz).collect()
}

/// The `n_mels x N_FREQS` filterbank, row-major.
pub fn filterbank(n_mels: usize) -> Vec<f32> {
    let fft_freqs: Vec<f64> = (0..N_FREQS)
        .map(|k| k as f64 * (SAMPLE_RATE / N_FFT as f64))
        .collect();
    let mel_f = mel_frequencies(n_mels + 2, SAMPLE_RATE / 2.0);
    let mut weights = Vec::with_capacity(n_mels * N_FREQS);
    for i in 0..n_mels {
        let (lo, mid, hi) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let enorm = 2.0 / (hi - lo);
        for &f in &fft_freqs {
            let lower = (f - lo) / (mid - lo);
            let upper = (hi - f) / (hi - mid);
            // librosa stores the triangle in f32, then scales it in f64: round the same way.
            let tri = lower.min(upper).max(0.0) as f32;
            weights.push((f64::from(tri) * enorm) as f32);
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bank: &[f32], i: usize) -> &[f32] {
        &bank[i * N_FREQS..(i + 1) * N_FREQS]
    }

    #[test]
    fn slaney_scale_is_linear_to_1khz_then_logarithmic() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(200.0) - 3.0).abs() < 1e-12);
        // 6.4 kHz is exactly 27 log steps above 1 kHz.
        assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-12);
        for hz in [0.0, 37.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
    }

    #[test]
    fn first_row_is_nonzero_only_at_the_40_hz_bin() {
        // Centres step by hz_to_mel(8000) / 81 mels; in the linear part that is 37.24 Hz, so
        // row 0 rises over 0..37.24 Hz and falls to 0 at 74.48 Hz: of the bins every 40 Hz,
        // only bin 1 (40 Hz) lies inside, on the falling edge.
        let bank = filterbank(80);
        let step_hz = hz_to_mel(8000.0) / 81.0 * F_SP;
        let expected = (2.0 * step_hz - 40.0) / step_hz * (2.0 / (2.0 * step_hz));
        let r0 = row(&bank, 0);
        assert!((f64::from(r0[1]) - expected).abs() < 1e-7, "{}", r0[1]);
        assert!((r0[1] - 0.024_862_6).abs() < 1e-6);
        assert!(r0.iter().enumerate().all(|(k, &w)| (k == 1) == (w > 0.0)));
        // Row 1 spans 37.24..111.72 Hz: bins 1 and 2 (values as in OpenAI's mel_filters.npz).
        let r1 = row(&bank, 1);
        assert!((r1[1] - 0.001_990_82).abs() < 1e-7 && (r1[2] - 0.022_871_77).abs() < 1e-7);
        assert!(r1
            .iter()
            .enumerate()
            .all(|(k, &w)| (k == 1 || k == 2) == (w > 0.0)));
    }

    #[test]
    fn rows_peak_at_their_centre() {
        let bank = filterbank(80);
        let mel_f = mel_frequencies(82, 8000.0);
        for i in 0..80 {
            let r = row(&bank, i);
            assert!(r.iter().all(|&w| w >= 0.0));
            let peak = (0..N_FREQS).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
            let nearest = (mel_f[i + 1] / 40.0).round() as usize;
            assert!(
                peak.abs_diff(nearest) <= 1,
                "row {i}: peak {peak}, centre bin {nearest}"
            );
        }
    }

    #[test]
    fn unnormalised_triangles_add_up_to_one_between_the_outer_centres() {
        // Each triangle falls exactly as its neighbour rises, so once the Slaney factor
        // 2 / width is undone the rows sum to 1 at every bin from centre 0 to centre 79.
        let bank = filterbank(80);
        let mel_f = mel_frequencies(82, 8000.0);
        let bins = (0..N_FREQS).filter(|&k| (mel_f[1]..=mel_f[80]).contains(&(k as f64 * 40.0)));
        for k in bins {
            let sum: f64 = (0..80)
                .map(|i| f64::from(row(&bank, i)[k]) * (mel_f[i + 2] - mel_f[i]) / 2.0)
                .sum();
            assert!((sum - 1.0).abs() < 1e-5, "bin {k}: {sum}");
        }
    }

    #[test]
    fn supports_128_bands_for_large_v3() {
        let bank = filterbank(128);
        assert_eq!(bank.len(), 128 * N_FREQS);
        assert!(row(&bank, 127).iter().any(|&w| w > 0.0));
    }
}
