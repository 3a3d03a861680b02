//! `model import`: converts an OpenAI Whisper model in CTranslate2 format (faster-whisper's)
//! into the ggml `.bin` whisper.cpp loads; this file orchestrates the steps.

mod binreader;
mod ct2;
mod dtype;
mod error;
mod ggml;
mod hparams;
mod mapping;
mod mel;
mod q8_0;
mod vocab;

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::fsutil;

use ct2::Ct2Model;
pub use error::ConvertError;
use ggml::{CountingWriter, GgmlType};
use hparams::Hparams;
use mapping::{Kind, Planned};

/// How the big weight matrices are stored in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quantize {
    #[default]
    F16,
    Q8_0,
}

impl Quantize {
    fn matrix_type(self) -> GgmlType {
        match self {
            Self::F16 => GgmlType::F16,
            Self::Q8_0 => GgmlType::Q8_0,
        }
    }
}

/// A `--quantize` value that is neither `f16` nor `q8_0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quantization {0:?} (expected f16 or q8_0)")]
pub struct UnknownQuantize(pub String);

impl FromStr for Quantize {
    type Err = UnknownQuantize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(Self::F16),
            "q8_0" | "q8" => Ok(Self::Q8_0),
            _ => Err(UnknownQuantize(s.to_owned())),
        }
    }
}

impl fmt::Display for Quantize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
        })
    }
}

/// What an import wrote.
#[derive(Debug)]
pub struct ImportSummary {
    pub tensors: usize,
    pub n_vocab: u32,
    pub n_audio_layer: u32,
    pub n_text_layer: u32,
    pub n_audio_state: u32,
    pub bytes_written: u64,
}

/// Converts the CTranslate2 Whisper model in `ct2_dir` (`model.bin`, `tokenizer.json`) into a
/// whisper.cpp model at `out`, written atomically. Everything is checked before writing starts.
pub fn import_ct2(
    ct2_dir: &Path,
    out: &Path,
    quantize: Quantize,
) -> Result<ImportSummary, ConvertError> {
    let mut model = Ct2Model::open(&model_file(ct2_dir)?)?;
    let hp = Hparams::from_model(&mut model)?;
    let plan = mapping::plan(&hp);
    mapping::check_sources(&plan, &model)?;
    check_types(&plan, &model, quantize)?;
    let tokens = vocab::load(&ct2_dir.join(vocab::FILE), hp.n_vocab)?;
    let bank = mel::filterbank(hp.n_mels as usize);
    let parts = Parts {
        hp: &hp,
        plan: &plan,
        tokens: &tokens,
        bank: &bank,
        quantize,
    };
    let bytes_written = write_model(out, &parts, &mut model)?;
    Ok(ImportSummary {
        tensors: plan.len(),
        n_vocab: hp.n_vocab,
        n_audio_layer: hp.n_audio_layer,
        n_text_layer: hp.n_text_layer,
        n_audio_state: hp.n_audio_state,
        bytes_written,
    })
}

/// `ct2_dir/model.bin`, after checking that the folder exists and holds one.
fn model_file(ct2_dir: &Path) -> Result<PathBuf, ConvertError> {
    let meta = fs::metadata(ct2_dir).map_err(|e| ConvertError::io(ct2_dir, e))?;
    let not_model = |what: &str| ConvertError::NotModelDir {
        dir: ct2_dir.to_path_buf(),
        what: what.to_owned(),
    };
    if !meta.is_dir() {
        return Err(not_model("not a folder"));
    }
    let path = ct2_dir.join(ct2::FILE);
    if !path.is_file() {
        return Err(not_model("no model.bin"));
    }
    Ok(path)
}

/// The ggml type a planned tensor is written in.
fn tensor_type(kind: Kind, quantize: Quantize) -> GgmlType {
    match kind {
        Kind::Matrix => quantize.matrix_type(),
        Kind::Conv => GgmlType::F16,
        Kind::F32 => GgmlType::F32,
    }
}

/// Every source holds floats, and q8_0 rows split into whole blocks.
fn check_types<R: Read + Seek>(
    plan: &[Planned],
    model: &Ct2Model<R>,
    quantize: Quantize,
) -> Result<(), ConvertError> {
    for t in plan {
        model.require_float(&t.source)?;
        let row = t.shape.last().copied().unwrap_or(1);
        if tensor_type(t.kind, quantize) == GgmlType::Q8_0 && row % q8_0::BLOCK != 0 {
            let what = format!("rows of {row} values do not split into q8_0 blocks of 32");
            return Err(ConvertError::bad_tensor(&t.source, what));
        }
    }
    Ok(())
}

/// Everything that goes into the output besides the tensor data.
struct Parts<'a> {
    hp: &'a Hparams,
    plan: &'a [Planned],
    tokens: &'a [Vec<u8>],
    bank: &'a [f32],
    quantize: Quantize,
}

/// Writes `out` atomically; returns its size. A failure leaves `out` untouched.
fn write_model<R: Read + Seek>(
    out: &Path,
    parts: &Parts<'_>,
    model: &mut Ct2Model<R>,
) -> Result<u64, ConvertError> {
    // `atomic_write_with` speaks io::Error; keep the real error to return it unchanged.
    let mut failure = None;
    let mut written = 0;
    let result = fsutil::atomic_write_with(out, |w| {
        let mut counter = CountingWriter::new(w);
        let body = write_body(&mut counter, out, parts, model);
        written = counter.count;
        body.map_err(|e| {
            let io = io::Error::other(e.to_string());
            failure = Some(e);
            io
        })
    });
    match (result, failure) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(ConvertError::io(out, e)),
        (Ok(()), None) => Ok(written),
    }
}

fn write_body<W: Write, R: Read + Seek>(
    w: &mut W,
    out: &Path,
    parts: &Parts<'_>,
    model: &mut Ct2Model<R>,
) -> Result<(), ConvertError> {
    let io_err = |e| ConvertError::io(out, e);
    let n_mels = parts.hp.n_mels as usize;
    ggml::write_header(w, parts.hp, parts.quantize.matrix_type()).map_err(io_err)?;
    ggml::write_mel(w, n_mels, mel::N_FREQS, parts.bank).map_err(io_err)?;
    ggml::write_vocab(w, parts.tokens).map_err(io_err)?;
    for t in parts.plan {
        let data = mapping::load(t, model)?;
        let ty = tensor_type(t.kind, parts.quantize);
        ggml::write_tensor(w, &t.name, &t.shape, ty, &data).map_err(io_err)?;
    }
    Ok(())
}
