//! ggml's q8_0 quantisation, bit-exact with `quantize_row_q8_0_ref`: blocks of 32 values stored
//! as an f16 scale `d = max|x| / 127` followed by 32 `i8`s `round(x / d)` (34 bytes a block).

use half::f16;

/// Values per block.
pub const BLOCK: usize = 32;
/// Bytes per block: the f16 scale and 32 quants.
pub const BLOCK_BYTES: usize = 2 + BLOCK;

/// Appends the q8_0 encoding of `x` to `out`. `x.len()` must be a multiple of [`BLOCK`]
/// (the caller checks that rows are); a trailing partial block is not written.
pub fn quantize(x: &[f32], out: &mut Vec<u8>) {
    debug_assert_eq!(x.len() % BLOCK, 0);
    out.reserve(x.len() / BLOCK * BLOCK_BYTES);
    for block in x.chunks_exact(BLOCK) {
        quantize_block(block, out);
    }
}

fn quantize_block(block: &[f32], out: &mut Vec<u8>) {
    let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    // C's roundf rounds halves away from zero, as f32::round does; `as` saturates.
    out.extend(block.iter().map(|&v| (v * id).round() as i8 as u8));
}

/// Decodes q8_0 blocks back to floats (ggml's `dequantize_row_q8_0`), to check round trips.
#[cfg(test)]
pub fn dequantize(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / BLOCK_BYTES * BLOCK);
    for block in bytes.chunks_exact(BLOCK_BYTES) {
        let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
        out.extend(block[2..].iter().map(|&q| f32::from(q as i8) * d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_matches_hand_computed_bytes() {
        // max |x| = 127 gives d = 1 exactly (f16 0x3C00), so each quant is round(x).
        let mut x = [0.0f32; BLOCK];
        x[0] = 127.0;
        x[1] = -127.0;
        x[2] = 2.5; // halves round away from zero, like C's roundf
        x[3] = -2.5;
        x[4] = 0.49;
        x[5] = 1.51;
        let mut out = Vec::new();
        quantize(&x, &mut out);
        assert_eq!(out.len(), BLOCK_BYTES);
        assert_eq!(&out[..2], &[0x00, 0x3C]);
        assert_eq!(&out[2..8], &[127, 0x81, 3, 0xFD, 0, 2]);
        assert!(out[8..].iter().all(|&q| q == 0));
    }

    #[test]
    fn round_trips_within_half_a_step() {
        let x: Vec<f32> = (0..2 * BLOCK)
            .map(|i| ((i as f32) * 0.37).sin() * 0.05)
            .collect();
        let mut out = Vec::new();
        quantize(&x, &mut out);
        assert_eq!(out.len(), 2 * BLOCK_BYTES);
        let back = dequantize(&out);
        for (block, decoded) in x.chunks(BLOCK).zip(back.chunks(BLOCK)) {
            let d = block.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in block.iter().zip(decoded) {
                // half a step, plus the f16 rounding of d scaled by up to 127 steps
                assert!((a - b).abs() <= d * 0.5 + d * 127.0 / 1024.0, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn an_all_zero_block_has_zero_scale_and_quants() {
        let mut out = Vec::new();
        quantize(&[0.0; BLOCK], &mut out);
        assert!(out.iter().all(|&b| b == 0));
    }

    #[test]
    fn the_scale_is_stored_as_f16_of_amax_over_127() {
        let mut x = [0.0f32; BLOCK];
        x[7] = -0.3;
        x[8] = 0.1;
        let mut out = Vec::new();
        quantize(&x, &mut out);
        let d = 0.3f32 / 127.0;
        assert_eq!(&out[..2], &f16::from_f32(d).to_le_bytes());
        assert_eq!(out[2 + 7] as i8, -127);
        assert_eq!(out[2 + 8] as i8, (0.1f32 * (1.0 / d)).round() as i8);
        assert_eq!(out[2 + 8] as i8, 42);
    }
}
