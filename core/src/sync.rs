//! Catch-up between two members: version vectors, what one side lacks, and pages.
//!
//! Every envelope has a place `(doc, author, seq)`, and an author's seqs in a document are
//! contiguous, so what a device holds of a group is summed up by a [`VersionVector`]: per
//! document and author, the latest seq and the hash of that envelope. Catch-up runs:
//!
//! 1. each side sends the [`VersionVector::root`] of its vector; equal roots mean
//!    nothing to do;
//! 2. otherwise each sends its vector ([`VersionVector::to_bytes`]), and the other
//!    computes [`VersionVector::wants_from`]: the ranges of seqs it lacks, the
//!    membership log first (it says who may write and under which keys), then every
//!    other document in id order;
//! 3. the side asked answers the wants in pages bounded in bytes ([`paginate`]),
//!    each envelope in seq order, so the receiver can ingest them as they come.
//!
//! The vector is also what a peer "has seen": [`VersionVector::has`] tells whether one
//! envelope reached it. A fork — an author that signed two different envelopes with one
//! seq, after a restored backup say — shows as equal seqs with different heads
//! ([`VersionVector::forks_against`]); catch-up does not fetch anything for it, the
//! ingest keeps the evidence when the other envelope arrives.
//!
//! ```
//! use plenum_core::ids::{DocId, Hash, MemberId};
//! use plenum_core::sync::{AuthorHead, VersionVector, Want};
//!
//! let (log, chat, ana) = (DocId([1; 16]), DocId([2; 16]), MemberId([7; 32]));
//! let mut mine = VersionVector::default();
//! mine.insert(log, ana, AuthorHead { seq: 1, head: Hash([1; 32]) });
//! let mut theirs = mine.clone();
//! theirs.insert(chat, ana, AuthorHead { seq: 3, head: Hash([3; 32]) });
//! assert_ne!(mine.root(), theirs.root());
//! assert_eq!(
//!     mine.wants_from(&theirs, &log),
//!     [Want { doc: chat, author: ana, after_seq: 0, until_seq: 3 }],
//! );
//! assert_eq!(mine.behind_by(&theirs), 3);
//! let wire = theirs.to_bytes();
//! assert_eq!(VersionVector::from_bytes(&wire)?, theirs);
//! # Ok::<(), plenum_core::sync::SyncError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::ids::{DocId, Hash, MemberId};

/// The most `(doc, author)` entries a vector may have on the wire.
pub const MAX_ENTRIES: usize = 65_536;

/// The longest encoding of a vector of [`MAX_ENTRIES`] entries: a length prefix, and per
/// entry at most a document (16 bytes and a length prefix of up to 5), an author
/// (32), a seq (a varint of up to 10) and a head (32). Longer input is refused before
/// it is decoded.
pub const MAX_WIRE_BYTES: usize = 5 + MAX_ENTRIES * (16 + 5 + 32 + 10 + 32);

/// Context of the BLAKE3 key derivation that hashes a vector into its root.
const ROOT_CONTEXT: &str = "plenum sync root v1";

/// Why a version vector received from a peer was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncError {
    /// The encoding is longer than any vector of [`MAX_ENTRIES`] entries.
    #[error("a version vector of {len} bytes is longer than the limit of {max} bytes")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// [`MAX_WIRE_BYTES`].
        max: usize,
    },
    /// The vector has more `(doc, author)` entries than [`MAX_ENTRIES`].
    #[error("a version vector has more than {max} (document, author) entries")]
    TooManyEntries {
        /// [`MAX_ENTRIES`].
        max: usize,
    },
    /// The bytes are not a version vector in its canonical encoding.
    #[error("malformed version vector: {0}")]
    Malformed(String),
}

/// An author's latest envelope in one document: its seq and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorHead {
    /// The author's latest seq (envelopes `1..=seq` are held).
    pub seq: u64,
    /// The hash of the envelope with that seq.
    pub head: Hash,
}

