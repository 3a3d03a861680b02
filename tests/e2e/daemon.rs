//! Harness for the running daemon: temp folders, config, NOTIFY_SOCKET readiness, status polling.

use crate::harness::*;
use serde_json::Value;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a test daemon is configured.
#[derive(Clone)]
pub struct Setup {
    pub concurrency: usize,
    pub threads: usize,
    pub settle: f64,
    pub engine: &'static str,
    pub originals: &'static str,
    pub grace: f64,
    pub extra: String,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            concurrency: 1,
            threads: 2,
            settle: 0.5,
            engine: "whisper",
            originals: "archive",
            grace: 20.0,
            extra: String::new(),
        }
    }
}

/// A daemon on its own temp folders; killed when dropped.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub setup: Setup,
    child: Option<Child>,
    starts: usize,
    /// Every sd_notify message received so far, in order.
    pub notes: Arc<Mutex<Vec<String>>>,
    /// Messages before this index were already waited past.
    cursor: usize,
    /// Extra environment for the daemon process.
    pub env: Vec<(String, String)>,
}

impl Daemon {
    /// Folders and config; not started.
    pub fn new(setup: Setup) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        for d in ["inbox", "outbox", "archive", "state", "staging"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let d = Daemon {
            dir,
            setup,
            child: None,
            starts: 0,
            notes: Arc::default(),
            cursor: 0,
            env: Vec::new(),
        };
        d.write_config();
        d
    }

