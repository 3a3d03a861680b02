//! Daemon lifecycle: narrated start-up, every task spawned, signals, one ordered shutdown.

mod inboxes;
mod reload;

use crate::config::{Config, EngineKind};
use crate::control::{self, Command, Request, Source, Target};
use crate::engine::{Engine, FakeEngine, WhisperEngine};
use crate::outbox::Writer;
use crate::scheduler::{Msg, Scheduler, State};
use crate::sd;
use crate::signals::{self, SignalEvent};
use crate::store::Store;
use anyhow::Context;
use inboxes::Inboxes;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Runs the daemon until SIGTERM/SIGINT. Errors are fatal (exit 1).
pub fn run(config_path: PathBuf, cfg: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(cfg.concurrency.max(10) + 8)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(config_path, Arc::new(cfg)))
}

async fn run_async(config_path: PathBuf, cfg: Arc<Config>) -> anyhow::Result<()> {
    if let Some(w) = crate::config::cores_warning(&cfg) {
        tracing::warn!("{w}");
    }
    for dir in [&cfg.state_dir, &cfg.control_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let store = Store::open(&cfg.database_path())?;
    let snapshot = store.load()?;
    let control_records = snapshot.control.clone();
    let state = State::from_snapshot(snapshot);
    tracing::info!(path = %cfg.database_path().display(), "store opened");
    let engine = load_engine(&cfg).await?;
    let (tx, rx) = mpsc::channel::<Msg>(1024);
    let mut scheduler = Scheduler::new(
        cfg.clone(),
        store,
        state,
        &control_records,
        engine,
        Writer::spawn(),
        tx.clone(),
    );
    scheduler.recover()?;
    let shutdown = CancellationToken::new();
    let mut inboxes = Inboxes::default();
    inboxes.apply(&cfg, &tx, &shutdown);
    tokio::spawn(control::run_control_dir(
        cfg.control_dir.clone(),
        tx.clone(),
        shutdown.child_token(),
    ));
    let signals = signals::spawn().context("cannot install signal handlers")?;
    sd::ready(&format!("watching {} inboxes", cfg.inboxes.len()));
    tracing::info!(
        inboxes = cfg.inboxes.len(),
        concurrency = cfg.concurrency,
        "voiceflowd ready"
    );
    let sched = tokio::spawn(scheduler.run(rx, shutdown.clone()));
    let sup = Supervisor {
        config_path,
        cfg,
        inboxes,
        tx,
        shutdown,
    };
    sup.run(signals, sched).await?;
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

/// Owns what outlives single tasks: the config, the inbox tasks, the shutdown token.
struct Supervisor {
    config_path: PathBuf,
    cfg: Arc<Config>,
    inboxes: Inboxes,
    tx: mpsc::Sender<Msg>,
    shutdown: CancellationToken,
}

impl Supervisor {
    async fn run(
        mut self,
        mut signals: mpsc::UnboundedReceiver<SignalEvent>,
        mut sched: tokio::task::JoinHandle<Result<(), crate::store::StoreError>>,
    ) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                done = &mut sched => {
                    self.shutdown.cancel();
                    return Ok(done.context("scheduler task failed")??);
                }
                Some(event) = signals.recv() => self.on_signal(event, &mut signals).await,
            }
        }
    }

    async fn on_signal(
        &mut self,
        event: SignalEvent,
        signals: &mut mpsc::UnboundedReceiver<SignalEvent>,
    ) {
        match event {
            SignalEvent::Terminate if self.shutdown.is_cancelled() => {
                tracing::warn!(
                    "second stop signal: exiting now; running items are requeued at next start"
                );
                std::process::exit(1);
            }
            SignalEvent::Terminate => {
                sd::stopping();
                self.shutdown.cancel();
            }
            SignalEvent::Reload => {
                // A burst of SIGHUPs reloads once.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while let Ok(ev) = signals.try_recv() {
                    if ev != SignalEvent::Reload {
                        Box::pin(self.on_signal(ev, signals)).await;
                    }
                }
                self.reload().await;
            }
            SignalEvent::PauseAll => {
                self.signal_command(
                    Command::Pause {
                        target: Target::All,
                        now: false,
                    },
                    "SIGUSR1",
                )
                .await
            }
            SignalEvent::ResumeAll => {
                self.signal_command(
                    Command::Resume {
                        target: Target::All,
                    },
                    "SIGUSR2",
                )
                .await
            }
        }
    }

    async fn signal_command(&self, command: Command, signal: &str) {
        let req = Request {
            command,
            source: Source::Signal(signal.into()),
            claim: None,
            reply: None,
        };
        let _ = self.tx.send(Msg::Control(req)).await;
    }

    async fn reload(&mut self) {
        sd::reloading();
        match reload::load(&self.config_path, &self.cfg) {
            Ok(new) => {
                let new = Arc::new(new);
                self.inboxes.apply(&new, &self.tx, &self.shutdown);
                let _ = self.tx.send(Msg::Reconfigure(new.clone())).await;
                self.cfg = new;
                tracing::info!(
                    inboxes = self.cfg.inboxes.len(),
                    concurrency = self.cfg.concurrency,
                    "config reloaded"
                );
                sd::ready("config reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "config reload failed; keeping the running configuration");
                sd::ready(&format!(
                    "config reload failed, running configuration kept: {e}"
                ));
            }
        }
    }
}
