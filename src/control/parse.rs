//! Parses a command file: `verb [all] key=value ...` or the same as a JSON object.

use super::{Command, Target};
use std::collections::BTreeMap;

/// Why a command text was rejected; the message goes into the result file as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parses one command from the text of a command file.
pub fn parse_command(text: &str) -> Result<Command, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return err("empty command");
    }
    if text.contains('\0') || text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return err("not a text command (control characters)");
    }
    let (verb, args) = if text.starts_with('{') {
        from_json(text)?
    } else {
        from_words(text)?
    };
    build(&verb, Args::new(args))
}

/// `pause inbox=calls now` -> ("pause", {inbox: calls, now: true}); a bare `all` is `all=true`.
fn from_words(text: &str) -> Result<(String, BTreeMap<String, String>), ParseError> {
    let mut words = text.split_whitespace();
    let verb = words.next().unwrap_or_default().to_ascii_lowercase();
    let mut args = BTreeMap::new();
    for w in words {
        let w = w.trim_start_matches("--");
        let (k, v) = w.split_once('=').unwrap_or((w, "true"));
        if args.insert(k.replace('-', "_"), v.to_string()).is_some() {
            return err(format!("key {k:?} given twice"));
        }
    }
    Ok((verb, args))
}

fn from_json(text: &str) -> Result<(String, BTreeMap<String, String>), ParseError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ParseError(format!("bad JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return err("JSON command must be an object");
    };
    let mut args = BTreeMap::new();
    for (k, v) in obj {
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return err(format!("bad value for key {k:?}")),
        };
        args.insert(k.clone(), v);
    }
    let verb = args.remove("op").or_else(|| args.remove("command"));
    let Some(verb) = verb else {
        return err("JSON command needs \"op\"");
    };
    Ok((verb.to_ascii_lowercase(), args))
}

/// The arguments of one command; every key must be used, so typos are errors.
struct Args(BTreeMap<String, String>);

impl Args {
    fn new(map: BTreeMap<String, String>) -> Args {
        Args(map)
    }

    fn take(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    fn flag(&mut self, key: &str) -> Result<bool, ParseError> {
        match self.take(key).as_deref() {
            None | Some("false") | Some("no") | Some("0") => Ok(false),
            Some("true") | Some("yes") | Some("1") => Ok(true),
            Some(v) => err(format!("bad value {v:?} for {key:?} (true or false)")),
        }
    }

    fn name(&mut self, key: &str) -> Result<String, ParseError> {
        let v = self
            .take(key)
            .ok_or_else(|| ParseError(format!("missing {key}=...")))?;
        check_name(key, &v)?;
        Ok(v)
    }

    fn number(&mut self, key: &str) -> Result<i64, ParseError> {
        let v = self
            .take(key)
            .ok_or_else(|| ParseError(format!("missing {key}=...")))?;
        v.parse()
            .map_err(|_| ParseError(format!("bad number {v:?} for {key:?}")))
    }

    fn finish(self, cmd: Command) -> Result<Command, ParseError> {
        match self.0.keys().next() {
            Some(k) => err(format!("bad key {k:?}")),
            None => Ok(cmd),
        }
    }

    fn target(&mut self) -> Result<Target, ParseError> {
        let all = self.flag("all")?;
        match (all, self.take("inbox"), self.take("batch")) {
            (true, None, None) => Ok(Target::All),
            (false, Some(i), None) => check_name("inbox", &i).map(|()| Target::Inbox(i)),
            (false, None, Some(b)) => check_name("batch", &b).map(|()| Target::Batch(b)),
            (false, None, None) => err("say what: all, inbox=NAME or batch=NAME"),
            _ => err("give only one of all, inbox=, batch="),
        }
    }
}

/// Batch, inbox and item names: no path tricks, nothing huge.
fn check_name(key: &str, v: &str) -> Result<(), ParseError> {
    let bad = v.is_empty()
        || v.len() > 4096
        || v.split('/').any(|p| p == ".." || p == ".")
        || v.starts_with('/');
    if bad {
        return err(format!("bad {key} {v:?}"));
    }
    Ok(())
}

fn build(verb: &str, mut a: Args) -> Result<Command, ParseError> {
    let cmd = match verb {
        "pause" => Command::Pause {
            target: a.target()?,
            now: a.flag("now")?,
        },
        "resume" => Command::Resume {
            target: a.target()?,
        },
        "cancel" => Command::Cancel {
            batch: a.name("batch")?,
        },
        "retry" => Command::Retry {
            batch: a.name("batch")?,
            item: a
                .take("item")
                .map(|i| check_name("item", &i).map(|()| i))
                .transpose()?,
        },
        "remove" => Command::Remove {
            batch: a.name("batch")?,
            item: a.name("item")?,
            delete_file: a.flag("delete_file")?,
        },
        "delete" => Command::Delete {
            batch: a.name("batch")?,
            purge: a.flag("purge")?,
            force: a.flag("force")?,
        },
        "set" => return build_set(a),
        "list" => Command::List {
            state: a.take("state"),
            inbox: a.take("inbox"),
            page: a.take("page").map_or(Ok(1), |p| {
                p.parse().map_err(|_| ParseError(format!("bad page {p:?}")))
            })?,
            per_page: a.take("per_page").map_or(Ok(20), |p| {
                p.parse()
                    .map_err(|_| ParseError(format!("bad per_page {p:?}")))
            })?,
        },
        "show" => Command::Show {
            batch: a.name("batch")?,
        },
        other => return err(format!("unknown command {:?}", truncate(other))),
    };
    a.finish(cmd)
}

fn build_set(mut a: Args) -> Result<Command, ParseError> {
    if a.0.contains_key("concurrency") {
        let n = a.number("concurrency")?;
        if !(1..=10).contains(&n) {
            return err(format!("concurrency {n} is out of range 1..=10"));
        }
        return a.finish(Command::SetConcurrency {
            concurrency: n as usize,
        });
    }
    let batch = a.name("batch")?;
    let priority = a.number("priority")?;
    a.finish(Command::SetPriority { batch, priority })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
