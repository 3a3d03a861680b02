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
    /// Pause a batch, an inbox or everything: no new item of it starts.
    Pause(PauseArgs),
    /// Undo a pause.
    Resume(TargetArgs),
    /// Cancel a batch: waiting and queued items are cancelled, running ones aborted.
    Cancel(BatchArgs),
    /// Queue a batch's failed and cancelled items (or one item) again.
    Retry(RetryArgs),
    /// Take an item out of its batch (its file stays unless --delete-file).
    Remove(RemoveArgs),
    /// Delete a batch from the database and its status from the outbox.
    Delete(DeleteArgs),
    /// Change a batch's priority or the number of workers.
    #[command(subcommand)]
    Set(SetCommand),
    /// List batches, newest first.
    List(ListArgs),
    /// Show progress of all batches, or one batch with its items.
    Status(StatusArgs),
}

/// How the CLI reaches the daemon: its config (control folder, outboxes) and a deadline.
#[derive(Debug, Args, Clone)]
pub struct Client {
    /// Config file of the running daemon.
    #[arg(long, short = 'c', env = "VOICEFLOWD_CONFIG", default_value = crate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// Seconds to wait for the daemon's answer.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Batch name or id.
    #[arg(required_unless_present_any = ["all", "inbox"], conflicts_with_all = ["all", "inbox"])]
    pub batch: Option<String>,
    /// Every inbox.
    #[arg(long, conflicts_with = "inbox")]
    pub all: bool,
    /// One inbox, by name.
    #[arg(long)]
    pub inbox: Option<String>,
    #[command(flatten)]
    pub client: Client,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Abort running items too (they are requeued without losing an attempt).
    #[arg(long)]
    pub now: bool,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Batch name or id.
    pub batch: String,
    #[command(flatten)]
    pub client: Client,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Batch name or id.
    pub batch: String,
    /// Only this item (its path in the batch).
    pub item: Option<String>,
    #[command(flatten)]
    pub client: Client,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Batch name or id.
    pub batch: String,
    /// The item's path in the batch.
    pub item: String,
    /// Delete the file from the inbox too.
    #[arg(long)]
    pub delete_file: bool,
    #[command(flatten)]
    pub client: Client,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Batch name or id.
    pub batch: String,
    /// Delete its transcripts from the outbox too.
    #[arg(long)]
    pub purge: bool,
    /// Delete even while items run (they are aborted).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub client: Client,
}

#[derive(Debug, Subcommand)]
pub enum SetCommand {
    /// Set a batch's priority (higher runs first).
    Priority {
        /// Batch name or id.
        batch: String,
        #[arg(allow_negative_numbers = true)]
        priority: i64,
        #[command(flatten)]
        client: Client,
    },
    /// Set the number of workers (1-10) until restart or reload.
    Concurrency {
        #[arg(value_parser = clap::value_parser!(u8).range(1..=10))]
        workers: u8,
        #[command(flatten)]
        client: Client,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only batches in this state (collecting, queued, running, paused, completed,
    /// completed_with_errors, cancelled).
    #[arg(long)]
    pub state: Option<String>,
    /// Only batches of this inbox.
    #[arg(long)]
    pub inbox: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    #[arg(long, default_value_t = 20)]
    pub per_page: usize,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: Client,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One batch (name or id); without it, every unfinished or recent batch.
    pub batch: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Redraw whenever the status changes (Ctrl-C stops).
    #[arg(long)]
    pub watch: bool,
    #[command(flatten)]
    pub client: Client,
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
