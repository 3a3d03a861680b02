//! Logging setup: journald under systemd, human-readable stderr otherwise.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

/// whisper.cpp narrates every model load and run at info level; keep it at debug and below
/// unless `RUST_LOG` asks for it.
const DEFAULT_DIRECTIVES: &str = "whisper_rs=warn";

/// Installs the global subscriber. `level` is the default (`info`), `RUST_LOG` overrides it.
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},{DEFAULT_DIRECTIVES}")));
    let journald = std::env::var_os("JOURNAL_STREAM")
        .and_then(|_| tracing_journald::layer().ok())
        .map(|layer| layer.with_field_prefix(None).boxed());
    let layer: Box<dyn Layer<Registry> + Send + Sync> = match journald {
        Some(layer) => layer,
        None => fmt::layer().with_writer(std::io::stderr).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}
