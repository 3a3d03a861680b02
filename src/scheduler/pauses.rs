//! Who paused what: commands and signals (persisted), and PAUSE marker files (live).

use crate::model::{Batch, BatchId, Millis};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Who asked and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub by: String,
    pub at: Millis,
}

/// What a commanded pause covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    All,
    Inbox(String),
    Batch(BatchId),
}

impl Scope {
    /// The control-table key of this pause.
    pub fn key(&self) -> String {
        match self {
            Scope::All => "pause:all".into(),
            Scope::Inbox(name) => format!("pause:inbox:{name}"),
            Scope::Batch(id) => format!("pause:batch:{id}"),
        }
    }

    fn from_key(key: &str) -> Option<Scope> {
        let rest = key.strip_prefix("pause:")?;
        match rest.split_once(':') {
            None if rest == "all" => Some(Scope::All),
            Some(("inbox", name)) => Some(Scope::Inbox(name.into())),
            Some(("batch", id)) => id.parse().ok().map(Scope::Batch),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Pauses {
    pub commanded: BTreeMap<Scope, Note>,
    pub global_marker: Option<Note>,
    pub inbox_markers: HashMap<String, Note>,
    /// Markers inside batch folders: inbox -> folder names.
    pub batch_markers: HashMap<String, BTreeMap<String, Note>>,
}

impl Pauses {
    /// Restores commanded pauses from the control table.
    pub fn load<'a>(records: impl Iterator<Item = (&'a str, &'a [u8])>) -> Pauses {
        let mut p = Pauses::default();
        for (key, value) in records {
            let (Some(scope), Ok(note)) =
                (Scope::from_key(key), serde_json::from_slice::<Note>(value))
            else {
                continue;
            };
            p.commanded.insert(scope, note);
        }
        p
    }

    /// The pause holding `batch` back, if any (the widest one first).
    pub fn of(&self, batch: &Batch) -> Option<&Note> {
        self.commanded
            .get(&Scope::All)
            .or(self.global_marker.as_ref())
            .or_else(|| self.commanded.get(&Scope::Inbox(batch.inbox.clone())))
            .or_else(|| self.inbox_markers.get(&batch.inbox))
            .or_else(|| self.commanded.get(&Scope::Batch(batch.id)))
            .or_else(|| {
                let folders = self.batch_markers.get(&batch.inbox)?;
                folders.get(&batch.name).filter(|_| batch.is_folder)
            })
    }

    /// Replaces an inbox's marker set from a scan; returns true when something changed.
    pub fn set_inbox_markers(
        &mut self,
        inbox: &str,
        top: bool,
        folders: &BTreeSet<String>,
        now: Millis,
    ) -> bool {
        let note = |what: String| Note {
            by: format!("marker {what}"),
            at: now,
        };
        let before_top = self.inbox_markers.contains_key(inbox);
        if top && !before_top {
            self.inbox_markers
                .insert(inbox.into(), note(format!("{inbox}/PAUSE")));
        } else if !top && before_top {
            self.inbox_markers.remove(inbox);
        }
        let entry = self.batch_markers.entry(inbox.into()).or_default();
        let before: BTreeSet<String> = entry.keys().cloned().collect();
        entry.retain(|name, _| folders.contains(name));
        for f in folders {
            entry
                .entry(f.clone())
                .or_insert_with(|| note(format!("{inbox}/{f}/PAUSE")));
        }
        before_top != top || &before != folders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: u64, inbox: &str, name: &str) -> Batch {
        Batch {
            id,
            inbox: inbox.into(),
            name: name.into(),
            is_folder: true,
            priority: 0,
            created_at: 0,
            started_at: None,
            finished_at: None,
            cancelled_at: None,
            cancelled_by: None,
        }
    }

    #[test]
    fn every_scope_and_source_pauses() {
        let b = batch(3, "calls", "monday");
        let mut p = Pauses::default();
        assert!(p.of(&b).is_none());
        p.commanded.insert(
            Scope::Batch(3),
            Note {
                by: "cli".into(),
                at: 1,
            },
        );
        assert_eq!(p.of(&b).unwrap().by, "cli");
        assert!(p.of(&batch(4, "calls", "tuesday")).is_none());
        p.commanded.clear();
        assert!(p.set_inbox_markers("calls", false, &["monday".to_string()].into(), 5));
        assert_eq!(p.of(&b).unwrap().by, "marker calls/monday/PAUSE");
        assert!(!p.set_inbox_markers("calls", false, &["monday".to_string()].into(), 6));
        p.set_inbox_markers("calls", true, &BTreeSet::new(), 7);
        assert_eq!(
            p.of(&batch(4, "calls", "tuesday")).unwrap().by,
            "marker calls/PAUSE"
        );
        p.global_marker = Some(Note {
            by: "marker /c/PAUSE".into(),
            at: 8,
        });
        assert_eq!(p.of(&batch(5, "other", "x")).unwrap().by, "marker /c/PAUSE");
    }

    #[test]
    fn keys_round_trip() {
        for s in [Scope::All, Scope::Inbox("a:b".into()), Scope::Batch(42)] {
            assert_eq!(Scope::from_key(&s.key()), Some(s));
        }
    }
}
