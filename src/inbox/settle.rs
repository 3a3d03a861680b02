//! Settle detection: a file is complete once its size and mtime held still long enough.

use super::scan::Entry;
use crate::model::RelPath;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What one scan revealed, relative to the previous ones.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// First seen (or seen again with new content): record as waiting.
    pub seen: Vec<Entry>,
    /// Held still for the settle time across at least two looks: ready to be an item.
    pub settled: Vec<Entry>,
    /// Gone from a complete scan.
    pub gone: Vec<RelPath>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty() && self.settled.is_empty() && self.gone.is_empty()
    }
}

#[derive(Debug)]
struct Tracked {
    size: u64,
    mtime_ns: i64,
    still_since: Instant,
    looks: u32,
    settled: bool,
}

/// Remembers every file of one inbox between scans.
#[derive(Debug)]
pub struct Settler {
    settle: Duration,
    files: HashMap<RelPath, Tracked>,
}

impl Settler {
    pub fn new(settle: Duration) -> Self {
        Settler {
            settle,
            files: HashMap::new(),
        }
    }

    pub fn set_settle(&mut self, settle: Duration) {
        self.settle = settle;
    }

    /// True while some file still waits to settle (the inbox should look again soon).
    pub fn has_unsettled(&self) -> bool {
        self.files.values().any(|t| !t.settled)
    }

    /// Feeds one scan; `complete` says whether absence means deletion.
    pub fn observe(&mut self, entries: Vec<Entry>, complete: bool, now: Instant) -> Changes {
        let mut changes = Changes::default();
        if complete {
            let present: std::collections::HashSet<&RelPath> =
                entries.iter().map(|e| &e.rel).collect();
            let gone: Vec<RelPath> = self
                .files
                .keys()
                .filter(|k| !present.contains(k))
                .cloned()
                .collect();
            for rel in gone {
                self.files.remove(&rel);
                changes.gone.push(rel);
            }
        }
        for entry in entries {
            self.observe_one(entry, now, &mut changes);
        }
        changes
    }

    fn observe_one(&mut self, entry: Entry, now: Instant, changes: &mut Changes) {
        let settle = self.settle;
        let Some(t) = self.files.get_mut(&entry.rel) else {
            let tracked = Tracked {
                size: entry.size,
                mtime_ns: entry.mtime_ns,
                still_since: now,
                looks: 1,
                settled: false,
            };
            self.files.insert(entry.rel.clone(), tracked);
            changes.seen.push(entry);
            return;
        };
        if (t.size, t.mtime_ns) != (entry.size, entry.mtime_ns) {
            *t = Tracked {
                size: entry.size,
                mtime_ns: entry.mtime_ns,
                still_since: now,
                looks: 1,
                settled: false,
            };
            changes.seen.push(entry);
            return;
        }
        t.looks += 1;
        if !t.settled && t.looks >= 2 && now.duration_since(t.still_since) >= settle {
            t.settled = true;
            changes.settled.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn e(name: &str, size: u64, mtime: i64) -> Entry {
        Entry {
            rel: RelPath::new(Path::new(name)).unwrap(),
            size,
            mtime_ns: mtime,
            is_media: true,
            hash: 0,
        }
    }

    fn names(v: &[Entry]) -> Vec<String> {
        v.iter().map(|e| e.rel.display()).collect()
    }

    #[test]
    fn settles_only_after_holding_still_for_the_settle_time() {
        let t0 = Instant::now();
        let s = Duration::from_secs(5);
        let mut st = Settler::new(s);
        let c = st.observe(vec![e("a.wav", 10, 1)], true, t0);
        assert_eq!(names(&c.seen), ["a.wav"]);
        assert!(st
            .observe(vec![e("a.wav", 10, 1)], true, t0 + Duration::from_secs(4))
            .settled
            .is_empty());
        let c = st.observe(vec![e("a.wav", 10, 1)], true, t0 + s);
        assert_eq!(names(&c.settled), ["a.wav"]);
        assert!(!st.has_unsettled());
        // Reported once.
        assert!(st
            .observe(vec![e("a.wav", 10, 1)], true, t0 + s * 3)
            .is_empty());
    }

    #[test]
    fn a_growing_file_waits_as_long_as_it_grows() {
        let t0 = Instant::now();
        let mut st = Settler::new(Duration::from_secs(2));
        for i in 0..20u64 {
            let c = st.observe(
                vec![e("slow.wav", 100 * (i + 1), i as i64)],
                true,
                t0 + Duration::from_secs(i),
            );
            assert!(c.settled.is_empty(), "settled while growing at {i}");
        }
        let c = st.observe(
            vec![e("slow.wav", 2000, 19)],
            true,
            t0 + Duration::from_secs(21),
        );
        assert_eq!(names(&c.settled), ["slow.wav"]);
    }

    #[test]
    fn a_single_late_look_is_not_enough() {
        let t0 = Instant::now();
        let mut st = Settler::new(Duration::from_secs(1));
        st.observe(vec![e("a.wav", 1, 1)], true, t0);
        // Second look much later: two looks, held still: settles.
        assert_eq!(
            st.observe(vec![e("a.wav", 1, 1)], true, t0 + Duration::from_secs(9))
                .settled
                .len(),
            1
        );
    }

    #[test]
    fn deletions_count_only_in_complete_scans() {
        let t0 = Instant::now();
        let mut st = Settler::new(Duration::from_secs(1));
        st.observe(vec![e("a.wav", 1, 1), e("b.wav", 1, 1)], true, t0);
        assert!(st.observe(vec![], false, t0).gone.is_empty());
        let c = st.observe(vec![e("a.wav", 1, 1)], true, t0);
        assert_eq!(c.gone, vec![RelPath::new(Path::new("b.wav")).unwrap()]);
    }

    #[test]
    fn changed_content_is_seen_again_and_resettles() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut st = Settler::new(s);
        st.observe(vec![e("a.wav", 1, 1)], true, t0);
        st.observe(vec![e("a.wav", 1, 1)], true, t0 + s);
        let c = st.observe(vec![e("a.wav", 2, 2)], true, t0 + s * 2);
        assert_eq!(names(&c.seen), ["a.wav"]);
        st.observe(vec![e("a.wav", 2, 2)], true, t0 + s * 3);
        assert!(!st.has_unsettled());
    }
}
