//! Whisper hyper-parameters, derived from the shapes and settings stored in `model.bin`
//! (a CTranslate2 `config.json` holds none of them).

use std::io::{Read, Seek};

use super::ct2::Ct2Model;
use super::error::ConvertError;

/// The sizes whisper.cpp reads from a ggml file header, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: u32,
    pub n_audio_ctx: u32,
    pub n_audio_state: u32,
    pub n_audio_head: u32,
    pub n_audio_layer: u32,
    pub n_text_ctx: u32,
    pub n_text_state: u32,
    pub n_text_head: u32,
    pub n_text_layer: u32,
    pub n_mels: u32,
}

impl Hparams {
    pub fn from_model<R: Read + Seek>(m: &mut Ct2Model<R>) -> Result<Self, ConvertError> {
        let enc_pe = "encoder/position_encodings/encodings";
        let dec_pe = "decoder/position_encodings/encodings";
        let emb = "decoder/embeddings/weight";
        let n_audio_state = dim(m, enc_pe, 2, 1)?;
        let n_text_state = dim(m, emb, 2, 1)?;
        if n_audio_state != n_text_state {
            let what = format!("width {n_text_state} differs from the encoder's {n_audio_state}");
            return Err(ConvertError::bad_tensor(emb, what));
        }
        Ok(Self {
            n_vocab: dim(m, emb, 2, 0)?,
            n_audio_ctx: dim(m, enc_pe, 2, 0)?,
            n_audio_state,
            n_audio_head: heads(m, "encoder/num_heads", n_audio_state)?,
            n_audio_layer: count_layers(m, "encoder")?,
            n_text_ctx: dim(m, dec_pe, 2, 0)?,
            n_text_state,
            n_text_head: heads(m, "decoder/num_heads", n_text_state)?,
            n_text_layer: count_layers(m, "decoder")?,
            n_mels: mel_bands(m)?,
        })
    }

    /// The header fields in the order whisper.cpp reads them (ftype follows separately).
    pub fn header_fields(&self) -> [u32; 10] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
        ]
    }
}

/// Axis `axis` of `name`, which must have rank `rank`, as a size that fits ggml's i32 fields.
fn dim<R: Read + Seek>(
    m: &Ct2Model<R>,
    name: &str,
    rank: usize,
    axis: usize,
) -> Result<u32, ConvertError> {
    let shape = m.shape(name)?;
    if shape.len() != rank {
        let what = format!("expected {rank} dimensions, found shape {shape:?}");
        return Err(ConvertError::bad_tensor(name, what));
    }
    match u32::try_from(shape[axis]) {
        Ok(n) if n > 0 && n <= i32::MAX as u32 => Ok(n),
        _ => Err(ConvertError::bad_tensor(
            name,
            format!("bad shape {shape:?}"),
        )),
    }
}

/// Mel bands: conv1's input channels. Whisper uses 80 (128 for large-v3); a bound keeps a
/// hostile file from making the filterbank huge.
fn mel_bands<R: Read + Seek>(m: &Ct2Model<R>) -> Result<u32, ConvertError> {
    const CONV1: &str = "encoder/conv1/weight";
    const MAX_MELS: u32 = 256;
    let n = dim(m, CONV1, 3, 1)?;
    if n > MAX_MELS {
        let what = format!("{n} mel bands, more than any Whisper model ({MAX_MELS} at most)");
        return Err(ConvertError::bad_tensor(CONV1, what));
    }
    Ok(n)
}

fn heads<R: Read + Seek>(m: &mut Ct2Model<R>, name: &str, state: u32) -> Result<u32, ConvertError> {
    let n = m.read_int(name)?;
    match u32::try_from(n) {
        Ok(h) if h > 0 && state % h == 0 => Ok(h),
        _ => {
            let what = format!("{n} heads do not divide the width {state}");
            Err(ConvertError::bad_tensor(name, what))
        }
    }
}

/// Counts `side/layer_0`, `side/layer_1`, ... until one is missing; at least one must exist.
fn count_layers<R: Read + Seek>(m: &Ct2Model<R>, side: &str) -> Result<u32, ConvertError> {
    let probe = |i: u32| format!("{side}/layer_{i}/self_attention/linear_0/weight");
    let mut n = 0;
    while m.contains(&probe(n)) {
        n += 1;
    }
    if n == 0 {
        return Err(ConvertError::MissingTensor(probe(0)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::ct2::tests::{build, f32_bytes};
    use std::io::Cursor;
    use std::path::PathBuf;

    fn zeros(shape: &[u32]) -> Vec<u8> {
        f32_bytes(&vec![0.0; shape.iter().product::<u32>() as usize])
    }

    fn model(heads: u16, dec_width: u32, mels: u32) -> Ct2Model<Cursor<Vec<u8>>> {
        let shapes: [(&str, &[u32]); 6] = [
            ("encoder/position_encodings/encodings", &[15, 8]),
            ("decoder/position_encodings/encodings", &[4, 8]),
            ("decoder/embeddings/weight", &[10, dec_width]),
            ("encoder/conv1/weight", &[8, mels, 3]),
            ("encoder/layer_0/self_attention/linear_0/weight", &[24, 8]),
            ("decoder/layer_0/self_attention/linear_0/weight", &[24, 8]),
        ];
        let mut vars: Vec<(&str, &[u32], u8, Vec<u8>)> =
            shapes.iter().map(|(n, s)| (*n, *s, 0, zeros(s))).collect();
        vars.push(("encoder/num_heads", &[], 2, heads.to_le_bytes().to_vec()));
        vars.push(("decoder/num_heads", &[], 2, heads.to_le_bytes().to_vec()));
        let bytes = build(6, &vars, &[]);
        let len = bytes.len() as u64;
        Ct2Model::from_reader(Cursor::new(bytes), len, PathBuf::from("model.bin")).unwrap()
    }

    #[test]
    fn derives_every_size_from_shapes_and_settings() {
        let hp = Hparams::from_model(&mut model(2, 8, 5)).unwrap();
        assert_eq!(hp.header_fields(), [10, 15, 8, 2, 1, 4, 8, 2, 1, 5]);
    }

    #[test]
    fn rejects_heads_that_do_not_divide_the_width() {
        let err = Hparams::from_model(&mut model(3, 8, 5)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor encoder/num_heads: 3 heads do not divide the width 8"
        );
    }

    #[test]
    fn rejects_encoder_and_decoder_of_different_widths() {
        let err = Hparams::from_model(&mut model(2, 16, 5)).unwrap_err();
        assert!(err.to_string().contains("differs from the encoder's 8"));
    }

    #[test]
    fn rejects_an_absurd_number_of_mel_bands() {
        let err = Hparams::from_model(&mut model(2, 8, 300)).unwrap_err();
        assert!(err.to_string().contains("300 mel bands"), "{err}");
    }
}
