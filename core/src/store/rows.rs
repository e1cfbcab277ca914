//! Where each slot lives at rest: its table, its row key (keyed hashes, so that keys do
//! not reveal group, document or member ids) and the sealing of its value.
//!
//! With `H(..)` a keyed BLAKE3 hash truncated to 16 bytes:
//!
//! | slot     | table       | row key                                     |
//! |----------|-------------|---------------------------------------------|
//! | profile  | `profile`   | `"profile"`                                 |
//! | settings | `profile`   | `"device settings"`                         |
//! | group    | `groups`    | `H(g)`                                      |
//! | doc      | `docs`      | `H(g) ‖ H(g,d)`                             |
//! | author   | `authors`   | `H(g) ‖ H(g,d) ‖ H(g,d,a)`                  |
//! | envelope | `envelopes` | `H(g) ‖ H(g,d) ‖ H(g,d,a) ‖ seq (u64 BE)`   |
//! | fork     | `forks`     | `H(g) ‖ H(g,d) ‖ H(g,d,a) ‖ seq (u64 BE)`   |
//!
//! so a prefix scan lists a group's documents, a document's authors and an author's
//! envelopes in sequence order. Every value is sealed with associated data
//! `table name ‖ 0 ‖ row key`, so it cannot be moved to another row or table.

use std::path::Path;

use redb::TableDefinition;

use super::StoreError;
use crate::crypto::SecretKey;
use crate::ids::{DocId, GroupId, MemberId};

/// Length of one keyed-hash component of a row key.
pub(super) const HASH_LEN: usize = 16;

/// A place in the store that holds one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot<'a> {
    /// The device's profile (one value).
    Profile,
    /// Peers this device reached before and where (one value): what it redials.
    AddressBook,
    /// Settings of this device alone, never sent (one value): muted groups.
    Settings,
    /// A group's state.
    Group(&'a GroupId),
    /// A document of a group.
    Doc(&'a GroupId, &'a DocId),
    /// What the device knows of one author of a document.
    Author(&'a GroupId, &'a DocId, &'a MemberId),
    /// One envelope of an author in a document, by sequence number.
    Envelope(&'a GroupId, &'a DocId, &'a MemberId, u64),
    /// Evidence of a fork: a second, different envelope an author signed for a
    /// sequence number it had already used.
    Fork(&'a GroupId, &'a DocId, &'a MemberId, u64),
}

/// The tables of the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Table {
    Meta,
    Profile,
    Groups,
    Docs,
    Authors,
    Envelopes,
    Forks,
}

/// A table of opaque byte keys and sealed byte values.
pub(super) type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

impl Table {
    /// Every table of the current schema.
    #[cfg(test)]
    pub(super) const ALL: [Table; 7] = [
        Table::Meta,
        Table::Profile,
        Table::Groups,
        Table::Docs,
        Table::Authors,
        Table::Envelopes,
        Table::Forks,
    ];

    pub(super) const fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Profile => "profile",
            Table::Groups => "groups",
            Table::Docs => "docs",
            Table::Authors => "authors",
            Table::Envelopes => "envelopes",
            Table::Forks => "forks",
        }
    }

    pub(super) const fn def(self) -> Def {
        TableDefinition::new(self.name())
    }
}

/// The two subkeys derived from the storage key. The storage key itself is not kept.
pub(super) struct Keys {
    values: SecretKey,
    hashes: SecretKey,
}

impl Keys {
    pub(super) fn new(storage_key: &SecretKey) -> Keys {
        Keys {
            values: storage_key.derive("plenum store values v1", b""),
            hashes: storage_key.derive("plenum store row keys v1", b""),
        }
    }

    fn h(&self, parts: &[&[u8]]) -> [u8; HASH_LEN] {
        let full = self.hashes.keyed_hash(parts);
        let mut out = [0u8; HASH_LEN];
        out.copy_from_slice(&full[..HASH_LEN]);
        out
    }