    /// Starts it and waits for READY=1.
    pub fn start(setup: Setup) -> Daemon {
        let mut d = Daemon::new(setup);
        d.launch();
        d
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn inbox(&self) -> PathBuf {
        self.root().join("inbox")
    }
    pub fn outbox(&self) -> PathBuf {
        self.root().join("outbox")
    }
    pub fn archive(&self) -> PathBuf {
        self.root().join("archive")
    }
    pub fn config_path(&self) -> PathBuf {
        self.root().join("config.toml")
    }
    fn log_path(&self) -> PathBuf {
        self.root().join("daemon.log")
    }

    pub fn write_config(&self) {
        let s = &self.setup;
        let model = if s.engine == "whisper" {
            model_q8()
        } else {
            PathBuf::from("/nonexistent")
        };
        let r = self.root().display();
        let text = format!(
            "state_dir = \"{r}/state\"\nmodel = {model:?}\nengine = {engine:?}\nconcurrency = {c}\nthreads_per_worker = {t}\n\
             settle_seconds = {settle}\nrescan_seconds = 2.0\nshutdown_grace_seconds = {grace}\n{extra}\n\
             [[inbox]]\nname = \"main\"\npath = \"{r}/inbox\"\noutbox = \"{r}/outbox\"\narchive = \"{r}/archive\"\noriginals = {orig:?}\n",
            engine = s.engine, c = s.concurrency, t = s.threads, settle = s.settle, extra = s.extra, orig = s.originals, grace = s.grace,
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// Spawns the binary and waits for READY=1 on the notify socket.
    pub fn launch(&mut self) {
        let sock_path = self.root().join(format!("notify-{}.sock", self.starts));
        self.starts += 1;
        let sock = UnixDatagram::bind(&sock_path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        // Drain the socket continuously, as systemd does, into `notes`.
        let notes = self.notes.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            loop {
                match sock.recv(&mut buf) {
                    Ok(n) => notes
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => return,
                }
                if Arc::strong_count(&notes) == 1 {
                    return;
                }
            }
        });
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(bin())
            .args(["run", "--config"])
            .arg(self.config_path())
            .env("NOTIFY_SOCKET", &sock_path)
            .env("RUST_LOG", "info,voiceflowd=debug")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_notify("READY=1", Duration::from_secs(60));
    }

    /// Later waits only look at messages from now on.
    pub fn skip_notes(&mut self) {
        self.cursor = self.notes.lock().unwrap().len();
    }

    /// Waits for a notify message containing `what`, after the last one waited for.
    pub fn wait_notify(&mut self, what: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let found = {
                let notes = self.notes.lock().unwrap();
                let hit = notes
                    .iter()
                    .enumerate()
                    .skip(self.cursor)
                    .find(|(_, m)| m.contains(what));
                hit.map(|(i, m)| (i, m.clone()))
            };
            if let Some((i, msg)) = found {
                self.cursor = i + 1;
                return msg;
            }
            let exited = self.child.as_mut().and_then(|c| c.try_wait().unwrap());
            if let (Some(status), false) = (exited, what.contains("STOPPING")) {
                panic!("daemon exited ({status}) before {what}\n{}", self.context());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no {what} from the daemon within {timeout:?}\n{}",
            self.context()
        );
    }

    /// SIGTERM and wait for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("not running");
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        wait_exit(&mut child, Duration::from_secs(60))
    }

    /// kill -9 and reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Everything needed to debug a failure.
    pub fn context(&self) -> String {
        let log = self.log();
        let tail: Vec<&str> = log
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!(
            "--- files\n{}\n--- daemon log (tail)\n{}",
            listing(self.root()),
            tail.join("\n")
        )
    }

    pub fn status_path(&self, batch: &str) -> PathBuf {
        self.outbox().join(batch).join("status.json")
    }

    pub fn status(&self, batch: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.status_path(batch)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Polls `batch`'s status.json until `pred` holds.
    pub fn wait_status(
        &self,
        batch: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        wait_for(
            &format!("batch {batch}: {what}"),
            timeout,
            || self.status(batch).filter(|s| pred(s)),
            || self.status_context(batch),
        )
    }

    /// The batch's status.json and everything else needed to debug a failed wait.
    fn status_context(&self, batch: &str) -> String {
        let status = self
            .status(batch)
            .map(|s| s.to_string())
            .unwrap_or_default();
        format!("--- status\n{status}\n{}", self.context())
    }

    /// Waits for the batch to finish (its DONE or FAILED marker, written after every other
    /// view) and returns its status.
    pub fn wait_finished(&self, batch: &str, timeout: Duration) -> Value {
        let dir = self.outbox().join(batch);
        wait_for(
            &format!("batch {batch}: finished, with its DONE or FAILED marker"),
            timeout,
            || {
                let marked = dir.join("DONE").exists() || dir.join("FAILED").exists();
                let s = self.status(batch).filter(|s| {
                    matches!(
                        s["state"].as_str(),
                        Some("completed" | "completed_with_errors" | "cancelled")
                    )
                })?;
                marked.then_some(s)
            },
            || self.status_context(batch),
        )
    }

    /// Drops a ready folder into the inbox at once (the way a finished copy appears).
    pub fn drop_folder(&self, name: &str, files: &[(&str, &Path)]) {
        let staged = self.root().join("staging").join(name);
        std::fs::create_dir_all(&staged).unwrap();
        for (target, source) in files {
            let path = staged.join(target);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::copy(source, path).unwrap();
        }
        std::fs::rename(&staged, self.inbox().join(name)).unwrap();
    }

    pub fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.outbox().join("events.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("daemon did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The q8_0 test model (what the README recommends).
pub fn model_q8() -> PathBuf {
    let f16 = model();
    let q8 = f16.with_file_name("ggml-tiny.en-q8_0.bin");
    assert!(
        q8.is_file(),
        "{} missing: run scripts/fetch-test-model.sh",
        q8.display()
    );
    q8
}

/// Reads a transcript text file of a batch.
pub fn transcript(d: &Daemon, batch: &str, stem: &str) -> String {
    let path = d.outbox().join(batch).join(format!("{stem}.txt"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), d.context()))
}

pub fn item<'a>(status: &'a Value, path: &str) -> &'a Value {
    status["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == path)
        .unwrap_or_else(|| panic!("no item {path} in {status}"))
}

impl Daemon {
    pub fn control_dir(&self) -> PathBuf {
        self.root().join("state/control")
    }

    /// Runs `voiceflowd ARGS --config <this daemon's config>`.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = voiceflowd();
        cmd.args(args).arg("--config").arg(self.config_path());
        run_with_timeout(cmd, Duration::from_secs(30))
    }

    /// Drops a command file and waits for its result.
    pub fn command_file(&self, name: &str, text: &str) -> Value {
        let tmp = self.control_dir().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.control_dir().join(format!("{name}.cmd"))).unwrap();
        let result = self
            .control_dir()
            .join("done")
            .join(format!("{name}.result.json"));
        wait_for(
            &format!("result of {name}.cmd"),
            Duration::from_secs(20),
            || {
                std::fs::read(&result)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
            },
            || self.context(),
        )
    }

    pub fn signal(&self, sig: i32) {
        let pid = self.child.as_ref().expect("not running").id() as i32;
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }
}

/// stdout of a successful CLI call; panics with everything otherwise.
pub fn ok_stdout(d: &Daemon, out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "status {}\nstdout {}\nstderr {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        d.context()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A 66 s recording (jfk six times, joined by sox) in the daemon's temp folder.
pub fn long_file(d: &Daemon) -> PathBuf {
    let out = d.root().join("long.wav");
    let jfk = corpus("jfk.wav");
    let j = jfk.to_str().unwrap();
    tool("sox", &[j, j, j, j, j, j, out.to_str().unwrap()]);
    out
}
