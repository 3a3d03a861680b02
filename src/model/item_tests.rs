//! Table-driven and property tests of the item state machine.

use super::*;
use proptest::prelude::*;
use std::path::Path;

fn item() -> Item {
    let rel = RelPath::new(Path::new("b/a.wav")).unwrap();
    Item::new(1, 1, rel.clone(), rel, Fingerprint::default(), 0)
}

fn at(state: ItemState) -> Item {
    Item { state, ..item() }
}

#[test]
fn happy_path() {
    let fp = Fingerprint {
        size: 10,
        mtime_ns: 5,
        hash: 9,
    };
    let i = item().settle(fp, 1).unwrap();
    assert_eq!(
        (i.state, i.seen, i.queued_at),
        (ItemState::Queued, fp, Some(1))
    );
    let i = i.start(2).unwrap();
    assert_eq!((i.state, i.attempts), (ItemState::Running, 1));
    let i = i.succeed(3.5, vec!["a.txt".into()], 4).unwrap();
    assert_eq!(
        (i.state, i.finished_at, i.audio_seconds),
        (ItemState::Done, Some(4), Some(3.5))
    );
    assert!(i.original_done().unwrap().original_handled);
}

type Step = fn(&Item) -> Result<Item, TransitionError>;

#[test]
fn allowed_transitions_by_state() {
    use ItemState::*;
    let table: [(&str, Step, &[ItemState]); 7] = [
        (
            "settle",
            |i| i.settle(Fingerprint::default(), 0),
            &[Waiting],
        ),
        ("start", |i| i.start(0), &[Queued]),
        ("succeed", |i| i.succeed(1.0, vec![], 0), &[Running]),
        ("fail", |i| i.fail("x", false, 3, 0), &[Running]),
        ("requeue", |i| i.requeue(), &[Running]),
        ("cancel", |i| i.cancel(0), &[Waiting, Queued, Running]),
        ("retry", |i| i.retry(0), &[Failed, Cancelled]),
    ];
    for (name, f, allowed) in table {
        for s in ItemState::ALL {
            assert_eq!(f(&at(s)).is_ok(), allowed.contains(&s), "{name} from {s:?}");
        }
    }
}

#[test]
fn transient_errors_back_off_then_fail() {
    let i = at(ItemState::Queued).start(0).unwrap();
    let i = i.fail("disk full", true, 2, 100).unwrap();
    assert_eq!(i.state, ItemState::Queued);
    assert_eq!(i.retry_at, Some(100 + backoff_ms(1)));
    assert!(!i.is_ready(101) && i.is_ready(100 + backoff_ms(1)));
    let i = i
        .start(5000)
        .unwrap()
        .fail("disk full", true, 2, 6000)
        .unwrap();
    assert_eq!((i.state, i.attempts), (ItemState::Failed, 2));
    let permanent = at(ItemState::Queued)
        .start(0)
        .unwrap()
        .fail("no audio track", false, 3, 1)
        .unwrap();
    assert_eq!(permanent.state, ItemState::Failed);
}

#[test]
fn requeue_gives_the_attempt_back_and_recovery_keeps_it() {
    let running = at(ItemState::Queued).start(0).unwrap();
    assert_eq!(running.requeue().unwrap().attempts, 0);
    assert_eq!(running.recover(3, 1).unwrap().attempts, 1);
    let worn = Item {
        attempts: 3,
        ..running
    };
    let failed = worn.recover(3, 1).unwrap();
    assert_eq!(failed.state, ItemState::Failed);
    assert!(failed.error.unwrap().contains("interrupted 3 times"));
}

#[test]
fn backoff_grows_and_caps() {
    assert_eq!(backoff_ms(1), 2_000);
    assert_eq!(backoff_ms(2), 4_000);
    assert_eq!(backoff_ms(30), 300_000);
}

#[derive(Debug, Clone)]
enum Ev {
    Settle,
    Start,
    Succeed,
    Fail(bool),
    Requeue,
    Recover,
    Cancel,
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        Just(Ev::Settle),
        Just(Ev::Start),
        Just(Ev::Succeed),
        any::<bool>().prop_map(Ev::Fail),
        Just(Ev::Requeue),
        Just(Ev::Recover),
        Just(Ev::Cancel),
    ]
}

fn apply(i: &Item, e: &Ev, t: Millis) -> Result<Item, TransitionError> {
    match e {
        Ev::Settle => i.settle(Fingerprint::default(), t),
        Ev::Start => i.start(t),
        Ev::Succeed => i.succeed(1.0, vec![], t),
        Ev::Fail(transient) => i.fail("e", *transient, 3, t),
        Ev::Requeue => i.requeue(),
        Ev::Recover => i.recover(3, t),
        Ev::Cancel => i.cancel(t),
    }
}

proptest! {
    /// Under the daemon's own events: terminal states absorb, done happens at most once,
    /// attempts never exceed the limit and only a requeue gives one back.
    #[test]
    fn automatic_events_keep_the_invariants(events in proptest::collection::vec(ev(), 0..60)) {
        let mut i = item();
        let mut done = 0;
        for (t, e) in events.iter().enumerate() {
            let Ok(next) = apply(&i, e, t as Millis) else { continue };
            prop_assert!(!i.state.is_terminal(), "left terminal {:?} by {:?}", i.state, e);
            if !matches!(e, Ev::Requeue) {
                prop_assert!(next.attempts >= i.attempts);
            }
            prop_assert!(next.attempts <= 3 || next.state == ItemState::Failed);
            done += usize::from(next.state == ItemState::Done);
            i = next;
        }
        prop_assert!(done <= 1);
    }
}
