//! The redb store: the single source of truth for batches and items.

mod codec;
mod schema;

pub use codec::{decode_batch, decode_item, encode, CodecError};
pub use schema::SCHEMA_VERSION;

use crate::model::{Batch, BatchId, Item, ItemId};
use redb::{Database, DatabaseError, ReadableTable};
use schema::{BATCHES, CONTROL, ITEMS, KEY_NEXT_ID, KEY_SCHEMA, META};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another voiceflowd is running on {0} (the database is locked)")]
    Locked(PathBuf),
    #[error("{path}: written by a newer voiceflowd (schema {found}, this one knows {SCHEMA_VERSION}); refusing to open it")]
    Newer { path: PathBuf, found: u64 },
    #[error("{path}: cannot open the database ({reason}); it is left untouched")]
    Open { path: PathBuf, reason: String },
    #[error("{path}: corrupt record {what} {id}: {source}")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        id: u64,
        source: CodecError,
    },
    #[error("database error: {0}")]
    Db(String),
}

fn db_err(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db(e.into().to_string())
}

/// Everything the database holds, loaded at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub batches: Vec<Batch>,
    pub items: Vec<Item>,
    /// Control records by key (pauses, claims, tombstones).
    pub control: Vec<(String, Vec<u8>)>,
    pub next_id: u64,
}

/// Writes to apply in one transaction.
#[derive(Debug, Default)]
pub struct Changes {
    pub batches: Vec<Batch>,
    pub items: Vec<Item>,
    pub removed_batches: Vec<BatchId>,
    pub removed_items: Vec<ItemId>,
    pub control: Vec<(String, Vec<u8>)>,
    pub removed_control: Vec<String>,
    pub next_id: Option<u64>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
            && self.items.is_empty()
            && self.removed_batches.is_empty()
            && self.removed_items.is_empty()
            && self.control.is_empty()
            && self.removed_control.is_empty()
            && self.next_id.is_none()
    }
}

pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the database; refuses a locked, corrupt or newer one.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let opened = if path.exists() {
            Database::open(path)
        } else {
            Database::create(path)
        };
        let db = opened.map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.to_path_buf()),
            other => StoreError::Open {
                path: path.to_path_buf(),
                reason: other.to_string(),
            },
        })?;
        let store = Store {
            db,
            path: path.to_path_buf(),
        };
        store.check_schema()?;
        Ok(store)
    }

    /// Creates the tables on first use; refuses a newer schema.
    fn check_schema(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut meta = tx.open_table(META).map_err(db_err)?;
            let found = meta.get(KEY_SCHEMA).map_err(db_err)?.map(|v| v.value());
            match found {
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::Newer {
                        path: self.path.clone(),
                        found: v,
                    });
                }
                Some(_) => {}
                None => {
                    meta.insert(KEY_SCHEMA, SCHEMA_VERSION).map_err(db_err)?;
                }
            }
            tx.open_table(BATCHES).map_err(db_err)?;
            tx.open_table(ITEMS).map_err(db_err)?;
            tx.open_table(CONTROL).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// Reads every batch and item.
    pub fn load(&self) -> Result<Snapshot, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        let next_id = meta
            .get(KEY_NEXT_ID)
            .map_err(db_err)?
            .map_or(1, |v| v.value());
        let mut snap = Snapshot {
            next_id,
            ..Snapshot::default()
        };
        for row in tx
            .open_table(BATCHES)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = row.map_err(db_err)?;
            let batch = decode_batch(v.value())
                .map_err(|source| self.corrupt("batch", k.value(), source))?;
            snap.batches.push(batch);
        }
        for row in tx
            .open_table(ITEMS)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = row.map_err(db_err)?;
            let item =
                decode_item(v.value()).map_err(|source| self.corrupt("item", k.value(), source))?;
            snap.items.push(item);
        }
        for row in tx
            .open_table(CONTROL)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = row.map_err(db_err)?;
            snap.control
                .push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(snap)
    }

    fn corrupt(&self, what: &'static str, id: u64, source: CodecError) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
            id,
            source,
        }
    }

    /// Applies `changes` in one durable write transaction.
    pub fn commit(&self, changes: &Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut batches = tx.open_table(BATCHES).map_err(db_err)?;
            for b in &changes.batches {
                batches.insert(b.id, encode(b).as_slice()).map_err(db_err)?;
            }
            for id in &changes.removed_batches {
                batches.remove(*id).map_err(db_err)?;
            }
            let mut items = tx.open_table(ITEMS).map_err(db_err)?;
            for i in &changes.items {
                items.insert(i.id, encode(i).as_slice()).map_err(db_err)?;
            }
            for id in &changes.removed_items {
                items.remove(*id).map_err(db_err)?;
            }
            let mut control = tx.open_table(CONTROL).map_err(db_err)?;
            for (k, v) in &changes.control {
                control.insert(k.as_str(), v.as_slice()).map_err(db_err)?;
            }
            for k in &changes.removed_control {
                control.remove(k.as_str()).map_err(db_err)?;
            }
            if let Some(next) = changes.next_id {
                tx.open_table(META)
                    .map_err(db_err)?
                    .insert(KEY_NEXT_ID, next)
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }
}

#[cfg(test)]
mod tests;
