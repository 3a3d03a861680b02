//! Turns the raw file into a `Config`: defaults, ranges, folders, overlap checks.

use super::raw::{RawConfig, RawInbox, RawThreads};
use super::span::Lines;
use super::{Config, ConfigError, EngineKind, Inbox, Originals, WatchMode};
use crate::engine::available_cores;
use crate::transcript::Format;
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Error builder bound to one file's text.
struct Ctx<'a> {
    file: &'a Path,
    lines: Lines,
}

impl Ctx<'_> {
    fn err(&self, inbox: Option<usize>, key: &str, message: impl Into<String>) -> ConfigError {
        let full_key = match inbox {
            Some(i) => format!("inbox[{i}].{key}"),
            None => key.to_string(),
        };
        ConfigError {
            file: self.file.display().to_string(),
            line: self.lines.line_of_key(inbox, key),
            key: full_key,
            message: message.into(),
        }
    }

    /// Resolves a path relative to the config file's folder.
    fn path(&self, p: &Path) -> PathBuf {
        let base = self.file.parent().unwrap_or(Path::new("."));
        normalise(&base.join(p))
    }
}

pub fn parse(source: &str, file: &Path) -> Result<Config, ConfigError> {
    let ctx = Ctx {
        file,
        lines: Lines::new(source),
    };
    let raw: RawConfig = toml::from_str(source).map_err(|e| ConfigError {
        file: file.display().to_string(),
        line: e.span().map(|s| ctx.lines.line_of(s.start)),
        key: String::new(),
        message: e.message().trim().to_string(),
    })?;
    build(&ctx, raw)
}

fn build(ctx: &Ctx<'_>, raw: RawConfig) -> Result<Config, ConfigError> {
    let state_dir = ctx.path(
        raw.state_dir
            .as_deref()
            .unwrap_or(Path::new("/var/lib/voiceflowd")),
    );
    let concurrency = range(ctx, "concurrency", raw.concurrency.unwrap_or(1), 1, 10)? as usize;
    let formats =
        formats(ctx, None, raw.formats.as_deref())?.unwrap_or_else(|| Format::ALL.to_vec());
    let language = language(ctx, None, raw.language.as_deref())?.unwrap_or_else(|| "en".into());
    let model = ctx.path(
        raw.model
            .as_deref()
            .unwrap_or(&state_dir.join("models/ggml-tiny.en-q8_0.bin")),
    );
    let mut cfg = Config {
        engine: engine(ctx, raw.engine.as_deref())?,
        threads_per_worker: threads(ctx, raw.threads_per_worker, concurrency)?,
        beam_size: range(ctx, "beam_size", raw.beam_size.unwrap_or(1), 1, 16)? as usize,
        settle_seconds: seconds(
            ctx,
            "settle_seconds",
            raw.settle_seconds.unwrap_or(5.0),
            0.1,
        )?,
        rescan_seconds: seconds(
            ctx,
            "rescan_seconds",
            raw.rescan_seconds.unwrap_or(30.0),
            0.1,
        )?,
        max_attempts: range(ctx, "max_attempts", raw.max_attempts.unwrap_or(3), 1, 100)? as u32,
        max_duration_seconds: seconds(
            ctx,
            "max_duration_seconds",
            raw.max_duration_seconds.unwrap_or(6.0 * 3600.0),
            1.0,
        )?,
        max_depth: range(ctx, "max_depth", raw.max_depth.unwrap_or(16), 1, 64)? as usize,
        shutdown_grace_seconds: seconds(
            ctx,
            "shutdown_grace_seconds",
            raw.shutdown_grace_seconds.unwrap_or(30.0),
            0.0,
        )?,
        control_dir: raw
            .control_dir
            .map(|p| ctx.path(&p))
            .unwrap_or_else(|| state_dir.join("control")),
        log_level: log_level(ctx, raw.log_level)?,
        inboxes: Vec::new(),
        model,
        state_dir,
        concurrency,
        formats,
        language,
    };
    for (i, inbox) in raw.inboxes.into_iter().enumerate() {
        let built = build_inbox(ctx, &cfg, i, inbox)?;
        cfg.inboxes.push(built);
    }
    check_inboxes(ctx, &cfg)?;
    Ok(cfg)
}

