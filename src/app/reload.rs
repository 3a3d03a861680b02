//! SIGHUP: read the config again; keep what only a restart can change.

use crate::config::{Config, ConfigError};
use std::path::Path;

/// The new configuration, with restart-only keys (state_dir, model, engine, control_dir,
/// log_level) kept at their running values and a warning for each that changed.
pub fn load(path: &Path, running: &Config) -> Result<Config, ConfigError> {
    let mut new = Config::load(path)?;
    new.check_runtime(path)?;
    let keep = |key: &str, changed: bool| {
        if changed {
            tracing::warn!(
                key,
                "changing this needs a restart; keeping the running value"
            );
        }
    };
    keep("state_dir", new.state_dir != running.state_dir);
    keep("model", new.model != running.model);
    keep("engine", new.engine != running.engine);
    keep("control_dir", new.control_dir != running.control_dir);
    keep("log_level", new.log_level != running.log_level);
    new.state_dir = running.state_dir.clone();
    new.model = running.model.clone();
    new.engine = running.engine.clone();
    new.control_dir = running.control_dir.clone();
    new.log_level = running.log_level.clone();
    Ok(new)
}
