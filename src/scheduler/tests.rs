//! Property test of the scheduler actor itself (fake engine, real redb, real files): under
//! random drops, completions, cancels, retries and pauses it never runs more than
//! `concurrency` items and finishes every item at most once.

use super::*;
use crate::control::{Command, Request, Source, Target};
use crate::engine::FakeEngine;
use crate::inbox::{Changes, Entry, InboxReport};
use crate::model::{ItemState, RelPath};
use proptest::prelude::*;
use std::path::Path;

/// 0.2 s of a 440 Hz tone as 16 kHz mono PCM WAV.
fn wav() -> Vec<u8> {
    let samples: Vec<i16> = (0..3200)
        .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / 16000.0).sin() * 8000.0) as i16)
        .collect();
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    for v in [16u32, 0x0001_0001, 16000, 32000, 0x0010_0002] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

#[derive(Debug, Clone)]
enum Op {
    Drop { batch: u8, files: u8 },
    Finish,
    Cancel(u8),
    Retry(u8),
    PauseAll,
    ResumeAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, 1u8..4).prop_map(|(batch, files)| Op::Drop { batch, files }),
        6 => Just(Op::Finish),
        1 => (0u8..3).prop_map(Op::Cancel),
        1 => (0u8..3).prop_map(Op::Retry),
        1 => Just(Op::PauseAll),
        1 => Just(Op::ResumeAll),
    ]
}

struct Rig {
    _dir: tempfile::TempDir,
    inbox: std::path::PathBuf,
    sched: Scheduler,
    rx: mpsc::Receiver<Msg>,
    dropped: usize,
}

fn rig(concurrency: usize) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["inbox", "outbox"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    let toml = format!(
        "state_dir = \"{r}/state\"\nengine = \"fake\"\nconcurrency = {concurrency}\nthreads_per_worker = 1\n[[inbox]]\nname = \"in\"\npath = \"{r}/inbox\"\noutbox = \"{r}/outbox\"\noriginals = \"keep\"\n",
        r = root.display()
    );
    let cfg = Config::parse(&toml, &root.join("c.toml")).unwrap();
    std::fs::create_dir_all(&cfg.state_dir).unwrap();
    let store = Store::open(&cfg.database_path()).unwrap();
    let state = State::from_snapshot(store.load().unwrap());
    let (tx, rx) = mpsc::channel(4096);
    let engine: Arc<dyn Engine> = Arc::new(FakeEngine { speed: 0.0 });
    let sched = Scheduler::new(
        Arc::new(cfg),
        store,
        state,
        &[],
        engine,
        Writer::spawn(),
        tx,
    );
    Rig {
        inbox: root.join("inbox"),
        _dir: dir,
        sched,
        rx,
        dropped: 0,
    }
}

impl Rig {
    fn drop_files(&mut self, batch: u8, files: u8) {
        let folder = self.inbox.join(format!("b{batch}"));
        std::fs::create_dir_all(&folder).unwrap();
        let mut entries = Vec::new();
        for _ in 0..files {
            self.dropped += 1;
            let name = format!("b{batch}/f{}.wav", self.dropped);
            std::fs::write(self.inbox.join(&name), wav()).unwrap();
            let rel = RelPath::new(Path::new(&name)).unwrap();
            // The fingerprint a scan would report, as jobs check it before writing outputs.
            let path = self.inbox.join(&name);
            let meta = std::fs::metadata(&path).unwrap();
            entries.push(Entry {
                rel,
                size: meta.len(),
                mtime_ns: crate::model::mtime_ns(&meta),
                is_media: true,
                hash: crate::inbox::content_hash(&path).unwrap(),
            });
        }
        let changes = Changes {
            seen: entries.clone(),
            settled: entries,
            gone: Vec::new(),
        };
        self.sched.handle(Msg::Inbox(InboxReport {
            inbox: "in".into(),
            changes,
            markers: None,
        }));
    }

    fn command(&mut self, command: Command) {
        self.sched.handle(Msg::Control(Request {
            command,
            source: Source::Signal("TEST".into()),
            claim: None,
            reply: None,
        }));
    }

    /// Handles the next message from a job or an archive step, if one comes.
    async fn finish_one(&mut self) {
        if self.sched.running.is_empty() && self.sched.originals_in_flight.is_empty() {
            return;
        }
        let timeout = Duration::from_secs(10);
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Ok(Some(msg)) => self.sched.handle(msg),
            _ => panic!("a job in flight never reported back"),
        }
    }

    /// One scheduler step, the invariants, and a count of items that reached `done`.
    fn step_and_check(&mut self, limit: usize, done_at: &mut HashMap<crate::model::ItemId, usize>) {
        self.sched.step().unwrap();
        self.check(limit);
        let done = self
            .sched
            .state
            .transitions
            .iter()
            .filter(|t| t.to == Some(ItemState::Done));
        for t in done {
            *done_at.entry(t.item).or_insert(0) += 1;
        }
        self.sched.publish(true);
    }

    fn check(&self, limit: usize) {
        assert!(
            self.sched.running.len() <= limit,
            "{} running > {limit}",
            self.sched.running.len()
        );
        let running_items = self
            .sched
            .state
            .items
            .values()
            .filter(|i| i.state == ItemState::Running)
            .count();
        // A cancelled item is committed first and its job aborted after: a job may still be
        // in flight (holding its worker slot) for an item no longer running.
        assert!(
            running_items <= self.sched.running.len(),
            "running items without a job"
        );
    }
}

async fn scenario(concurrency: usize, ops: Vec<Op>) {
    let mut r = rig(concurrency);
    let mut done_at = HashMap::new();
    for op in ops {
        match op {
            Op::Drop { batch, files } => r.drop_files(batch, files),
            Op::Finish => r.finish_one().await,
            Op::Cancel(b) => r.command(Command::Cancel {
                batch: format!("b{b}"),
            }),
            Op::Retry(b) => r.command(Command::Retry {
                batch: format!("b{b}"),
                item: None,
            }),
            Op::PauseAll => r.command(Command::Pause {
                target: Target::All,
                now: false,
            }),
            Op::ResumeAll => r.command(Command::Resume {
                target: Target::All,
            }),
        }
        r.step_and_check(concurrency, &mut done_at);
    }
    r.command(Command::Resume {
        target: Target::All,
    });
    r.sched.step().unwrap();
    while !r.sched.running.is_empty() {
        r.finish_one().await;
        r.step_and_check(concurrency, &mut done_at);
    }
    assert!(
        done_at.values().all(|n| *n == 1),
        "an item finished twice: {done_at:?}"
    );
    for item in r.sched.state.items.values() {
        assert!(
            item.state.is_terminal(),
            "item {} left {:?}",
            item.id,
            item.state
        );
        assert!(
            item.attempts <= 1,
            "fake jobs never fail, yet {} attempts",
            item.attempts
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn never_more_than_concurrency_and_each_item_done_once(concurrency in 1usize..4, ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(scenario(concurrency, ops));
    }
}
