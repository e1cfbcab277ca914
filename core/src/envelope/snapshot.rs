//! Snapshot envelopes: a compacted document, vouched for by its authors' own signatures.
//!
//! A member seals a [`Kind::Snapshot`] envelope whose plaintext is the document's
//! Automerge `save()` plus, for every author with changes in it, that author's latest
//! [`Kind::Changes`] envelope covered by the save, in full (see
//! `protocol-spec/snapshot.md`):
//!
//! ```text
//! save_len u32 | save | count u16 | (env_len u32 | envelope)*   (authors ascending)
//! ```
//!
//! The snapshot's own signature only says who assembled it. What makes it trustworthy
//! is that every Automerge change hashes its dependencies: a covered author's signed
//! envelope lists change hashes, and those hashes fix every change before them. A
//! receiver therefore checks that each change of the document by an author's actor is
//! an ancestor of (or is) a change that author signed, that every change's actor
//! belongs to a covered author, and that the document's heads are the ones the snapshot
//! header lists. Nobody can slip a change into a snapshot under another member's name.
//!
//! Whether the covered authors may write to the document (membership, removal
//! cutoffs) is the caller's question, as it is for their envelopes; this module is pure.
//! `node::sync` seals them from the store for catch-up and welcomes, and
//! `node::ingest::snapshot` takes them in.

use std::collections::{BTreeMap, HashMap, HashSet};

use automerge::{ActorId, AutoCommit, ChangeHash};

use super::{Envelope, EnvelopeError, Header, Kind, MAX_CHANGES, MAX_ENVELOPE_LEN, Reader};
use crate::crypto::{NONCE_LEN, SecretKey, random_array};
use crate::docs;
use crate::identity::{MemberKeys, actor_for};
use crate::ids::{DocId, Hash, MemberId};

/// Most authors one snapshot may cover.
pub const MAX_COVERED: usize = 1024;

/// Where a snapshot belongs: its group, its document and the key epoch it is sealed
/// under (the covered envelopes may be of earlier epochs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotScope {
    /// The group tag ([`super::group_tag`]).
    pub group_tag: [u8; 16],
    /// The document.
    pub doc: DocId,
    /// The epoch the snapshot is sealed under.
    pub epoch: Hash,
}

/// A snapshot that verified.
#[derive(Debug)]
pub struct VerifiedSnapshot {
    /// The document, loaded with a random actor id: set this device's own with
    /// `set_actor` before writing to it.
    pub doc: AutoCommit,
    /// Per covered author, the seq and hash of its latest envelope the snapshot covers:
    /// what this device's chain state for the document becomes when it applies the
    /// snapshot (the author's next envelope names that hash as `prev`).
    pub covered: BTreeMap<MemberId, (u64, Hash)>,
    /// The covered envelopes themselves, in ascending author order: a receiver stores
    /// each as the head of its author's chain.
    pub envelopes: Vec<Envelope>,
    /// Who assembled the snapshot.
    pub sealed_by: MemberId,
}

