//! The one error type of the CTranslate2 -> ggml converter: every variant names the file or tensor.

use std::io;
use std::path::PathBuf;

/// Why an import failed. Messages read as `model.bin: truncated at byte 1234 while reading ...`.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Reading an input or writing the output failed at the OS level.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    /// The folder given is not a CTranslate2 model folder.
    #[error("{}: not a CTranslate2 model folder ({what})", dir.display())]
    NotModelDir { dir: PathBuf, what: String },

    /// A file ends before a field it announces.
    #[error("{file}: truncated at byte {offset} while reading {what}")]
    Truncated {
        file: &'static str,
        offset: u64,
        what: String,
    },

    /// `model.bin` is in a binary layout this reader does not know.
    #[error("{file}: unsupported CTranslate2 binary version {found} (expected {expected})")]
    UnsupportedVersion {
        file: &'static str,
        found: u32,
        expected: u32,
    },

    /// An input file is readable but its content is wrong (bad JSON, unknown dtype, ...).
    #[error("{file}: {what}")]
    Malformed { file: &'static str, what: String },

    /// A variable whisper.cpp needs is not in `model.bin`.
    #[error("missing tensor {0}")]
    MissingTensor(String),

    /// A variable is present but has the wrong shape or element type.
    #[error("tensor {name}: {what}")]
    BadTensor { name: String, what: String },

    /// The CTranslate2 model was quantised to int8; its scales cannot be mapped onto ggml.
    #[error(
        "tensor {name} is int8 (an int8-quantized CTranslate2 model): \
         convert the original model with --quantization float16 or float32 instead"
    )]
    Int8Quantized { name: String },
}

impl ConvertError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_tensor(name: &str, what: impl Into<String>) -> Self {
        Self::BadTensor {
            name: name.to_owned(),
            what: what.into(),
        }
    }
}
