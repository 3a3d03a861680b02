//! Config parsing and validation tests, including the shipped example config.

use super::*;
use std::fs;

struct Dirs {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    for d in ["inbox", "outbox", "inbox2", "outbox2"] {
        fs::create_dir(root.join(d)).unwrap();
    }
    Dirs { _tmp: tmp, root }
}

fn parse(d: &Dirs, body: &str) -> Result<Config, ConfigError> {
    let src = body.replace("ROOT", &d.root.display().to_string());
    Config::parse(&src, &d.root.join("config.toml"))
}

const MINIMAL: &str = "state_dir = \"ROOT/state\"\n[[inbox]]\nname = \"calls\"\npath = \"ROOT/inbox\"\noutbox = \"ROOT/outbox\"\n";

#[test]
fn minimal_config_gets_documented_defaults() {
    let d = dirs();
    let cfg = parse(&d, MINIMAL).unwrap();
    assert_eq!(cfg.concurrency, 1);
    assert_eq!(cfg.settle_seconds, 5.0);
    assert_eq!(cfg.rescan_seconds, 30.0);
    assert_eq!(cfg.max_attempts, 3);
    assert_eq!(cfg.language, "en");
    assert_eq!(cfg.formats, Format::ALL.to_vec());
    assert_eq!(cfg.control_dir, d.root.join("state/control"));
    assert_eq!(cfg.threads_per_worker, available_cores_for(1));
    let inbox = &cfg.inboxes[0];
    assert_eq!(inbox.originals, Originals::Archive);
    assert_eq!(inbox.archive, d.root.join("state/archive/calls"));
    assert_eq!(inbox.watch, WatchMode::Auto);
    assert_eq!(inbox.priority, 0);
}

fn available_cores_for(workers: usize) -> usize {
    (crate::engine::available_cores() / workers).max(1)
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let d = dirs();
    let err = parse(&d, &format!("{MINIMAL}prio = 3\n")).unwrap_err();
    assert_eq!(err.line, Some(6), "{err}");
    assert!(err.to_string().contains("prio"), "{err}");
}

#[test]
fn missing_outbox_folder_names_key_and_line() {
    let d = dirs();
    let body = format!(
        "{MINIMAL}\n[[inbox]]\nname = \"b\"\npath = \"ROOT/inbox2\"\noutbox = \"ROOT/nope\"\n"
    );
    let err = parse(&d, &body).unwrap_err();
    assert_eq!(err.key, "inbox[1].outbox");
    assert_eq!(err.line, Some(10));
    assert!(
        err.to_string()
            .contains(":10: inbox[1].outbox: folder does not exist"),
        "{err}"
    );
}

#[test]
fn bad_values_are_rejected_by_key() {
    let d = dirs();
    let cases = [
        ("concurrency = 11\n", "concurrency"),
        ("concurrency = 0\n", "concurrency"),
        ("threads_per_worker = \"many\"\n", "threads_per_worker"),
        ("formats = [\"txt\", \"doc\"]\n", "formats"),
        ("settle_seconds = -1.0\n", "settle_seconds"),
        ("language = \"English\"\n", "language"),
        ("engine = \"gpu\"\n", "engine"),
    ];
    for (line, key) in cases {
        let err = parse(&d, &format!("{line}{MINIMAL}")).unwrap_err();
        assert_eq!(err.key, key, "{line}: {err}");
        assert_eq!(err.line, Some(1), "{line}: {err}");
    }
    let err = parse(&d, &format!("{MINIMAL}originals = \"shred\"\n")).unwrap_err();
    assert_eq!(err.key, "inbox[0].originals");
}

#[test]
fn outbox_inside_an_inbox_is_rejected() {
    let d = dirs();
    fs::create_dir(d.root.join("inbox/out")).unwrap();
    let body = MINIMAL.replace("ROOT/outbox", "ROOT/inbox/out");
    let err = parse(&d, &body).unwrap_err();
    assert_eq!(err.key, "inbox[0].outbox", "{err}");
    let body = format!("{MINIMAL}archive = \"ROOT/inbox/archive\"\n");
    assert_eq!(parse(&d, &body).unwrap_err().key, "inbox[0].archive");
    let body = MINIMAL.replace("ROOT/state", "ROOT/inbox/state");
    assert_eq!(parse(&d, &body).unwrap_err().key, "state_dir");
}

#[test]
fn duplicate_and_overlapping_inboxes_are_rejected() {
    let d = dirs();
    let body = format!("{MINIMAL}\n[[inbox]]\nname = \"calls\"\npath = \"ROOT/inbox2\"\noutbox = \"ROOT/outbox2\"\n");
    assert_eq!(parse(&d, &body).unwrap_err().key, "inbox[1].name");
    fs::create_dir(d.root.join("inbox/sub")).unwrap();
    let body = format!("{MINIMAL}\n[[inbox]]\nname = \"sub\"\npath = \"ROOT/inbox/sub\"\noutbox = \"ROOT/outbox2\"\n");
    assert_eq!(parse(&d, &body).unwrap_err().key, "inbox[0].path");
}

#[test]
fn syntax_errors_carry_the_line() {
    let d = dirs();
    let err = parse(&d, "concurrency = 2\nstate_dir = \n").unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
}

#[test]
fn relative_paths_are_relative_to_the_config_file() {
    let d = dirs();
    let body =
        "state_dir = \"state\"\n[[inbox]]\nname = \"a\"\npath = \"inbox\"\noutbox = \"./outbox\"\n";
    let cfg = parse(&d, body).unwrap();
    assert_eq!(cfg.inboxes[0].path, d.root.join("inbox"));
    assert_eq!(cfg.state_dir, d.root.join("state"));
}

#[test]
fn effective_config_round_trips() {
    let d = dirs();
    let cfg = parse(&d, MINIMAL).unwrap();
    let again = Config::parse(&cfg.to_toml(), &d.root.join("config.toml")).unwrap();
    assert_eq!(cfg, again);
}

/// The shipped example documents every key with its default value.
#[test]
fn example_config_parses_and_states_the_defaults() {
    let d = dirs();
    let example = include_str!("../../config/voiceflowd.toml");
    let body = example
        .replace("/srv/voiceflowd/inbox", "ROOT/inbox")
        .replace("/srv/voiceflowd/outbox", "ROOT/outbox")
        .replace("/var/lib/voiceflowd", "ROOT/state");
    let cfg = parse(&d, &body).unwrap();
    let minimal = parse(
        &d,
        &MINIMAL.replace("\"calls\"", &format!("{:?}", cfg.inboxes[0].name)),
    )
    .unwrap();
    assert_eq!(
        cfg, minimal,
        "an example value differs from the built-in default"
    );
}
