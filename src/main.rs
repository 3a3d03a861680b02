//! The `voiceflowd` binary: parse the command line, set up logging, run, map to an exit code.

use clap::Parser;
use std::process::ExitCode;
use voiceflowd::cli::{Cli, Command};
use voiceflowd::{commands, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = cli.log_level.clone();
    let init_logging = |default: &str| logging::init(level.as_deref().unwrap_or(default));
    let result = match cli.command {
        Command::Run(args) => commands::daemon::run(&args, init_logging),
        Command::CheckConfig(args) => Ok(commands::daemon::check_config(&args)),
        Command::Transcribe(args) => {
            init_logging("info");
            commands::transcribe::run(args)
        }
        Command::Model(cmd) => {
            init_logging("info");
            commands::model::run(cmd)
        }
        Command::List(args) => commands::view::list(&args),
        Command::Status(args) => commands::view::status(&args),
        other => match commands::ctl::command_json(&other) {
            Some((json, client)) => commands::ctl::run(json, client),
            None => Err(anyhow::anyhow!("unsupported command")),
        },
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("voiceflowd: {err:#}");
            ExitCode::FAILURE
        }
    }
}