    /// `H(g)`: the groups row key and the prefix of all of the group's rows.
    pub(super) fn group_prefix(&self, g: &GroupId) -> [u8; HASH_LEN] {
        self.h(&[b"group", g.as_bytes()])
    }

    /// `H(g) ‖ H(g,d)`.
    pub(super) fn doc_prefix(&self, g: &GroupId, d: &DocId) -> Vec<u8> {
        let mut key = Vec::with_capacity(2 * HASH_LEN);
        key.extend_from_slice(&self.group_prefix(g));
        key.extend_from_slice(&self.h(&[b"doc", g.as_bytes(), d.as_bytes()]));
        key
    }

    /// `H(g) ‖ H(g,d) ‖ H(g,d,a)`.
    pub(super) fn author_prefix(&self, g: &GroupId, d: &DocId, a: &MemberId) -> Vec<u8> {
        let mut key = Vec::with_capacity(3 * HASH_LEN + 8);
        key.extend_from_slice(&self.doc_prefix(g, d));
        key.extend_from_slice(&self.h(&[b"author", g.as_bytes(), d.as_bytes(), a.as_bytes()]));
        key
    }

    /// The table and row key of `slot`.
    pub(super) fn row(&self, slot: Slot<'_>) -> (Table, Vec<u8>) {
        match slot {
            Slot::Profile => (Table::Profile, b"profile".to_vec()),
            Slot::AddressBook => (Table::Profile, b"address book".to_vec()),
            Slot::Settings => (Table::Profile, b"device settings".to_vec()),
            Slot::Group(g) => (Table::Groups, self.group_prefix(g).to_vec()),
            Slot::Doc(g, d) => (Table::Docs, self.doc_prefix(g, d)),
            Slot::Author(g, d, a) => (Table::Authors, self.author_prefix(g, d, a)),
            Slot::Envelope(g, d, a, seq) | Slot::Fork(g, d, a, seq) => {
                let mut key = self.author_prefix(g, d, a);
                key.extend_from_slice(&seq.to_be_bytes());
                let table = if matches!(slot, Slot::Fork(..)) {
                    Table::Forks
                } else {
                    Table::Envelopes
                };
                (table, key)
            }
        }
    }

    /// Seals `value` for row `key` of `table`.
    pub(super) fn seal(&self, table: Table, key: &[u8], value: &[u8]) -> Vec<u8> {
        self.values.seal(&aad(table, key), value)
    }

    /// Opens the sealed value of row `key` of `table` in the database at `path`.
    pub(super) fn open(
        &self,
        path: &Path,
        table: Table,
        key: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        self.values.open(&aad(table, key), sealed).map_err(|err| {
            StoreError::corrupt(
                path,
                format!(
                    "a value in table `{}` does not decrypt: {err}",
                    table.name()
                ),
            )
        })
    }

    #[cfg(test)]
    pub(super) fn value_key(&self) -> &SecretKey {
        &self.values
    }
}

/// Associated data binding a value to its table and row.
pub(super) fn aad(table: Table, key: &[u8]) -> Vec<u8> {
    let name = table.name().as_bytes();
    let mut aad = Vec::with_capacity(name.len() + 1 + key.len());
    aad.extend_from_slice(name);
    aad.push(0);
    aad.extend_from_slice(key);
    aad
}

/// The inclusive key range of all rows of a fixed-length-key table that start with
/// `prefix`, where each key is `key_len` bytes long.
pub(super) fn prefix_range(prefix: &[u8], key_len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut low = prefix.to_vec();
    low.resize(key_len, 0x00);
    let mut high = prefix.to_vec();
    high.resize(key_len, 0xff);
    (low, high)
}

/// Row key lengths of the structured tables.
pub(super) const DOC_KEY_LEN: usize = 2 * HASH_LEN;
pub(super) const AUTHOR_KEY_LEN: usize = 3 * HASH_LEN;
pub(super) const ENVELOPE_KEY_LEN: usize = 3 * HASH_LEN + 8;
