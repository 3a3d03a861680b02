//! The redb tables and the schema version. Change a record's shape -> bump its codec version.

use redb::TableDefinition;

/// Version of the database layout as a whole. Stored in `meta`; a newer one is refused.
pub const SCHEMA_VERSION: u64 = 1;

/// `schema_version` and `next_id` (ids for batches and items, never reused).
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Batch id -> versioned batch record.
pub const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
/// Item id -> versioned item record.
pub const ITEMS: TableDefinition<u64, &[u8]> = TableDefinition::new("items");

pub const KEY_SCHEMA: &str = "schema_version";
pub const KEY_NEXT_ID: &str = "next_id";
/// Control records: command pauses (`pause:...`), applied command claims (`claim:...`),
/// removed-file tombstones (`removed:...`). Values are versioned JSON like records.
pub const CONTROL: TableDefinition<&str, &[u8]> = TableDefinition::new("control");
