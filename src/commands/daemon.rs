//! `voiceflowd run` and `voiceflowd check-config`.

use crate::cli::ConfigArg;
use crate::config::{cores_warning, Config, ConfigError};
use std::process::ExitCode;

/// Exit code for a bad configuration (EX_CONFIG); systemd does not restart on it.
pub const EXIT_CONFIG: u8 = 78;

fn load(args: &ConfigArg) -> Result<Config, ConfigError> {
    let cfg = Config::load(&args.config)?;
    cfg.check_runtime(&args.config)?;
    Ok(cfg)
}

/// Validates the config and prints the effective configuration.
pub fn check_config(args: &ConfigArg) -> ExitCode {
    match load(args) {
        Ok(cfg) => {
            print!("{}", cfg.to_toml());
            if let Some(w) = cores_warning(&cfg) {
                eprintln!("warning: {w}");
            }
            eprintln!("{}: ok", args.config.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("voiceflowd: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// Runs the daemon; `init_logging` receives the config's log level.
pub fn run(args: &ConfigArg, init_logging: impl FnOnce(&str)) -> anyhow::Result<ExitCode> {
    let cfg = match load(args) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("voiceflowd: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    init_logging(&cfg.log_level);
    tracing::info!(config = %args.config.display(), version = env!("CARGO_PKG_VERSION"), "starting");
    crate::app::run(args.config.clone(), cfg)?;
    Ok(ExitCode::SUCCESS)
}
