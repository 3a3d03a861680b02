//! Fallback decoding through an `ffmpeg` subprocess (Opus, WMA, AC-3, ...): 16 kHz mono f32le
//! streamed from its stdout, with a duration limit, a watchdog and its stderr kept for errors.

use std::ffi::OsString;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::error::io_is_transient;
use super::sink::Sink;
use super::{AudioError, DecodeOptions, SAMPLE_RATE};

const FFMPEG: &str = "ffmpeg";
/// Kill ffmpeg when it produces no output for this long.
const STALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Base wall-clock budget, plus an eighth of the longest allowed duration.
const BASE_TIMEOUT: Duration = Duration::from_secs(300);
/// Assumed longest duration when there is no limit, for the wall-clock budget.
const UNLIMITED_SECONDS: f64 = 24.0 * 3600.0;
/// Keep at most this much of ffmpeg's stderr (the end of it).
const STDERR_KEEP: usize = 16 * 1024;

/// Why the fallback produced no samples.
#[derive(Debug)]
pub(super) enum Failure {
    /// There is no `ffmpeg` on PATH.
    NotInstalled,
    /// ffmpeg ran but cannot decode the input either; its message.
    Rejected(String),
    /// Any other failure, already a final error.
    Error(AudioError),
}

/// Decodes `path` with ffmpeg to 16 kHz mono f32.
pub(super) fn decode(path: &Path, opts: &DecodeOptions) -> Result<Vec<f32>, Failure> {
    let input = input_arg(path)?;
    let mut child = spawn(&input)?;
    let stderr = collect_stderr(child.stderr.take());
    let watchdog = Watchdog::start(child.id(), STALL_TIMEOUT, wall_clock_budget(opts));
    let read = read_samples(child.stdout.take(), opts, &watchdog.progress);
    let timed_out = watchdog.stop();
    if read.is_err() {
        // Best effort: it may have exited already; wait() below reaps it either way.
        let _ = child.kill();
    }
    let status = child.wait();
    let stderr = stderr.join().unwrap_or_default();
    let sink = read.map_err(Failure::Error)?;
    if let Some(reason) = timed_out {
        return Err(ffmpeg_error(format!("{reason}; killed it"), true));
    }
    let status = status.map_err(|e| ffmpeg_error(format!("waiting for it: {e}"), true))?;
    check_status(status, &summarize(&stderr, &input))?;
    sink.finish().map_err(Failure::Error)
}

/// `file:/absolute/path`: never mistaken for an option or a protocol such as `http:`.
fn input_arg(path: &Path) -> Result<OsString, Failure> {
    let abs = std::path::absolute(path).map_err(|e| Failure::Error(AudioError::io(path, e)))?;
    let mut arg = OsString::from("file:");
    arg.push(abs.as_os_str());
    Ok(arg)
}

fn spawn(input: &OsString) -> Result<Child, Failure> {
    let mut cmd = Command::new(FFMPEG);
    cmd.args(["-nostdin", "-hide_banner", "-v", "error", "-i"])
        .arg(input)
        .args([
            "-vn", "-sn", "-dn", "-ac", "1", "-ar", "16000", "-f", "f32le", "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().map_err(|e| match e.kind() {
        ErrorKind::NotFound => Failure::NotInstalled,
        _ => ffmpeg_error(format!("cannot start {FFMPEG}: {e}"), io_is_transient(&e)),
    })
}

fn ffmpeg_error(message: String, transient: bool) -> Failure {
    Failure::Error(AudioError::Ffmpeg { message, transient })
}

fn wall_clock_budget(opts: &DecodeOptions) -> Duration {
    let seconds = opts.max_duration_seconds.unwrap_or(UNLIMITED_SECONDS);
    BASE_TIMEOUT + Duration::from_secs_f64(seconds.clamp(0.0, UNLIMITED_SECONDS) / 8.0)
}

/// Streams f32le samples from ffmpeg's stdout into a [`Sink`] (which enforces the limit).
fn read_samples(
    stdout: Option<ChildStdout>,
    opts: &DecodeOptions,
    progress: &Sender<()>,
) -> Result<Sink, AudioError> {
    let mut stdout = stdout.ok_or_else(|| AudioError::Internal("ffmpeg stdout missing".into()))?;
    let mut sink = Sink::new(opts.max_duration_seconds, None);
    let mut buf = vec![0u8; 64 * 1024];
    let mut samples = Vec::with_capacity(buf.len() / 4);
    let mut filled = 0;
    loop {
        let n = match stdout.read(&mut buf[filled..]) {
            Ok(0) => return Ok(sink),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(AudioError::Ffmpeg {
                    message: format!("reading its output: {e}"),
                    transient: true,
                })
            }
        };
        // The watchdog only needs to know that output flows; it may have stopped listening.
        let _ = progress.send(());
        filled += n;
        let whole = filled - filled % 4;
        samples.clear();
        samples.extend(
            buf[..whole]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        sink.push_mono(&samples, SAMPLE_RATE)?;
        buf.copy_within(whole..filled, 0);
        filled -= whole;
    }
}

