//! The encrypted, crash-safe store of one data directory.
//!
//! A data directory holds `plenum.redb` (the redb database) and `unlock.json` (how the
//! storage key is protected, see [`Protection`]). The store keeps opaque values — the
//! caller serialises them — in [`Slot`]s: the profile, groups, documents, authors and
//! envelopes. At rest, row keys are keyed hashes, so the file does not reveal which
//! groups, documents or members it holds, and every value is sealed with
//! XChaCha20-Poly1305 bound to its table and row.
//!
//! Writes go through [`Store::commit`]: one redb write transaction with immediate
//! durability, so a commit that returned `Ok` survives a crash or power loss, and a
//! commit that did not is either fully applied or not at all. The node's writer thread
//! commits many [`WriteBatch`]es at once (group commit).
//!
//! ```no_run
//! use plenum_core::store::{Protection, Slot, Store, Unlock, WriteBatch};
//! use std::path::Path;
//! use zeroize::Zeroizing;
//!
//! let dir = Path::new("/tmp/plenum-example");
//! let store = Store::init(dir, Protection::Passphrase {
//!     passphrase: Zeroizing::new("correct horse".into()),
//!     kdf_target: std::time::Duration::from_secs(1),
//! })?;
//! let mut batch = WriteBatch::default();
//! batch.put(Slot::Profile, b"serialised profile".to_vec());
//! store.commit(&[batch])?;
//! drop(store);
//! let store = Store::open(dir, Unlock::Passphrase(Zeroizing::new("correct horse".into())))?;
//! assert_eq!(store.get(Slot::Profile)?.as_deref(), Some(&b"serialised profile"[..]));
//! # Ok::<(), plenum_core::store::StoreError>(())
//! ```

mod batch;
mod error;
mod rows;
mod schema;
mod unlock;

#[cfg(test)]
mod at_rest_tests;
#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use redb::{
    Builder, Database, DatabaseError, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable,
    StorageBackend, WriteTransaction,
};

pub use batch::WriteBatch;
pub use error::StoreError;
pub use rows::Slot;
pub use unlock::{Protection, Unlock, UnlockMethod};

use batch::Op;
use error::db_error;
use rows::{AUTHOR_KEY_LEN, DOC_KEY_LEN, ENVELOPE_KEY_LEN, Keys, Table, prefix_range};
use unlock::HEADER_FILE;

use crate::crypto::{NONCE_LEN, SecretKey, TAG_LEN};
use crate::ids::{DocId, GroupId, MemberId};

/// The database's file name inside the data directory.
const DB_FILE: &str = "plenum.redb";
/// redb's page cache: an upper bound, not an allocation.
const CACHE_BYTES: usize = 128 * 1024 * 1024;
/// How errors name a store opened on a caller's backend.
const BACKEND_LABEL: &str = "(storage backend)";

/// A row as scanned: its key and its opened value.
type Row = (Vec<u8>, Vec<u8>);

/// One author's envelopes in a range, as read by [`Store::envelopes_between`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvelopePage {
    /// The envelopes, in ascending order, each with its sequence number.
    pub envelopes: Vec<(u64, Vec<u8>)>,
    /// Whether envelopes in the range were left out for the byte limit.
    pub truncated: bool,
}