/// Per document and author, the latest envelope a device holds of one group.
///
/// Encoded (by serde, so also by [`VersionVector::to_bytes`]) as a sequence of
/// `(doc, [(author, head)])` in ascending id order, every document with at least one
/// author; decoding refuses anything else, so one vector has one encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionVector {
    docs: BTreeMap<DocId, BTreeMap<MemberId, AuthorHead>>,
}

/// A range of one author's envelopes in one document that a device lacks:
/// seqs `after_seq + 1 ..= until_seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Want {
    /// The document.
    pub doc: DocId,
    /// The author.
    pub author: MemberId,
    /// The latest seq the asking device holds (0: none).
    pub after_seq: u64,
    /// The latest seq the other device holds.
    pub until_seq: u64,
}

impl Want {
    /// How many envelopes the range covers.
    pub fn len(&self) -> u64 {
        self.until_seq.saturating_sub(self.after_seq)
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How one device's copy of a document stands against another's, in envelopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocSync {
    /// Both hold the same seqs of every author (heads may still differ: see
    /// [`VersionVector::forks_against`]).
    InSync,
    /// The other holds this many envelopes this one lacks, and nothing the other way.
    Behind(u64),
    /// This one holds this many envelopes the other lacks, and nothing the other way.
    Ahead(u64),
    /// Each lacks some of the other's envelopes.
    Both {
        /// Envelopes the other holds that this one lacks.
        behind: u64,
        /// Envelopes this one holds that the other lacks.
        ahead: u64,
    },
}

impl DocSync {
    fn of(behind: u64, ahead: u64) -> DocSync {
        match (behind, ahead) {
            (0, 0) => DocSync::InSync,
            (behind, 0) => DocSync::Behind(behind),
            (0, ahead) => DocSync::Ahead(ahead),
            (behind, ahead) => DocSync::Both { behind, ahead },
        }
    }
}

impl VersionVector {
    /// Sets `author`'s latest envelope in `doc`.
    pub fn insert(&mut self, doc: DocId, author: MemberId, head: AuthorHead) {
        self.docs.entry(doc).or_default().insert(author, head);
    }

    /// `author`'s latest envelope in `doc`, if any.
    pub fn get(&self, doc: &DocId, author: &MemberId) -> Option<AuthorHead> {
        self.docs.get(doc)?.get(author).copied()
    }

    /// The documents, in id order.
    pub fn docs(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// Every entry, in (doc, author) order.
    pub fn iter(&self) -> impl Iterator<Item = (&DocId, &MemberId, &AuthorHead)> {
        self.docs
            .iter()
            .flat_map(|(doc, authors)| authors.iter().map(move |(a, h)| (doc, a, h)))
    }

    /// The number of (doc, author) entries.
    pub fn len(&self) -> usize {
        self.docs.values().map(BTreeMap::len).sum()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Takes, per entry, the later of `self`'s and `other`'s (on equal seqs `self`'s
    /// head stays): what `self` holds after fetching everything `other` has.
    pub fn merge(&mut self, other: &VersionVector) {
        for (doc, author, theirs) in other.iter() {
            let newer = self
                .get(doc, author)
                .is_none_or(|mine| mine.seq < theirs.seq);
            if newer {
                self.insert(*doc, *author, *theirs);
            }
        }
    }

    /// The canonical encoding (postcard), which [`VersionVector::from_bytes`] reads.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes a vector from a peer: refuses input longer than [`MAX_WIRE_BYTES`], more
    /// than [`MAX_ENTRIES`] entries, trailing bytes and any non-canonical encoding
    /// (unordered or repeated ids, a document without authors, seq 0).
    pub fn from_bytes(bytes: &[u8]) -> Result<VersionVector, SyncError> {
        if bytes.len() > MAX_WIRE_BYTES {
            return Err(SyncError::TooLarge {
                len: bytes.len(),
                max: MAX_WIRE_BYTES,
            });
        }
        // Decoded in the plain form first: postcard drops the messages of custom serde
        // errors, and these should tell what was wrong.
        let (raw, rest) = postcard::take_from_bytes::<RawVector>(bytes)
            .map_err(|e| SyncError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(SyncError::Malformed(format!(
                "{} bytes after the end of the vector",
                rest.len()
            )));
        }
        let vector = VersionVector::from_raw(raw)?;
        // postcard reads overlong varints; a vector has exactly one encoding, so that
        // the bytes a peer hashed are the bytes read.
        if vector.to_bytes() != bytes {
            return Err(SyncError::Malformed(
                "a number is not in its shortest encoding".to_owned(),
            ));
        }
        Ok(vector)
    }

    fn from_raw(raw: RawVector) -> Result<VersionVector, SyncError> {
        let mut docs = BTreeMap::new();
        let mut entries = 0usize;
        let mut last_doc: Option<DocId> = None;
        for (doc, list) in raw {
            if last_doc.is_some_and(|last| last >= doc) {
                return Err(SyncError::Malformed(format!(
                    "document {doc} is out of order or repeated"
                )));
            }
            last_doc = Some(doc);
            if list.is_empty() {
                return Err(SyncError::Malformed(format!(
                    "document {doc} is listed without authors"
                )));
            }
            entries = entries.saturating_add(list.len());
            if entries > MAX_ENTRIES {
                return Err(SyncError::TooManyEntries { max: MAX_ENTRIES });
            }
            let mut authors = BTreeMap::new();
            let mut last_author: Option<MemberId> = None;
            for (author, head) in list {
                if last_author.is_some_and(|last| last >= author) {
                    return Err(SyncError::Malformed(format!(
                        "author {author} of document {doc} is out of order or repeated"
                    )));
                }
                last_author = Some(author);
                if head.seq == 0 {
                    return Err(SyncError::Malformed(format!(
                        "author {author} of document {doc} has seq 0 (seqs start at 1)"
                    )));
                }
                authors.insert(author, head);
            }
            docs.insert(doc, authors);
        }
        Ok(VersionVector { docs })
    }

    /// A hash of the whole vector (BLAKE3, derive-key context `"plenum sync root v1"`,
    /// over the canonical encoding): equal iff the vectors are equal.
    pub fn root(&self) -> Hash {
        Hash(crate::crypto::hash(ROOT_CONTEXT, &[&self.to_bytes()]))
    }

    /// What `self` lacks that `theirs` has, in the order to fetch it: the membership log
    /// doc (`first`) before everything else, then the other docs in id order, authors in
    /// id order within a document.
    pub fn wants_from(&self, theirs: &VersionVector, first: &DocId) -> Vec<Want> {
        let first_doc = theirs.docs.get_key_value(first);
        let rest = theirs.docs.iter().filter(|(doc, _)| *doc != first);
        let mut wants = Vec::new();
        for (doc, authors) in first_doc.into_iter().chain(rest) {
            for (author, head) in authors {
                let mine = self.get(doc, author).map_or(0, |h| h.seq);
                if mine < head.seq {
                    wants.push(Want {
                        doc: *doc,
                        author: *author,
                        after_seq: mine,
                        until_seq: head.seq,
                    });
                }
            }
        }
        wants
    }

    /// Envelopes `theirs` has that `self` doesn't (sum over entries of their seq minus
    /// mine, where positive; saturating).
    pub fn behind_by(&self, theirs: &VersionVector) -> u64 {
        theirs
            .iter()
            .map(|(doc, author, head)| {
                let mine = self.get(doc, author).map_or(0, |h| h.seq);
                head.seq.saturating_sub(mine)
            })
            .fold(0, u64::saturating_add)
    }

    /// Per document of either vector: how `self` stands against `theirs`.
    pub fn compare(&self, theirs: &VersionVector) -> BTreeMap<DocId, DocSync> {
        let empty = BTreeMap::new();
        let lacking = |from: &BTreeMap<MemberId, AuthorHead>,
                       against: &BTreeMap<MemberId, AuthorHead>| {
            from.iter()
                .map(|(author, head)| {
                    let other = against.get(author).map_or(0, |h| h.seq);
                    head.seq.saturating_sub(other)
                })
                .fold(0, u64::saturating_add)
        };
        self.docs
            .keys()
            .chain(theirs.docs.keys())
            .map(|doc| {
                let mine = self.docs.get(doc).unwrap_or(&empty);
                let other = theirs.docs.get(doc).unwrap_or(&empty);
                (
                    *doc,
                    DocSync::of(lacking(other, mine), lacking(mine, other)),
                )
            })
            .collect()
    }

    /// Entries where both have the same seq for an author but different heads: a fork
    /// (or one side's copy of a forked chain). In (doc, author) order.
    pub fn forks_against(&self, theirs: &VersionVector) -> Vec<(DocId, MemberId, u64)> {
        self.iter()
            .filter_map(|(doc, author, mine)| {
                let other = theirs.get(doc, author)?;
                (other.seq == mine.seq && other.head != mine.head)
                    .then_some((*doc, *author, mine.seq))
            })
            .collect()
    }

    /// Whether this vector (typically a peer's) holds `author`'s envelope `seq` in
    /// `doc`: "seen by a peer". There is no envelope 0, so `has(.., 0)` is false.
    pub fn has(&self, doc: &DocId, author: &MemberId, seq: u64) -> bool {
        seq > 0 && self.get(doc, author).is_some_and(|h| h.seq >= seq)
    }
}

/// The plain shape of the encoding, decoded before it is checked.
type RawVector = Vec<(DocId, Vec<(MemberId, AuthorHead)>)>;

impl Serialize for VersionVector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Authors<'a>(&'a BTreeMap<MemberId, AuthorHead>);
        impl Serialize for Authors<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter())
            }
        }
        s.collect_seq(self.docs.iter().map(|(doc, a)| (doc, Authors(a))))
    }
}

