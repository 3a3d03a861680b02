//! `voiceflowd model import`: CTranslate2 -> whisper.cpp model conversion.

use crate::cli::ModelCommand;
use crate::convert;
use anyhow::Context;
use std::process::ExitCode;

pub fn run(cmd: ModelCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelCommand::Import {
            ct2_dir,
            output,
            quantize,
        } => {
            let summary = convert::import_ct2(&ct2_dir, &output, quantize)
                .with_context(|| format!("cannot import {}", ct2_dir.display()))?;
            println!(
                "wrote {} ({} tensors, {} MB, {:?}, {} audio + {} text layers)",
                output.display(),
                summary.tensors,
                summary.bytes_written / 1_000_000,
                quantize,
                summary.n_audio_layer,
                summary.n_text_layer,
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