fn build_inbox(ctx: &Ctx<'_>, cfg: &Config, i: usize, raw: RawInbox) -> Result<Inbox, ConfigError> {
    let at = Some(i);
    let name = raw.name.ok_or_else(|| ctx.err(at, "name", "required"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        return Err(ctx.err(
            at,
            "name",
            format!("{name:?} must be letters, digits, '-', '_' or '.'"),
        ));
    }
    let path = existing_dir(ctx, at, "path", raw.path)?;
    let outbox = existing_dir(ctx, at, "outbox", raw.outbox)?;
    let originals = match raw.originals.as_deref().unwrap_or("archive") {
        "archive" => Originals::Archive,
        "delete" => Originals::Delete,
        "keep" => Originals::Keep,
        other => {
            return Err(ctx.err(
                at,
                "originals",
                format!("{other:?} is not one of \"archive\", \"delete\", \"keep\""),
            ))
        }
    };
    let watch = match raw.watch.as_deref().unwrap_or("auto") {
        "auto" => WatchMode::Auto,
        "native" => WatchMode::Native,
        "poll" => WatchMode::Poll,
        other => {
            return Err(ctx.err(
                at,
                "watch",
                format!("{other:?} is not one of \"auto\", \"native\", \"poll\""),
            ))
        }
    };
    let archive = match raw.archive {
        Some(p) => ctx.path(&p),
        None => cfg.state_dir.join("archive").join(&name),
    };
    Ok(Inbox {
        formats: formats(ctx, at, raw.formats.as_deref())?.unwrap_or_else(|| cfg.formats.clone()),
        language: language(ctx, at, raw.language.as_deref())?
            .unwrap_or_else(|| cfg.language.clone()),
        priority: raw.priority.unwrap_or(0),
        name,
        path,
        outbox,
        originals,
        archive,
        watch,
    })
}

/// Names are unique; no inbox holds another inbox, an outbox, an archive or the state dir.
fn check_inboxes(ctx: &Ctx<'_>, cfg: &Config) -> Result<(), ConfigError> {
    if let Some(inbox) = cfg
        .inboxes
        .iter()
        .find(|i| cfg.state_dir.starts_with(&i.path))
    {
        return Err(ctx.err(
            None,
            "state_dir",
            format!("must not be inside inbox {:?}", inbox.name),
        ));
    }
    let mut names = HashSet::new();
    for (i, inbox) in cfg.inboxes.iter().enumerate() {
        if !names.insert(&inbox.name) {
            return Err(ctx.err(
                Some(i),
                "name",
                format!("{:?} is used by another inbox", inbox.name),
            ));
        }
        for (j, other) in cfg.inboxes.iter().enumerate() {
            let inside = |p: &Path| p.starts_with(&other.path);
            if i != j && (inside(&inbox.path) || other.path.starts_with(&inbox.path)) {
                return Err(ctx.err(Some(i), "path", format!("overlaps inbox {:?}", other.name)));
            }
            if inside(&inbox.outbox) || other.path.starts_with(&inbox.outbox) {
                return Err(ctx.err(Some(i), "outbox", format!("must not be inside or contain inbox {:?} (outputs would be picked up again)", other.name)));
            }
            if inbox.originals == Originals::Archive
                && (inside(&inbox.archive) || other.path.starts_with(&inbox.archive))
            {
                return Err(ctx.err(
                    Some(i),
                    "archive",
                    format!("must not be inside or contain inbox {:?}", other.name),
                ));
            }
        }
    }
    Ok(())
}

fn existing_dir(
    ctx: &Ctx<'_>,
    at: Option<usize>,
    key: &str,
    p: Option<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    let p = ctx.path(&p.ok_or_else(|| ctx.err(at, key, "required"))?);
    if !p.is_dir() {
        return Err(ctx.err(at, key, format!("folder does not exist: {}", p.display())));
    }
    Ok(p)
}

fn range(ctx: &Ctx<'_>, key: &str, v: i64, lo: i64, hi: i64) -> Result<i64, ConfigError> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(ctx.err(None, key, format!("{v} is out of range {lo}..={hi}")))
    }
}

fn seconds(ctx: &Ctx<'_>, key: &str, v: f64, min: f64) -> Result<f64, ConfigError> {
    if v.is_finite() && v >= min {
        Ok(v)
    } else {
        Err(ctx.err(None, key, format!("{v} must be at least {min}")))
    }
}

fn formats(
    ctx: &Ctx<'_>,
    at: Option<usize>,
    list: Option<&[String]>,
) -> Result<Option<Vec<Format>>, ConfigError> {
    let Some(list) = list else { return Ok(None) };
    Format::parse_list(&list.join(","))
        .map(Some)
        .map_err(|e| ctx.err(at, "formats", e.to_string()))
}

