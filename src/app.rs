//! Daemon lifecycle: narrated start-up, every task spawned, one ordered shutdown.

use crate::config::{Config, EngineKind};
use crate::engine::{Engine, FakeEngine, WhisperEngine};
use crate::inbox::{self, Timing};
use crate::outbox::Writer;
use crate::scheduler::{Msg, Scheduler, State};
use crate::sd;
use crate::signals::{self, SignalEvent};
use crate::store::Store;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Runs the daemon until SIGTERM/SIGINT. Errors are fatal (exit 1).
pub fn run(cfg: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(cfg.concurrency + 8)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(Arc::new(cfg)))
}

async fn run_async(cfg: Arc<Config>) -> anyhow::Result<()> {
    if let Some(w) = crate::config::cores_warning(&cfg) {
        tracing::warn!("{w}");
    }
    for dir in [&cfg.state_dir, &cfg.control_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let store = Store::open(&cfg.database_path())?;
    let state = State::from_snapshot(store.load()?);
    tracing::info!(path = %cfg.database_path().display(), "store opened");
    let engine = load_engine(&cfg).await?;
    let (tx, rx) = mpsc::channel::<Msg>(1024);
    let mut scheduler = Scheduler::new(
        cfg.clone(),
        store,
        state,
        engine,
        Writer::spawn(),
        tx.clone(),
    );
    scheduler.recover()?;
    let shutdown = CancellationToken::new();
    let timing = Timing {
        settle: Duration::from_secs_f64(cfg.settle_seconds),
        rescan: Duration::from_secs_f64(cfg.rescan_seconds),
        max_depth: cfg.max_depth,
    };
    for inbox in &cfg.inboxes {
        inbox::spawn(inbox.clone(), timing, tx.clone(), shutdown.child_token());
    }
    drop(tx);
    let signals = signals::spawn().context("cannot install signal handlers")?;
    tokio::spawn(handle_signals(signals, shutdown.clone()));
    sd::ready(&format!("watching {} inboxes", cfg.inboxes.len()));
    tracing::info!(
        inboxes = cfg.inboxes.len(),
        concurrency = cfg.concurrency,
        "voiceflowd ready"
    );
    scheduler.run(rx, shutdown).await?;
    tracing::info!("voiceflowd stopped");
    Ok(())
}

async fn load_engine(cfg: &Config) -> anyhow::Result<Arc<dyn Engine>> {
    match cfg.engine {
        EngineKind::Whisper => {
            let path = cfg.model.clone();
            let engine = tokio::task::spawn_blocking(move || WhisperEngine::load(&path)).await??;
            tracing::info!(
                model = engine.model_name(),
                threads_per_worker = cfg.threads_per_worker,
                "model loaded"
            );
            Ok(Arc::new(engine))
        }
        EngineKind::Fake { speed } => {
            tracing::warn!(
                speed,
                "using the fake engine: transcripts are placeholders (for testing only)"
            );
            Ok(Arc::new(FakeEngine { speed }))
        }
    }
}

async fn handle_signals(mut rx: mpsc::UnboundedReceiver<SignalEvent>, shutdown: CancellationToken) {
    while let Some(event) = rx.recv().await {
        match event {
            SignalEvent::Terminate if shutdown.is_cancelled() => {
                tracing::warn!(
                    "second stop signal: exiting now; running items are requeued at next start"
                );
                std::process::exit(1);
            }
            SignalEvent::Terminate => {
                sd::stopping();
                shutdown.cancel();
            }
            other => {
                tracing::warn!(signal = ?other, "this signal is not handled by this version; ignoring it")
            }
        }
    }
}
