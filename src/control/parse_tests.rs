//! Command parser tests: every verb, both syntaxes, and the rejections.

use super::*;

fn ok(text: &str) -> Command {
    parse_command(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn bad(text: &str) -> String {
    parse_command(text).unwrap_err().0
}

#[test]
fn every_verb_parses() {
    assert_eq!(
        ok("pause batch=meeting-2026-11-29"),
        Command::Pause {
            target: Target::Batch("meeting-2026-11-29".into()),
            now: false
        }
    );
    assert_eq!(
        ok("pause inbox=calls --now"),
        Command::Pause {
            target: Target::Inbox("calls".into()),
            now: true
        }
    );
    assert_eq!(
        ok("PAUSE all\n"),
        Command::Pause {
            target: Target::All,
            now: false
        }
    );
    assert_eq!(
        ok("resume all"),
        Command::Resume {
            target: Target::All
        }
    );
    assert_eq!(ok("cancel batch=x"), Command::Cancel { batch: "x".into() });
    assert_eq!(
        ok("retry batch=x"),
        Command::Retry {
            batch: "x".into(),
            item: None
        }
    );
    assert_eq!(
        ok("retry batch=x item=sub/a.wav"),
        Command::Retry {
            batch: "x".into(),
            item: Some("sub/a.wav".into())
        }
    );
    assert_eq!(
        ok("remove batch=x item=a.wav --delete-file"),
        Command::Remove {
            batch: "x".into(),
            item: "a.wav".into(),
            delete_file: true
        }
    );
    assert_eq!(
        ok("delete batch=x purge=true"),
        Command::Delete {
            batch: "x".into(),
            purge: true,
            force: false
        }
    );
    assert_eq!(
        ok("set batch=x priority=-3"),
        Command::SetPriority {
            batch: "x".into(),
            priority: -3
        }
    );
    assert_eq!(
        ok("set concurrency=4"),
        Command::SetConcurrency { concurrency: 4 }
    );
    assert_eq!(
        ok("list state=running per_page=5"),
        Command::List {
            state: Some("running".into()),
            inbox: None,
            page: 1,
            per_page: 5
        }
    );
    assert_eq!(ok("show batch=7"), Command::Show { batch: "7".into() });
}

#[test]
fn json_form_is_the_same_command() {
    assert_eq!(
        ok(r#"{"op":"cancel","batch":"meeting-2026-11-29"}"#),
        ok("cancel batch=meeting-2026-11-29")
    );
    assert_eq!(
        ok(r#"{"op":"pause","inbox":"calls","now":true}"#),
        ok("pause inbox=calls now")
    );
    assert_eq!(
        ok(r#"{"op":"set","concurrency":3}"#),
        Command::SetConcurrency { concurrency: 3 }
    );
}

#[test]
fn mistakes_are_named() {
    assert_eq!(bad("cancel batch=x prio=3"), "bad key \"prio\"");
    assert_eq!(bad("frobnicate batch=x"), "unknown command \"frobnicate\"");
    assert_eq!(bad("cancel"), "missing batch=...");
    assert_eq!(bad("cancel batch=../etc"), "bad batch \"../etc\"");
    assert_eq!(
        bad("retry batch=x item=/etc/passwd"),
        "bad item \"/etc/passwd\""
    );
    assert_eq!(
        bad("set concurrency=11"),
        "concurrency 11 is out of range 1..=10"
    );
    assert_eq!(
        bad("set batch=x priority=high"),
        "bad number \"high\" for \"priority\""
    );
    assert_eq!(bad("pause"), "say what: all, inbox=NAME or batch=NAME");
    assert_eq!(
        bad("pause all inbox=a"),
        "give only one of all, inbox=, batch="
    );
    assert_eq!(
        bad("pause all now=maybe"),
        "bad value \"maybe\" for \"now\" (true or false)"
    );
    assert_eq!(bad("cancel batch=a batch=b"), "key \"batch\" given twice");
    assert_eq!(bad("  \n"), "empty command");
    assert!(bad("\u{1}\u{2}binary").contains("control characters"));
    assert!(bad("{not json").starts_with("bad JSON"));
    assert_eq!(bad("[1,2]"), "unknown command \"[1,2]\"");
}

proptest::proptest! {
    /// Any input gives a command or an error, never a panic.
    #[test]
    fn never_panics(text in ".{0,200}") {
        let _ = parse_command(&text);
    }
}
