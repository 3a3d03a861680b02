//! The whisper.cpp ggml model file writer: header, mel filterbank, vocabulary, then tensor
//! records (`n_dims, name_len, type, dims (fastest first), name, data`), little endian.

use std::io::{self, Write};

use half::f16;

use super::hparams::Hparams;
use super::q8_0;

/// "ggml", as whisper.cpp's loader expects it first.
pub const MAGIC: u32 = 0x6767_6d6c;
/// ggml's quantisation version (`GGML_QNT_VERSION`), folded into a quantised file's ftype.
const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;

/// Element types of a tensor record (`ggml_type` ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

/// The header's `ftype`: the type of the big matrices (`ggml_ftype`), plus the quantisation
/// version for quantised files (`GGML_FTYPE_MOSTLY_Q8_0 = 7` -> 2007).
pub fn ftype(matrices: GgmlType) -> i32 {
    match matrices {
        GgmlType::F32 => 0,
        GgmlType::F16 => 1,
        GgmlType::Q8_0 => QNT_VERSION * QNT_VERSION_FACTOR + 7,
    }
}

fn put_i32(w: &mut impl Write, v: i32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

/// A size as the i32 ggml stores; sizes come from checked shapes, so this only guards.
fn to_i32(n: usize) -> io::Result<i32> {
    i32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "size exceeds i32"))
}

/// Magic, the ten sizes and the ftype.
pub fn write_header(w: &mut impl Write, hp: &Hparams, matrices: GgmlType) -> io::Result<()> {
    w.write_all(&MAGIC.to_le_bytes())?;
    for field in hp.header_fields() {
        put_i32(w, to_i32(field as usize)?)?;
    }
    put_i32(w, ftype(matrices))
}

/// `n_mel`, `n_fft` (frequency bins), then the row-major f32 filterbank.
pub fn write_mel(w: &mut impl Write, n_mel: usize, n_freqs: usize, bank: &[f32]) -> io::Result<()> {
    put_i32(w, to_i32(n_mel)?)?;
    put_i32(w, to_i32(n_freqs)?)?;
    let bytes: Vec<u8> = bank.iter().flat_map(|v| v.to_le_bytes()).collect();
    w.write_all(&bytes)
}

/// Token count, then each token as a length and its raw bytes.
pub fn write_vocab(w: &mut impl Write, tokens: &[Vec<u8>]) -> io::Result<()> {
    put_i32(w, to_i32(tokens.len())?)?;
    for token in tokens {
        put_i32(w, to_i32(token.len())?)?;
        w.write_all(token)?;
    }
    Ok(())
}

/// One tensor record. `shape` is row-major; ggml lists dimensions fastest-first, so reversed.
pub fn write_tensor(
    w: &mut impl Write,
    name: &str,
    shape: &[usize],
    ty: GgmlType,
    data: &[f32],
) -> io::Result<()> {
    put_i32(w, to_i32(shape.len())?)?;
    put_i32(w, to_i32(name.len())?)?;
    put_i32(w, ty as i32)?;
    for &dim in shape.iter().rev() {
        put_i32(w, to_i32(dim)?)?;
    }
    w.write_all(name.as_bytes())?;
    w.write_all(&encode(ty, data))
}

/// The tensor's data in `ty`.
pub fn encode(ty: GgmlType, data: &[f32]) -> Vec<u8> {
    match ty {
        GgmlType::F32 => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        GgmlType::F16 => data
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect(),
        GgmlType::Q8_0 => {
            let mut out = Vec::new();
            q8_0::quantize(data, &mut out);
            out
        }
    }
}

/// Passes writes through and counts the bytes, for the import summary.
pub struct CountingWriter<W> {
    inner: W,
    pub count: u64,
}

impl<W: Write> CountingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, count: 0 }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i32s(bytes: &[u8]) -> Vec<i32> {
        bytes
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn ftype_folds_in_the_quantisation_version() {
        assert_eq!(ftype(GgmlType::F16), 1);
        assert_eq!(ftype(GgmlType::Q8_0), 2007);
    }

    #[test]
    fn a_tensor_record_lists_dims_fastest_first() {
        let mut out = Vec::new();
        write_tensor(&mut out, "enc.b", &[3, 1], GgmlType::F32, &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(i32s(&out[..20]), vec![2, 5, 0, 1, 3]);
        assert_eq!(&out[20..25], b"enc.b");
        assert_eq!(out.len(), 25 + 12);
        let mut out = Vec::new();
        write_tensor(&mut out, "w", &[2, 3, 4], GgmlType::F16, &[0.5; 24]).unwrap();
        assert_eq!(i32s(&out[..24]), vec![3, 1, 1, 4, 3, 2]);
        assert_eq!(&out[25..27], &f16::from_f32(0.5).to_le_bytes());
        assert_eq!(out.len(), 25 + 48);
    }

    #[test]
    fn header_mel_and_vocab_layout() {
        let hp = Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
        };
        let mut out = Vec::new();
        write_header(&mut out, &hp, GgmlType::Q8_0).unwrap();
        assert_eq!(&out[..4], b"lmgg");
        assert_eq!(i32s(&out[4..])[10], 2007);
        let mut out = Vec::new();
        write_mel(&mut out, 1, 2, &[0.25, 0.5]).unwrap();
        assert_eq!(out.len(), 16);
        let mut out = Vec::new();
        write_vocab(&mut out, &[b"ab".to_vec(), vec![]]).unwrap();
        assert_eq!(out, [2, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
    }
}
