//! Command-line interface: every subcommand and its options.

use crate::transcript::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "voiceflowd",
    version,
    about = "Local batch-transcription daemon (whisper.cpp)"
)]
pub struct Cli {
    /// Log level when RUST_LOG is not set (error, warn, info, debug, trace) [default: the
    /// config's log_level for `run`, else info].
    #[arg(long, global = true)]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: watch the inboxes, transcribe, write outboxes.
    Run(ConfigArg),
    /// Validate a config file and print the effective configuration (exit 78 when invalid).
    CheckConfig(ConfigArg),
    /// Transcribe files once, loading the model once for all of them.
    Transcribe(TranscribeArgs),
    /// Manage whisper models.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(long, short = 'c', env = "VOICEFLOWD_CONFIG", default_value = crate::config::DEFAULT_PATH)]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Audio or video files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// whisper.cpp ggml model (see `voiceflowd model import`).
    #[arg(long, env = "VOICEFLOWD_MODEL")]
    pub model: PathBuf,
    /// Folder for the transcripts (default: beside each input).
    #[arg(long, short = 'o')]
    pub output_dir: Option<PathBuf>,
    /// Output formats, comma separated.
    #[arg(long, default_value = "txt,srt,vtt,json", value_parser = parse_formats)]
    pub formats: FormatList,
    /// Spoken language (ISO code), or `auto` to detect it.
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Files transcribed at once (default 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// CPU threads per file (default: available cores / workers).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Beam width; 1 means greedy decoding.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub beam_size: u16,
}

/// A parsed `--formats` list (clap needs a single value type).
#[derive(Debug, Clone)]
pub struct FormatList(pub Vec<Format>);

fn parse_formats(s: &str) -> Result<FormatList, String> {
    Format::parse_list(s)
        .map(FormatList)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Convert a CTranslate2 (faster-whisper) Whisper model folder to a whisper.cpp model.
    Import {
        /// Folder with model.bin, config.json and tokenizer.json.
        ct2_dir: PathBuf,
        /// Output model file (.bin).
        #[arg(long, short = 'o')]
        output: PathBuf,
        /// Weight type: f16 (exact) or q8_0 (smaller, faster, near-identical accuracy).
        #[arg(long, default_value = "f16")]
        quantize: crate::convert::Quantize,
    },
}