/// Why a snapshot could not be sealed or was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The snapshot envelope itself does not parse, verify or decrypt.
    #[error("snapshot envelope refused: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The envelope is not a snapshot.
    #[error("envelope of kind {0:?} is not a snapshot")]
    NotSnapshot(Kind),
    /// The envelope is for another group than the one it is verified for.
    #[error("snapshot is for another group")]
    WrongGroup,
    /// The plaintext or a header field is not what the format says.
    #[error("malformed snapshot: {0}")]
    Malformed(String),
    /// More covered authors than [`MAX_COVERED`].
    #[error("snapshot covers {0} authors (limit {MAX_COVERED})")]
    TooManyAuthors(usize),
    /// The sealed snapshot would exceed [`MAX_ENVELOPE_LEN`].
    #[error(
        "snapshot of {0} bytes exceeds the {MAX_ENVELOPE_LEN}-byte envelope limit; \
         send the envelopes instead"
    )]
    TooLarge(usize),
    /// No key is known for an epoch the snapshot or a covered envelope is sealed under.
    #[error("no key for epoch {epoch} of this document")]
    NoKey {
        /// The epoch.
        epoch: Hash,
    },
    /// The saved document does not load.
    #[error("the snapshot's document does not load: {0}")]
    Load(String),
    /// A covered envelope does not verify, does not open, or its changes are not its
    /// author's or not the ones its header lists.
    #[error("the covered envelope of {author} is refused: {error}")]
    Covered {
        /// Its author.
        author: MemberId,
        /// What is wrong with it.
        error: EnvelopeError,
    },
    /// A covered envelope is not a changes envelope.
    #[error("the covered envelope of {author} is of kind {kind:?}, not changes")]
    CoveredKind {
        /// Its author.
        author: MemberId,
        /// Its kind.
        kind: Kind,
    },
    /// A covered envelope belongs to another group.
    #[error("the covered envelope of {author} belongs to another group")]
    CoveredOtherGroup {
        /// Its author.
        author: MemberId,
    },
    /// A covered envelope belongs to another document.
    #[error("the covered envelope of {author} belongs to document {doc}, not this one")]
    CoveredOtherDoc {
        /// Its author.
        author: MemberId,
        /// The document it is for.
        doc: DocId,
    },
    /// A covered envelope lists a change the document does not hold.
    #[error(
        "the covered envelope {seq} of {author} lists change {missing}, which the document does not hold"
    )]
    MissingChange {
        /// Its author.
        author: MemberId,
        /// Its seq.
        seq: u64,
        /// The change not in the document.
        missing: ChangeHash,
    },
    /// The document holds changes by an actor that no covered author writes as.
    #[error(
        "the document holds {count} changes by actor {actor}, whom the snapshot does not cover"
    )]
    Uncovered {
        /// The actor id, in hex.
        actor: String,
        /// How many changes.
        count: usize,
    },
    /// The document holds changes by a covered author that its covered envelope does
    /// not vouch for (they are not its changes or their ancestors).
    #[error(
        "the document holds {count} changes by {author} beyond its covered envelope {seq}; \
         nothing the author signed vouches for them"
    )]
    Unvouched {
        /// The author.
        author: MemberId,
        /// The seq of its covered envelope.
        seq: u64,
        /// How many changes are unvouched.
        count: usize,
    },
    /// The document's heads are not the ones the snapshot header lists.
    #[error(
        "the document's heads ({found} changes) are not the {listed} the snapshot header lists"
    )]
    Heads {
        /// Heads listed in the header.
        listed: usize,
        /// Heads of the loaded document.
        found: usize,
    },
}

/// Seals a snapshot of `doc` for `scope`: `latest` holds each author's latest changes
/// envelope that `doc` covers, one per author with changes in it. Checks what a
/// receiver will check (except signatures and decryption of `latest`), so what it
/// seals verifies.
pub fn seal_snapshot(
    doc: &mut AutoCommit,
    latest: &[Envelope],
    scope: SnapshotScope,
    key: &SecretKey,
    signer: &MemberKeys,
) -> Result<Envelope, SnapshotError> {
    seal_snapshot_with_nonce(doc, latest, scope, key, signer, &random_array())
}

/// [`seal_snapshot`] with a fixed nonce: for test vectors only.
pub fn seal_snapshot_with_nonce(
    doc: &mut AutoCommit,
    latest: &[Envelope],
    scope: SnapshotScope,
    key: &SecretKey,
    signer: &MemberKeys,
    nonce: &[u8; NONCE_LEN],
) -> Result<Envelope, SnapshotError> {
    let mut latest: Vec<&Envelope> = latest.iter().collect();
    latest.sort_by_key(|e| e.header().author);
    for env in &latest {
        check_covered_header(env, &scope)?;
    }
    let save = doc.save();
    let heads = doc.get_heads();
    check_coverage(doc, &latest, &heads)?;
    let plaintext = encode_plaintext(&save, &latest)?;
    let header = snapshot_header(scope, signer.id(), heads)?;
    let len = super::FIXED_HEADER_LEN
        + 32 * header.change_hashes.len()
        + NONCE_LEN
        + 4
        + plaintext.len()
        + 16
        + 64;
    if len > MAX_ENVELOPE_LEN {
        return Err(SnapshotError::TooLarge(len));
    }
    Ok(Envelope::seal_with_nonce(
        header, key, &plaintext, signer, nonce,
    ))
}

/// The header of a snapshot: seq 1 and `prev` zero, since a snapshot is in no author's
/// chain; `change_hashes` are the document's heads.
fn snapshot_header(
    scope: SnapshotScope,
    author: MemberId,
    heads: Vec<ChangeHash>,
) -> Result<Header, SnapshotError> {
    if heads.len() > MAX_CHANGES {
        return Err(SnapshotError::Malformed(format!(
            "{} heads (limit {MAX_CHANGES})",
            heads.len()
        )));
    }
    Ok(Header {
        kind: Kind::Snapshot,
        group_tag: scope.group_tag,
        doc: scope.doc,
        author,
        seq: 1,
        prev: Hash([0; 32]),
        epoch: scope.epoch,
        change_hashes: heads,
    })
}

