//! Store tests: round trip, locking, refusing newer and corrupt databases.

use super::*;
use crate::model::{Fingerprint, RelPath};

fn batch(id: u64) -> Batch {
    Batch {
        id,
        inbox: "in".into(),
        name: format!("b{id}"),
        is_folder: true,
        priority: 0,
        created_at: 1,
        started_at: None,
        finished_at: None,
        cancelled_at: None,
        cancelled_by: None,
    }
}

fn item(id: u64, batch: u64) -> Item {
    let rel = RelPath::new(std::path::Path::new("b/x.wav")).unwrap();
    Item::new(id, batch, rel.clone(), rel, Fingerprint::default(), 5)
}

#[test]
fn commits_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let store = Store::open(&path).unwrap();
        let changes = Changes {
            batches: vec![batch(1), batch(2)],
            items: vec![item(3, 1), item(4, 2)],
            next_id: Some(5),
            ..Changes::default()
        };
        store.commit(&changes).unwrap();
        let removal = Changes {
            removed_batches: vec![2],
            removed_items: vec![4],
            ..Changes::default()
        };
        store.commit(&removal).unwrap();
    }
    let snap = Store::open(&path).unwrap().load().unwrap();
    assert_eq!(snap.next_id, 5);
    assert_eq!(snap.batches, vec![batch(1)]);
    assert_eq!(snap.items, vec![item(3, 1)]);
}

#[test]
fn second_open_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let _first = Store::open(&path).unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(
        err.to_string().contains("another voiceflowd is running"),
        "{err}"
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let db = Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(META)
            .unwrap()
            .insert(KEY_SCHEMA, SCHEMA_VERSION + 1)
            .unwrap();
        tx.commit().unwrap();
    }
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Newer { .. }), "{err}");
}

#[test]
fn garbage_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let garbage = vec![0x5a; 8192];
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn corrupt_record_is_reported_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let store = Store::open(&path).unwrap();
    let tx = store.db.begin_write().unwrap();
    tx.open_table(ITEMS)
        .unwrap()
        .insert(9, &[1u8, b'x'][..])
        .unwrap();
    tx.commit().unwrap();
    let err = store.load().unwrap_err();
    assert!(err.to_string().contains("corrupt record item 9"), "{err}");
}