/// Maps ffmpeg's exit status and message to the result.
fn check_status(status: ExitStatus, message: &str) -> Result<(), Failure> {
    if status.success() {
        return Ok(());
    }
    if message.contains("does not contain any stream") || message.contains("matches no streams") {
        return Err(Failure::Error(AudioError::NoAudioTrack));
    }
    let Some(code) = status.code() else {
        // Killed by a signal we did not send (e.g. the OOM killer): worth another try.
        return Err(ffmpeg_error(format!("{status}: {message}"), true));
    };
    let io_trouble = [
        "Input/output error",
        "Cannot allocate memory",
        "Resource temporarily unavailable",
    ];
    if io_trouble.iter().any(|t| message.contains(t)) {
        return Err(ffmpeg_error(format!("exit code {code}: {message}"), true));
    }
    let message = if message.is_empty() {
        format!("exit code {code}")
    } else {
        message.to_string()
    };
    Err(Failure::Rejected(message))
}

/// Reads stderr on a thread (so a chatty ffmpeg cannot block on a full pipe), keeping its end.
fn collect_stderr(stderr: Option<ChildStderr>) -> JoinHandle<String> {
    thread::spawn(move || {
        let Some(mut stderr) = stderr else {
            return String::new();
        };
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => kept.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
            if kept.len() > 2 * STDERR_KEEP {
                kept.drain(..kept.len() - STDERR_KEEP);
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// The first few lines of ffmpeg's stderr on one line, without `[mp3 @ 0x55..]` addresses
/// and without the long `file:/abs/path: ` prefix.
fn summarize(stderr: &str, input: &OsString) -> String {
    let prefix = format!("{}: ", input.to_string_lossy());
    let lines: Vec<String> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .map(|l| strip_context(l.strip_prefix(prefix.as_str()).unwrap_or(l)))
        .collect();
    let mut text = lines.join("; ");
    if text.len() > 400 {
        let mut cut = 400;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

/// `[mp3 @ 0x55f0] Failed to read` -> `mp3: Failed to read`.
fn strip_context(line: &str) -> String {
    let Some(rest) = line.strip_prefix('[') else {
        return line.to_string();
    };
    match rest.split_once("] ") {
        Some((ctx, msg)) => {
            let name = ctx.split(" @ ").next().unwrap_or(ctx);
            format!("{name}: {msg}")
        }
        None => line.to_string(),
    }
}

/// Kills the child (by pid, before it is reaped) when output stalls or time runs out.
struct Watchdog {
    progress: Sender<()>,
    thread: JoinHandle<Option<String>>,
}

impl Watchdog {
    fn start(pid: u32, stall: Duration, total: Duration) -> Self {
        let (progress, ticks) = mpsc::channel::<()>();
        let deadline = Instant::now() + total;
        let thread = thread::spawn(move || loop {
            let wait = stall.min(deadline.saturating_duration_since(Instant::now()));
            let reason = match ticks.recv_timeout(wait) {
                Ok(()) if Instant::now() < deadline => continue,
                Err(RecvTimeoutError::Disconnected) => return None,
                Ok(()) => format!("ffmpeg ran longer than {} s", total.as_secs()),
                Err(RecvTimeoutError::Timeout) if Instant::now() >= deadline => {
                    format!("ffmpeg ran longer than {} s", total.as_secs())
                }
                Err(RecvTimeoutError::Timeout) => {
                    format!("ffmpeg produced no output for {} s", stall.as_secs())
                }
            };
            kill(pid);
            return Some(reason);
        });
        Watchdog { progress, thread }
    }

    /// Stops watching; returns why the child was killed, if it was.
    fn stop(self) -> Option<String> {
        drop(self.progress);
        self.thread.join().unwrap_or(None)
    }
}

/// SIGKILL by pid. Safe from pid reuse: the caller reaps the child only after `stop()`.
fn kill(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) with a valid signal number has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_kills_a_stalled_child() {
        let Ok(mut child) = Command::new("sleep").arg("30").spawn() else {
            println!("skipped: no `sleep` binary");
            return;
        };
        let started = Instant::now();
        let dog = Watchdog::start(
            child.id(),
            Duration::from_millis(300),
            Duration::from_secs(60),
        );
        let reason = dog.thread.join().unwrap();
        let status = child.wait().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!status.success());
        assert!(reason.unwrap().starts_with("ffmpeg produced no output"));
    }

    #[test]
    fn watchdog_stops_quietly() {
        let mut child = Command::new("true").spawn().unwrap();
        let dog = Watchdog::start(child.id(), Duration::from_secs(60), Duration::from_secs(60));
        assert_eq!(dog.stop(), None);
        child.wait().unwrap();
    }

    #[test]
    fn summary_is_short_and_readable() {
        let input = OsString::from("file:/tmp/x.wav");
        let stderr = "[mp3 @ 0x55f092166900] Failed to read frame size: Could not seek to 6023.\nfile:/tmp/x.wav: Invalid argument\n";
        assert_eq!(
            summarize(stderr, &input),
            "mp3: Failed to read frame size: Could not seek to 6023.; Invalid argument"
        );
    }

    #[test]
    fn input_is_absolute_file_url() {
        let arg = input_arg(Path::new("-rf.opus")).unwrap();
        let text = arg.to_string_lossy();
        assert!(text.starts_with("file:/"), "{text}");
        assert!(text.ends_with("/-rf.opus"), "{text}");
    }
}