/// Encodes the plaintext; `latest` must be sorted by author.
pub(super) fn encode_plaintext(
    save: &[u8],
    latest: &[&Envelope],
) -> Result<Vec<u8>, SnapshotError> {
    if latest.len() > MAX_COVERED {
        return Err(SnapshotError::TooManyAuthors(latest.len()));
    }
    let save_len = u32::try_from(save.len()).map_err(|_| SnapshotError::TooLarge(save.len()))?;
    let total = 4 + save.len() + 2 + latest.iter().map(|e| 4 + e.as_bytes().len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&save_len.to_be_bytes());
    out.extend_from_slice(save);
    out.extend_from_slice(&(latest.len() as u16).to_be_bytes());
    for env in latest {
        // Each decoded envelope is at most MAX_ENVELOPE_LEN, which fits a u32.
        out.extend_from_slice(&(env.as_bytes().len() as u32).to_be_bytes());
        out.extend_from_slice(env.as_bytes());
    }
    Ok(out)
}

/// Decodes the plaintext into the save and the covered envelopes (structure only).
fn decode_plaintext(plaintext: &[u8]) -> Result<(&[u8], Vec<Envelope>), SnapshotError> {
    let malformed = |e: EnvelopeError| SnapshotError::Malformed(e.to_string());
    let mut r = Reader {
        bytes: plaintext,
        pos: 0,
    };
    let save_len = u32::from_be_bytes(r.array().map_err(malformed)?) as usize;
    let save = r.take(save_len).map_err(malformed)?;
    let count = u16::from_be_bytes(r.array().map_err(malformed)?) as usize;
    if count > MAX_COVERED {
        return Err(SnapshotError::TooManyAuthors(count));
    }
    let mut latest: Vec<Envelope> = Vec::with_capacity(count);
    for i in 0..count {
        let len = u32::from_be_bytes(r.array().map_err(malformed)?) as usize;
        let bytes = r.take(len).map_err(malformed)?;
        let env = Envelope::decode(bytes).map_err(|e| {
            SnapshotError::Malformed(format!("covered envelope {i} does not decode: {e}"))
        })?;
        if let Some(before) = latest.last()
            && before.header().author >= env.header().author
        {
            return Err(SnapshotError::Malformed(format!(
                "covered envelope {i} is not in ascending author order (or repeats an author)"
            )));
        }
        latest.push(env);
    }
    if r.pos != plaintext.len() {
        return Err(SnapshotError::Malformed(format!(
            "{} trailing bytes",
            plaintext.len() - r.pos
        )));
    }
    Ok((save, latest))
}

/// Verifies a snapshot envelope for the group whose tag is `group_tag`. `doc_key`
/// gives the key of the envelope's document for an epoch (see [`super::doc_key`]), or
/// `None` when this device holds none: the snapshot and each covered envelope open
/// under the key of their own epoch.
pub fn verify_snapshot(
    envelope: &Envelope,
    group_tag: [u8; 16],
    doc_key: impl Fn(&Hash) -> Option<SecretKey>,
) -> Result<VerifiedSnapshot, SnapshotError> {
    let h = envelope.header();
    if h.kind != Kind::Snapshot {
        return Err(SnapshotError::NotSnapshot(h.kind));
    }
    envelope.verify()?;
    if h.group_tag != group_tag {
        return Err(SnapshotError::WrongGroup);
    }
    if h.seq != 1 || h.prev != Hash([0; 32]) {
        return Err(SnapshotError::Malformed(
            "a snapshot has seq 1 and prev zero".into(),
        ));
    }
    let key = doc_key(&h.epoch).ok_or(SnapshotError::NoKey { epoch: h.epoch })?;
    let plaintext = envelope.open(&key)?;
    verify_plaintext(h, &plaintext, doc_key)
}