fn language(
    ctx: &Ctx<'_>,
    at: Option<usize>,
    lang: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    match lang {
        Some(l)
            if l == "auto"
                || (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()) =>
        {
            Ok(Some(l.to_string()))
        }
        Some(l) => Err(ctx.err(
            at,
            "language",
            format!("{l:?} is not a language code like \"en\" or \"auto\""),
        )),
        None => Ok(None),
    }
}

fn engine(ctx: &Ctx<'_>, engine: Option<&str>) -> Result<EngineKind, ConfigError> {
    match engine.unwrap_or("whisper") {
        "whisper" => Ok(EngineKind::Whisper),
        "fake" => Ok(EngineKind::Fake { speed: 0.0 }),
        other => match other
            .strip_prefix("fake:")
            .and_then(|s| s.parse::<f64>().ok())
        {
            Some(speed) if speed >= 0.0 => Ok(EngineKind::Fake { speed }),
            _ => Err(ctx.err(
                None,
                "engine",
                format!("{other:?} is not \"whisper\" (or \"fake\", for tests)"),
            )),
        },
    }
}

fn threads(ctx: &Ctx<'_>, raw: Option<RawThreads>, workers: usize) -> Result<usize, ConfigError> {
    let auto = (available_cores() / workers).max(1);
    match raw {
        None => Ok(auto),
        Some(RawThreads::Word(w)) if w == "auto" => Ok(auto),
        Some(RawThreads::Count(n)) if (1..=256).contains(&n) => Ok(n as usize),
        Some(RawThreads::Count(n)) => Err(ctx.err(
            None,
            "threads_per_worker",
            format!("{n} is out of range 1..=256"),
        )),
        Some(RawThreads::Word(w)) => Err(ctx.err(
            None,
            "threads_per_worker",
            format!("{w:?} is not a number or \"auto\""),
        )),
    }
}

fn log_level(ctx: &Ctx<'_>, level: Option<String>) -> Result<String, ConfigError> {
    let level = level.unwrap_or_else(|| "info".into());
    match level.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" => Ok(level),
        _ => Err(ctx.err(
            None,
            "log_level",
            format!("{level:?} is not one of error, warn, info, debug, trace"),
        )),
    }
}

/// A warning when workers x threads exceeds the cores (that runs many times slower).
pub fn cores_warning(cfg: &Config) -> Option<String> {
    let cores = available_cores();
    (cfg.concurrency * cfg.threads_per_worker > cores).then(|| {
        format!(
            "concurrency {} x threads_per_worker {} exceeds the {cores} cores: transcription will be much slower",
            cfg.concurrency, cfg.threads_per_worker
        )
    })
}

/// Lexically cleans `a/./b/../c` -> `a/c` (no symlink resolution: folders may not exist yet).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The effective configuration, as TOML.
pub fn render(cfg: &Config) -> String {
    let fmts = |f: &[Format]| {
        f.iter()
            .map(|f| format!("{:?}", f.extension()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let engine = match &cfg.engine {
        EngineKind::Whisper => "whisper".to_string(),
        EngineKind::Fake { speed } => format!("fake:{speed}"),
    };
    let mut out = format!(
        "state_dir = {:?}\nmodel = {:?}\nengine = {engine:?}\nlanguage = {:?}\nformats = [{}]\nconcurrency = {}\nthreads_per_worker = {}\nbeam_size = {}\nsettle_seconds = {}\nrescan_seconds = {}\nmax_attempts = {}\nmax_duration_seconds = {}\nmax_depth = {}\nshutdown_grace_seconds = {}\ncontrol_dir = {:?}\nlog_level = {:?}\n",
        cfg.state_dir, cfg.model, cfg.language, fmts(&cfg.formats), cfg.concurrency, cfg.threads_per_worker,
        cfg.beam_size, cfg.settle_seconds, cfg.rescan_seconds, cfg.max_attempts, cfg.max_duration_seconds,
        cfg.max_depth, cfg.shutdown_grace_seconds, cfg.control_dir, cfg.log_level,
    );
    for i in &cfg.inboxes {
        out.push_str(&format!(
            "\n[[inbox]]\nname = {:?}\npath = {:?}\noutbox = {:?}\nformats = [{}]\nlanguage = {:?}\npriority = {}\noriginals = {:?}\narchive = {:?}\nwatch = {:?}\n",
            i.name, i.path, i.outbox, fmts(&i.formats), i.language, i.priority,
            format!("{:?}", i.originals).to_lowercase(), i.archive, format!("{:?}", i.watch).to_lowercase(),
        ));
    }
    out
}