/// The store of one data directory. Cheap to share behind an `Arc`; all methods block.
pub struct Store {
    db: Database,
    keys: Keys,
    /// The database file, for error messages.
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Creates a profile in `dir` (made with mode 0700 if needed), protected as asked.
    ///
    /// Refuses a directory that already holds a profile. `unlock.json` is written last,
    /// so a profile exists only once it is complete.
    pub fn init(dir: &Path, protection: Protection) -> Result<Store, StoreError> {
        let db_path = dir.join(DB_FILE);
        let header_path = dir.join(HEADER_FILE);
        if header_path.exists() || db_path.exists() {
            return Err(StoreError::AlreadyInitialized(dir.to_path_buf()));
        }
        create_private_dir(dir)?;
        let mut options = fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&db_path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::AlreadyInitialized(dir.to_path_buf())
            } else {
                StoreError::io(format!("create {}", db_path.display()))(err)
            }
        })?;
        let key = SecretKey::random();
        let created = redb::backends::FileBackend::new(file)
            .and_then(|backend| builder().create_with_backend(backend))
            .map_err(|err| open_error(dir, &db_path, err))
            .and_then(|db| Store::from_db(db, &key, db_path.clone()))
            .and_then(|store| unlock::create(dir, protection, &key).map(|()| store));
        if created.is_err() {
            // Leave the directory as it was, so that `init` can simply be retried.
            let _ = fs::remove_file(&db_path);
        }
        created
    }

    /// How the profile in `dir` is unlocked, read from its header without unlocking.
    pub fn unlock_method(dir: &Path) -> Result<UnlockMethod, StoreError> {
        unlock::method(dir)
    }

    /// Opens and unlocks the profile in `dir`, upgrading an older schema.
    pub fn open(dir: &Path, unlock: Unlock) -> Result<Store, StoreError> {
        unlock::check(dir)?;
        let db_path = dir.join(DB_FILE);
        if !db_path.exists() {
            return Err(StoreError::corrupt(&db_path, "the file is missing"));
        }
        // Open the database before paying for the key derivation, so that a directory in
        // use is reported at once.
        let db = builder()
            .open(&db_path)
            .map_err(|err| open_error(dir, &db_path, err))?;
        let key = unlock::unlock(dir, unlock)?;
        Store::from_db(db, &key, db_path)
    }

    /// Opens (or creates) a store on a caller's storage backend with the storage key
    /// itself: for crash tests and benchmarks.
    pub fn with_backend(backend: impl StorageBackend, key: SecretKey) -> Result<Store, StoreError> {
        let path = PathBuf::from(BACKEND_LABEL);
        let db = builder()
            .create_with_backend(backend)
            .map_err(|err| open_error(&path, &path, err))?;
        let store = Store::from_db(db, &key, path);
        // Only the derived subkeys are kept; the storage key is wiped now.
        drop(key);
        store
    }

    fn from_db(db: Database, key: &SecretKey, path: PathBuf) -> Result<Store, StoreError> {
        let keys = Keys::new(key);
        schema::upgrade(&db, &keys, &path, schema::SCHEMA_VERSION)?;
        Ok(Store { db, keys, path })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::read_version(&self.db, &self.keys, &self.path)
    }

    /// The value in `slot`, if any.
    pub fn get(&self, slot: Slot<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        let (table, key) = self.keys.row(slot);
        let rows = self.read_table(table)?;
        let Some(sealed) = rows.get(key.as_slice()).map_err(self.err())? else {
            return Ok(None);
        };
        self.keys
            .open(&self.path, table, &key, sealed.value())
            .map(Some)
    }

    /// The values of every group slot.
    pub fn groups(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.read_table(Table::Groups)?;
        let mut out = Vec::new();
        for entry in rows.iter().map_err(self.err())? {
            let (key, sealed) = entry.map_err(self.err())?;
            out.push(
                self.keys
                    .open(&self.path, Table::Groups, key.value(), sealed.value())?,
            );
        }
        Ok(out)
    }

    /// The values of every document slot of `group`.
    pub fn docs_of(&self, group: &GroupId) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = self.keys.group_prefix(group);
        let (low, high) = prefix_range(&prefix, DOC_KEY_LEN);
        self.scan(Table::Docs, &low, &high)
            .map(|rows| rows.into_iter().map(|(_, value)| value).collect())
    }

    /// The fork evidence kept for `group`: the second envelopes of forked chains.
    pub fn forks_of(&self, group: &GroupId) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = self.keys.group_prefix(group);
        let (low, high) = prefix_range(&prefix, ENVELOPE_KEY_LEN);
        self.scan(Table::Forks, &low, &high)
            .map(|rows| rows.into_iter().map(|(_, value)| value).collect())
    }

    /// The values of every author slot of document `doc` of `group`.
    pub fn authors_of(&self, group: &GroupId, doc: &DocId) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = self.keys.doc_prefix(group, doc);
        let (low, high) = prefix_range(&prefix, AUTHOR_KEY_LEN);
        self.scan(Table::Authors, &low, &high)
            .map(|rows| rows.into_iter().map(|(_, value)| value).collect())
    }

    /// The envelopes of `author` in `doc` of `group` with a sequence number above
    /// `after_seq`, in ascending order, each with its sequence number.
    pub fn envelopes(
        &self,
        group: &GroupId,
        doc: &DocId,
        author: &MemberId,
        after_seq: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let Some(first) = after_seq.checked_add(1) else {
            return Ok(Vec::new());
        };
        let prefix = self.keys.author_prefix(group, doc, author);
        let mut low = prefix.clone();
        low.extend_from_slice(&first.to_be_bytes());
        let (_, high) = prefix_range(&prefix, ENVELOPE_KEY_LEN);
        let rows = self.scan(Table::Envelopes, &low, &high)?;
        let mut out = Vec::with_capacity(rows.len());
        for (key, value) in rows {
            let seq = key
                .get(prefix.len()..)
                .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::corrupt(&self.path, "an envelope key is malformed"))?;
            out.push((seq, value));
        }
        Ok(out)
    }

    /// The envelopes of `author` in `doc` of `group` with sequence numbers in
    /// `after_seq + 1 ..= until_seq`, in ascending order, each with its sequence number:
    /// a page for catch-up. Reading stops before the envelopes' total length would exceed
    /// `max_bytes` — except that the first is always returned, so paging never stalls on
    /// an envelope larger than a page. Only what is returned is decrypted.
    pub fn envelopes_between(
        &self,
        group: &GroupId,
        doc: &DocId,
        author: &MemberId,
        after_seq: u64,
        until_seq: u64,
        max_bytes: usize,
    ) -> Result<EnvelopePage, StoreError> {
        let Some(first) = after_seq.checked_add(1).filter(|first| *first <= until_seq) else {
            return Ok(EnvelopePage::default());
        };
        let prefix = self.keys.author_prefix(group, doc, author);
        let mut low = prefix.clone();
        low.extend_from_slice(&first.to_be_bytes());
        let mut high = prefix.clone();
        high.extend_from_slice(&until_seq.to_be_bytes());
        let rows = self.read_table(Table::Envelopes)?;
        let mut out = Vec::new();
        let mut used = 0usize;
        for entry in rows
            .range(low.as_slice()..=high.as_slice())
            .map_err(self.err())?
        {
            let (key, sealed) = entry.map_err(self.err())?;
            // The value's length is known before it is decrypted.
            let len = sealed.value().len().saturating_sub(NONCE_LEN + TAG_LEN);
            if !out.is_empty() && used.saturating_add(len) > max_bytes {
                return Ok(EnvelopePage {
                    envelopes: out,
                    truncated: true,
                });
            }
            let seq = key
                .value()
                .get(prefix.len()..)
                .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::corrupt(&self.path, "an envelope key is malformed"))?;
            let value =
                self.keys
                    .open(&self.path, Table::Envelopes, key.value(), sealed.value())?;
            used = used.saturating_add(value.len());
            out.push((seq, value));
        }
        Ok(EnvelopePage {
            envelopes: out,
            truncated: false,
        })
    }

    /// Applies `batches`, in order, in one transaction, durable when this returns `Ok`.
    /// On an error nothing of them is applied.
    pub fn commit(&self, batches: &[WriteBatch]) -> Result<(), StoreError> {
        if batches.iter().all(WriteBatch::is_empty) {
            return Ok(());
        }
        let mut txn = self.db.begin_write().map_err(self.err())?;
        txn.set_durability(Durability::Immediate)
            .map_err(self.err())?;
        self.apply(&txn, batches)?;
        txn.commit().map_err(self.err())
    }

    fn apply(&self, txn: &WriteTransaction, batches: &[WriteBatch]) -> Result<(), StoreError> {
        let mut tables = WriteTables::open(txn, &self.path)?;
        for op in batches.iter().flat_map(|batch| &batch.ops) {
            match op {
                Op::Put(slot, value) => {
                    let (table, key) = self.keys.row(slot.as_slot());
                    let sealed = self.keys.seal(table, &key, value);
                    tables
                        .get(table)?
                        .insert(key.as_slice(), sealed.as_slice())
                        .map_err(self.err())?;
                }
                Op::Delete(slot) => {
                    let (table, key) = self.keys.row(slot.as_slot());
                    tables
                        .get(table)?
                        .remove(key.as_slice())
                        .map_err(self.err())?;
                }
                Op::DeleteGroup(group) => {
                    let prefix = self.keys.group_prefix(group);
                    tables
                        .get(Table::Groups)?
                        .remove(prefix.as_slice())
                        .map_err(self.err())?;
                    for (table, key_len) in [
                        (Table::Docs, DOC_KEY_LEN),
                        (Table::Authors, AUTHOR_KEY_LEN),
                        (Table::Envelopes, ENVELOPE_KEY_LEN),
                        (Table::Forks, ENVELOPE_KEY_LEN),
                    ] {
                        let (low, high) = prefix_range(&prefix, key_len);
                        tables
                            .get(table)?
                            .retain_in(low.as_slice()..=high.as_slice(), |_, _| false)
                            .map_err(self.err())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn read_table(
        &self,
        table: Table,
    ) -> Result<ReadOnlyTable<&'static [u8], &'static [u8]>, StoreError> {
        let txn = self.db.begin_read().map_err(self.err())?;
        txn.open_table(table.def()).map_err(self.err())
    }

    /// The rows of `table` with keys in `low..=high`, values opened.
    fn scan(&self, table: Table, low: &[u8], high: &[u8]) -> Result<Vec<Row>, StoreError> {
        let rows = self.read_table(table)?;
        let mut out = Vec::new();
        for entry in rows.range(low..=high).map_err(self.err())? {
            let (key, sealed) = entry.map_err(self.err())?;
            let value = self
                .keys
                .open(&self.path, table, key.value(), sealed.value())?;
            out.push((key.value().to_vec(), value));
        }
        Ok(out)
    }

    fn err<E: Into<redb::Error>>(&self) -> impl Fn(E) -> StoreError + '_ {
        db_error(&self.path)
    }
}

/// The writable data tables of one transaction.
struct WriteTables<'txn> {
    profile: redb::Table<'txn, &'static [u8], &'static [u8]>,
    groups: redb::Table<'txn, &'static [u8], &'static [u8]>,
    docs: redb::Table<'txn, &'static [u8], &'static [u8]>,
    authors: redb::Table<'txn, &'static [u8], &'static [u8]>,
    envelopes: redb::Table<'txn, &'static [u8], &'static [u8]>,
    forks: redb::Table<'txn, &'static [u8], &'static [u8]>,
}

impl<'txn> WriteTables<'txn> {
    fn open(txn: &'txn WriteTransaction, path: &Path) -> Result<Self, StoreError> {
        let open = |table: Table| txn.open_table(table.def()).map_err(db_error(path));
        Ok(WriteTables {
            profile: open(Table::Profile)?,
            groups: open(Table::Groups)?,
            docs: open(Table::Docs)?,
            authors: open(Table::Authors)?,
            envelopes: open(Table::Envelopes)?,
            forks: open(Table::Forks)?,
        })
    }

    fn get(
        &mut self,
        table: Table,
    ) -> Result<&mut redb::Table<'txn, &'static [u8], &'static [u8]>, StoreError> {
        Ok(match table {
            Table::Profile => &mut self.profile,
            Table::Groups => &mut self.groups,
            Table::Docs => &mut self.docs,
            Table::Authors => &mut self.authors,
            Table::Envelopes => &mut self.envelopes,
            Table::Forks => &mut self.forks,
            Table::Meta => {
                return Err(StoreError::Database {
                    path: PathBuf::from("meta"),
                    detail: "a slot maps to the meta table (a bug)".to_owned(),
                });
            }
        })
    }
}

fn builder() -> Builder {
    let mut builder = Builder::new();
    // Verify every page on open, so that a damaged file is reported, never trusted.
    builder
        .set_check_integrity_on_open(true)
        .set_cache_size(CACHE_BYTES);
    builder
}

fn open_error(dir: &Path, db_path: &Path, err: DatabaseError) -> StoreError {
    match err {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StoreError::InUse(dir.to_path_buf())
        }
        err => db_error(db_path)(err),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(StoreError::io(format!(
        "create the directory {}",
        dir.display()
    )))
}
