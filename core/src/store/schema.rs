//! The schema version and the migrations that bring an older database up to date.
//!
//! `meta.schema_version` holds the version (sealed, like every value). A database with
//! no `meta` table is version 0. `MIGRATIONS[n]` takes a database from version `n` to
//! `n + 1`; each runs in its own write transaction together with the version bump, so a
//! crash during an upgrade leaves a database at one version or the next.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, WriteTransaction};

use super::rows::{Keys, Table};
use super::{StoreError, db_error};

/// The schema version this build writes.
pub(super) const SCHEMA_VERSION: u32 = 2;

const VERSION_KEY: &[u8] = b"schema_version";

/// A step from one schema version to the next.
type Migration = fn(&WriteTransaction, &Keys, &Path) -> Result<(), StoreError>;

/// `MIGRATIONS[n]` migrates version `n` to `n + 1`.
const MIGRATIONS: [Migration; SCHEMA_VERSION as usize] = [create_tables, add_forks];

/// Version 0 → 1: create the tables of schema 1.
fn create_tables(txn: &WriteTransaction, _keys: &Keys, path: &Path) -> Result<(), StoreError> {
    for table in [
        Table::Meta,
        Table::Profile,
        Table::Groups,
        Table::Docs,
        Table::Authors,
        Table::Envelopes,
    ] {
        txn.open_table(table.def()).map_err(db_error(path))?;
    }
    Ok(())
}

/// Version 1 → 2: a table for fork evidence.
fn add_forks(txn: &WriteTransaction, _keys: &Keys, path: &Path) -> Result<(), StoreError> {
    txn.open_table(Table::Forks.def()).map_err(db_error(path))?;
    Ok(())
}

/// The schema version of `db` (0 when it has none yet).
pub(super) fn read_version(db: &Database, keys: &Keys, path: &Path) -> Result<u32, StoreError> {
    let txn = db.begin_read().map_err(db_error(path))?;
    let meta = match txn.open_table(Table::Meta.def()) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(err) => return Err(db_error(path)(err)),
    };
    let Some(sealed) = meta.get(VERSION_KEY).map_err(db_error(path))? else {
        return Ok(0);
    };
    let raw = keys.open(path, Table::Meta, VERSION_KEY, sealed.value())?;
    let bytes: [u8; 4] = raw
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::corrupt(path, "the schema version is malformed"))?;
    Ok(u32::from_le_bytes(bytes))
}

fn write_version(
    txn: &WriteTransaction,
    keys: &Keys,
    path: &Path,
    version: u32,
) -> Result<(), StoreError> {
    let mut meta = txn.open_table(Table::Meta.def()).map_err(db_error(path))?;
    let sealed = keys.seal(Table::Meta, VERSION_KEY, &version.to_le_bytes());
    meta.insert(VERSION_KEY, sealed.as_slice())
        .map_err(db_error(path))?;
    Ok(())
}

/// Brings `db` to `target` (normally [`SCHEMA_VERSION`]), refusing a newer database.
pub(super) fn upgrade(
    db: &Database,
    keys: &Keys,
    path: &Path,
    target: u32,
) -> Result<(), StoreError> {
    let found = read_version(db, keys, path)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for version in found..target.min(SCHEMA_VERSION) {
        let Some(migration) = MIGRATIONS.get(version as usize) else {
            break;
        };
        let mut txn = db.begin_write().map_err(db_error(path))?;
        txn.set_durability(Durability::Immediate)
            .map_err(db_error(path))?;
        migration(&txn, keys, path)?;
        write_version(&txn, keys, path, version + 1)?;
        txn.commit().map_err(db_error(path))?;
        tracing::info!(
            from = version,
            to = version + 1,
            "migrated the store schema"
        );
    }
    Ok(())
}

/// Test-only: records `version` as the schema version without migrating.
#[cfg(test)]
pub(super) fn force_version(
    db: &Database,
    keys: &Keys,
    path: &Path,
    version: u32,
) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(db_error(path))?;
    write_version(&txn, keys, path, version)?;
    txn.commit().map_err(db_error(path))
}