impl<'de> Deserialize<'de> for VersionVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Docs;
        impl<'de> Visitor<'de> for Docs {
            type Value = RawVector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of (document, authors)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawVector, A::Error> {
                // Counted as it goes, so a huge claimed length costs nothing.
                let mut out = Vec::new();
                let mut entries = 0usize;
                while let Some((doc, authors)) =
                    seq.next_element::<(DocId, Vec<(MemberId, AuthorHead)>)>()?
                {
                    entries = entries.saturating_add(authors.len());
                    if entries > MAX_ENTRIES {
                        return Err(de::Error::custom(SyncError::TooManyEntries {
                            max: MAX_ENTRIES,
                        }));
                    }
                    out.push((doc, authors));
                }
                Ok(out)
            }
        }
        let raw = d.deserialize_seq(Docs)?;
        VersionVector::from_raw(raw).map_err(de::Error::custom)
    }
}

/// Splits envelopes, in order, into pages of at most `max_bytes` each (counting
/// envelope lengths); an envelope larger than `max_bytes` gets a page of its own.
pub fn paginate(envelopes: Vec<Vec<u8>>, max_bytes: usize) -> Vec<Vec<Vec<u8>>> {
    let mut pages = Vec::new();
    let mut page: Vec<Vec<u8>> = Vec::new();
    let mut used = 0usize;
    for envelope in envelopes {
        if !page.is_empty() && used.saturating_add(envelope.len()) > max_bytes {
            pages.push(std::mem::take(&mut page));
            used = 0;
        }
        used = used.saturating_add(envelope.len());
        page.push(envelope);
    }
    if !page.is_empty() {
        pages.push(page);
    }
    pages
}

#[cfg(test)]
mod tests;