/// Steps 5 onwards of verification, on the opened plaintext of a snapshot whose own
/// envelope verified.
fn verify_plaintext(
    h: &Header,
    plaintext: &[u8],
    doc_key: impl Fn(&Hash) -> Option<SecretKey>,
) -> Result<VerifiedSnapshot, SnapshotError> {
    let scope = SnapshotScope {
        group_tag: h.group_tag,
        doc: h.doc,
        epoch: h.epoch,
    };
    let (save, latest) = decode_plaintext(plaintext)?;
    let mut covered = BTreeMap::new();
    for env in &latest {
        check_covered_header(env, &scope)?;
        let ch = env.header();
        let key = doc_key(&ch.epoch).ok_or(SnapshotError::NoKey { epoch: ch.epoch })?;
        env.verify_and_open_changes(&key)
            .map_err(|error| SnapshotError::Covered {
                author: ch.author,
                error,
            })?;
        covered.insert(ch.author, (ch.seq, env.hash()));
    }
    let mut doc =
        docs::load_doc(save, ActorId::random()).map_err(|e| SnapshotError::Load(e.to_string()))?;
    let refs: Vec<&Envelope> = latest.iter().collect();
    check_coverage(&mut doc, &refs, &h.change_hashes)?;
    Ok(VerifiedSnapshot {
        doc,
        covered,
        envelopes: latest,
        sealed_by: h.author,
    })
}

/// A covered envelope is a changes envelope of the snapshot's group and document.
fn check_covered_header(env: &Envelope, scope: &SnapshotScope) -> Result<(), SnapshotError> {
    let ch = env.header();
    if ch.kind != Kind::Changes {
        return Err(SnapshotError::CoveredKind {
            author: ch.author,
            kind: ch.kind,
        });
    }
    if ch.group_tag != scope.group_tag {
        return Err(SnapshotError::CoveredOtherGroup { author: ch.author });
    }
    if ch.doc != scope.doc {
        return Err(SnapshotError::CoveredOtherDoc {
            author: ch.author,
            doc: ch.doc,
        });
    }
    Ok(())
}

/// The document's changes are exactly vouched for by `latest` (sorted, one per
/// author), and its heads are `heads`.
fn check_coverage(
    doc: &mut AutoCommit,
    latest: &[&Envelope],
    heads: &[ChangeHash],
) -> Result<(), SnapshotError> {
    if latest.len() > MAX_COVERED {
        return Err(SnapshotError::TooManyAuthors(latest.len()));
    }
    for pair in latest.windows(2) {
        if pair[0].header().author == pair[1].header().author {
            return Err(SnapshotError::Malformed(format!(
                "{} is covered twice",
                pair[0].header().author
            )));
        }
    }
    let mut listed = heads.to_vec();
    listed.sort();
    listed.dedup();
    let mut found = doc.get_heads();
    found.sort();
    if listed != found || listed.len() != heads.len() {
        return Err(SnapshotError::Heads {
            listed: heads.len(),
            found: found.len(),
        });
    }
    // hash -> (actor, deps) for every change in the document.
    let graph: HashMap<ChangeHash, (ActorId, Vec<ChangeHash>)> = doc
        .get_changes_meta(&[])
        .into_iter()
        .map(|m| (m.hash, (m.actor.into_owned(), m.deps)))
        .collect();
    let mut by_actor: HashMap<&ActorId, usize> = HashMap::new();
    for (actor, _) in graph.values() {
        *by_actor.entry(actor).or_default() += 1;
    }
    let actors: HashMap<ActorId, &Envelope> = latest
        .iter()
        .map(|e| (actor_for(&e.header().author), *e))
        .collect();
    for (actor, count) in &by_actor {
        if !actors.contains_key(*actor) {
            return Err(SnapshotError::Uncovered {
                actor: actor.to_hex_string(),
                count: *count,
            });
        }
    }
    // Each author's changes must all lie in the causal past of what it signed: one walk
    // of the graph per covered author.
    for env in latest {
        let ch = env.header();
        let actor = actor_for(&ch.author);
        let mut seen: HashSet<ChangeHash> = HashSet::new();
        let mut stack: Vec<ChangeHash> = Vec::new();
        for hash in &ch.change_hashes {
            if !graph.contains_key(hash) {
                return Err(SnapshotError::MissingChange {
                    author: ch.author,
                    seq: ch.seq,
                    missing: *hash,
                });
            }
            stack.push(*hash);
        }
        let mut vouched = 0;
        while let Some(hash) = stack.pop() {
            if !seen.insert(hash) {
                continue;
            }
            // Loaded documents hold every dependency; a missing one vouches for nothing.
            let Some((by, deps)) = graph.get(&hash) else {
                continue;
            };
            if *by == actor {
                vouched += 1;
            }
            stack.extend(deps.iter().filter(|d| !seen.contains(*d)));
        }
        let total = by_actor.get(&actor).copied().unwrap_or(0);
        if vouched < total {
            return Err(SnapshotError::Unvouched {
                author: ch.author,
                seq: ch.seq,
                count: total - vouched,
            });
        }
    }
    Ok(())
}
