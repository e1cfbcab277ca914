//! The envelope: the signed, encrypted unit that is sent, stored and forwarded.
//!
//! Byte layout (version 1, all integers big-endian; see `protocol-spec/envelope.md`):
//!
//! ```text
//! version u8 | kind u8 | group_tag [16] | doc [16] | author [32] | seq u64 | prev [32]
//! | epoch [32] | n u16 | change_hashes [32; n] | nonce [24] | ct_len u32 | ciphertext
//! | signature [64]
//! ```
//!
//! The header (version through nonce) is the AEAD's associated data; the signature, by
//! the author's member key, covers every byte before it. A blind relay can check the
//! signature and sizes without any group key; a member additionally opens the
//! ciphertext and checks that every Automerge change in it carries the author's actor
//! id and is listed in `change_hashes`.

use automerge::{Change, ChangeHash};

mod snapshot;
#[cfg(test)]
mod snapshot_tests;

pub use snapshot::{
    MAX_COVERED, SnapshotError, SnapshotScope, VerifiedSnapshot, seal_snapshot,
    seal_snapshot_with_nonce, verify_snapshot,
};

use crate::crypto::{self, CryptoError, NONCE_LEN, SecretKey, random_array};
use crate::identity::{self, MemberKeys, SignatureError, actor_for};
use crate::ids::{DocId, GroupId, Hash, MemberId};

/// The envelope format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Largest encoded envelope accepted, in bytes.
pub const MAX_ENVELOPE_LEN: usize = 8 * 1024 * 1024;
/// Most change hashes one envelope may list.
pub const MAX_CHANGES: usize = 4096;
const SIGNATURE_CONTEXT: &str = "plenum envelope v1";
const FIXED_HEADER_LEN: usize = 1 + 1 + 16 + 16 + 32 + 8 + 32 + 32 + 2;

/// What an envelope carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum Kind {
    /// A membership-log operation (postcard-encoded `group::Op`).
    Membership = 1,
    /// A burst of Automerge changes to one document.
    Changes = 2,
    /// A compacted document with each covered author's latest envelope
    /// (see [`verify_snapshot`]); not part of any author's chain.
    Snapshot = 3,
}

impl Kind {
    fn from_byte(b: u8) -> Result<Kind, EnvelopeError> {
        match b {
            1 => Ok(Kind::Membership),
            2 => Ok(Kind::Changes),
            3 => Ok(Kind::Snapshot),
            other => Err(EnvelopeError::Malformed(format!("unknown kind {other}"))),
        }
    }
}

/// Why an envelope was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The bytes do not parse as an envelope.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// Written by a newer (or unknown) format version.
    #[error("envelope version {0} is not supported by this build (it reads version {VERSION})")]
    Version(u8),
    /// Larger than [`MAX_ENVELOPE_LEN`].
    #[error("envelope of {0} bytes exceeds the {MAX_ENVELOPE_LEN}-byte limit")]
    TooLarge(usize),
    /// The author's signature does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The ciphertext does not open under the key for this document and epoch.
    #[error("envelope does not decrypt under the group key: {0}")]
    Decrypt(#[from] CryptoError),
    /// A change carries an actor id that is not the signer's.
    #[error("envelope by {author} contains a change by another actor ({actor}); refused")]
    ForeignActor {
        /// The signer.
        author: MemberId,
        /// The actor the change claims.
        actor: String,
    },
    /// The changes inside do not match the hashes listed in the header.
    #[error("envelope's changes do not match the change hashes in its header")]
    HashMismatch,
}

/// The signed, unencrypted part of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the plaintext is.
    pub kind: Kind,
    /// A keyed hash of the group id, so relays can file envelopes without learning it.
    pub group_tag: [u8; 16],
    /// The document.
    pub doc: DocId,
    /// The signer.
    pub author: MemberId,
    /// Contiguous per (doc, author), starting at 1.
    pub seq: u64,
    /// Hash of the author's previous envelope for this doc; zero for seq 1.
    pub prev: Hash,
    /// The key epoch this is sealed under.
    pub epoch: Hash,
    /// The Automerge change hashes inside (empty for membership operations).
    pub change_hashes: Vec<ChangeHash>,
}

/// A sealed envelope and its encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    header: Header,
    bytes: Vec<u8>,
    aad_len: usize,
    signed_len: usize,
}

/// The group tag of a group id.
pub fn group_tag(group: &GroupId) -> [u8; 16] {
    let h = crypto::hash("plenum group tag v1", &[group.as_bytes()]);
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&h[..16]);
    tag
}

/// The AEAD key for one document under one epoch key: access to one document's
/// history never opens another.
pub fn doc_key(epoch_key: &SecretKey, doc: &DocId) -> SecretKey {
    epoch_key.derive("plenum doc key v1", doc.as_bytes())
}

impl Envelope {
    /// Seals `plaintext` under `key` (see [`doc_key`]) and signs it with `signer`, whose
    /// id must be `header.author`.
    pub fn seal(
        header: Header,
        key: &SecretKey,
        plaintext: &[u8],
        signer: &MemberKeys,
    ) -> Envelope {
        Self::seal_with_nonce(header, key, plaintext, signer, &random_array())
    }

    /// [`Envelope::seal`] with a fixed nonce: for test vectors only.
    pub fn seal_with_nonce(
        header: Header,
        key: &SecretKey,
        plaintext: &[u8],
        signer: &MemberKeys,
        nonce: &[u8; NONCE_LEN],
    ) -> Envelope {
        debug_assert_eq!(
            signer.id(),
            header.author,
            "envelope signed by someone else"
        );
        let mut bytes = Vec::with_capacity(
            FIXED_HEADER_LEN + 32 * header.change_hashes.len() + plaintext.len() + 128,
        );
        bytes.push(VERSION);
        bytes.push(header.kind as u8);
        bytes.extend_from_slice(&header.group_tag);
        bytes.extend_from_slice(header.doc.as_bytes());
        bytes.extend_from_slice(header.author.as_bytes());
        bytes.extend_from_slice(&header.seq.to_be_bytes());
        bytes.extend_from_slice(header.prev.as_bytes());
        bytes.extend_from_slice(header.epoch.as_bytes());
        bytes.extend_from_slice(&(header.change_hashes.len() as u16).to_be_bytes());
        for h in &header.change_hashes {
            bytes.extend_from_slice(&h.0);
        }
        bytes.extend_from_slice(nonce);
        let aad_len = bytes.len();
        // seal_with_nonce frames as nonce ‖ ct; the nonce is already in the header.
        let sealed = key.seal_with_nonce(nonce, &bytes, plaintext);
        let ct = &sealed[NONCE_LEN..];
        bytes.extend_from_slice(&(ct.len() as u32).to_be_bytes());
        bytes.extend_from_slice(ct);
        let signed_len = bytes.len();
        let sig = signer.sign(SIGNATURE_CONTEXT, &bytes);
        bytes.extend_from_slice(&sig);
        Envelope {
            header,
            bytes,
            aad_len,
            signed_len,
        }
    }

    /// Parses an encoded envelope. Checks structure and sizes only: call
    /// [`Envelope::verify`] before trusting it.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(EnvelopeError::TooLarge(bytes.len()));
        }
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8()?;
        if version != VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let kind = Kind::from_byte(r.u8()?)?;
        let group_tag = r.array::<16>()?;
        let doc = DocId(r.array()?);
        let author = MemberId(r.array()?);
        let seq = u64::from_be_bytes(r.array()?);
        if seq == 0 {
            return Err(EnvelopeError::Malformed("seq 0".into()));
        }
        let prev = Hash(r.array()?);
        let epoch = Hash(r.array()?);
        let n = u16::from_be_bytes(r.array()?) as usize;
        if n > MAX_CHANGES {
            return Err(EnvelopeError::Malformed(format!(
                "{n} change hashes (limit {MAX_CHANGES})"
            )));
        }
        let mut change_hashes = Vec::with_capacity(n);
        for _ in 0..n {
            change_hashes.push(ChangeHash(r.array()?));
        }
        r.array::<NONCE_LEN>()?;
        let aad_len = r.pos;
        let ct_len = u32::from_be_bytes(r.array()?) as usize;
        r.take(ct_len)?;
        let signed_len = r.pos;
        r.array::<64>()?;
        if r.pos != bytes.len() {
            return Err(EnvelopeError::Malformed(format!(
                "{} trailing bytes",
                bytes.len() - r.pos
            )));
        }
        let header = Header {
            kind,
            group_tag,
            doc,
            author,
            seq,
            prev,
            epoch,
            change_hashes,
        };
        Ok(Envelope {
            header,
            bytes: bytes.to_vec(),
            aad_len,
            signed_len,
        })
    }

    /// Checks the author's signature. Needs no group key: blind relays do this too.
    pub fn verify(&self) -> Result<(), EnvelopeError> {
        let sig: [u8; 64] = self.bytes[self.signed_len..]
            .try_into()
            .map_err(|_| EnvelopeError::Malformed("signature".into()))?;
        identity::verify(
            &self.header.author,
            SIGNATURE_CONTEXT,
            &self.bytes[..self.signed_len],
            &sig,
        )?;
        Ok(())
    }

    /// Decrypts the plaintext. Does not check the signature.
    pub fn open(&self, key: &SecretKey) -> Result<Vec<u8>, EnvelopeError> {
        let aad = &self.bytes[..self.aad_len];
        let nonce = &self.bytes[self.aad_len - NONCE_LEN..self.aad_len];
        let ct = &self.bytes[self.aad_len + 4..self.signed_len];
        let mut framed = Vec::with_capacity(NONCE_LEN + ct.len());
        framed.extend_from_slice(nonce);
        framed.extend_from_slice(ct);
        Ok(key.open(aad, &framed)?)
    }

    /// Verifies, decrypts and decodes a [`Kind::Changes`] envelope from the network:
    /// the signature must verify, and every change must be by the author's actor and
    /// listed in the header.
    pub fn verify_and_open_changes(&self, key: &SecretKey) -> Result<Vec<Change>, EnvelopeError> {
        self.verify()?;
        self.open_stored_changes(key)
    }

    /// [`Envelope::verify_and_open_changes`] without the signature check, for envelopes
    /// read back from this device's own store: they were verified when they arrived,
    /// and the store authenticates what it returns. The actor check still runs.
    pub fn open_stored_changes(&self, key: &SecretKey) -> Result<Vec<Change>, EnvelopeError> {
        let plaintext = self.open(key)?;
        let changes = decode_changes(&plaintext)?;
        let actor = actor_for(&self.header.author);
        if changes.len() != self.header.change_hashes.len() {
            return Err(EnvelopeError::HashMismatch);
        }
        for (change, listed) in changes.iter().zip(&self.header.change_hashes) {
            if change.actor_id() != &actor {
                return Err(EnvelopeError::ForeignActor {
                    author: self.header.author,
                    actor: change.actor_id().to_hex_string(),
                });
            }
            if change.hash() != *listed {
                return Err(EnvelopeError::HashMismatch);
            }
        }
        Ok(changes)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The envelope's hash: what the author's next envelope names as `prev`.
    pub fn hash(&self) -> Hash {
        Hash(crypto::hash("plenum envelope hash v1", &[&self.bytes]))
    }
}

/// Encodes Automerge changes as the plaintext of a [`Kind::Changes`] envelope:
/// `count u32 ‖ (len u32 ‖ change bytes)*`, each change in Automerge's compressed form.
pub fn encode_changes(changes: &mut [Change]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(changes.len() as u32).to_be_bytes());
    for change in changes {
        let bytes = change.bytes();
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

fn decode_changes(plaintext: &[u8]) -> Result<Vec<Change>, EnvelopeError> {
    let mut r = Reader {
        bytes: plaintext,
        pos: 0,
    };
    let count = u32::from_be_bytes(r.array()?) as usize;
    if count > MAX_CHANGES {
        return Err(EnvelopeError::Malformed(format!(
            "{count} changes (limit {MAX_CHANGES})"
        )));
    }
    let mut changes = Vec::with_capacity(count);
    for _ in 0..count {
        let len = u32::from_be_bytes(r.array()?) as usize;
        let bytes = r.take(len)?.to_vec();
        let change = Change::from_bytes(bytes)
            .map_err(|e| EnvelopeError::Malformed(format!("automerge change: {e}")))?;
        changes.push(change);
    }
    if r.pos != plaintext.len() {
        return Err(EnvelopeError::Malformed(
            "trailing bytes after changes".into(),
        ));
    }
    Ok(changes)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EnvelopeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                EnvelopeError::Malformed(format!(
                    "truncated at byte {} (needed {n} more)",
                    self.pos
                ))
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EnvelopeError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, EnvelopeError> {
        Ok(self.array::<1>()?[0])
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;

    fn header(author: &MemberKeys, hashes: Vec<ChangeHash>) -> Header {
        Header {
            kind: Kind::Changes,
            group_tag: group_tag(&GroupId([7; 32])),
            doc: DocId([1; 16]),
            author: author.id(),
            seq: 1,
            prev: Hash([0; 32]),
            epoch: Hash([2; 32]),
            change_hashes: hashes,
        }
    }

    fn change_by(actor: automerge::ActorId) -> Change {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "k", "v").unwrap();
        doc.commit();
        doc.get_last_local_change().unwrap()
    }

    #[test]
    fn seal_decode_open_round_trip() {
        let keys = MemberKeys::generate();
        let key = SecretKey::random();
        let mut changes = vec![change_by(keys.actor_id())];
        let hashes = changes.iter().map(Change::hash).collect();
        let env = Envelope::seal(
            header(&keys, hashes),
            &key,
            &encode_changes(&mut changes),
            &keys,
        );
        let decoded = Envelope::decode(env.as_bytes()).unwrap();
        assert_eq!(decoded, env);
        let opened = decoded.verify_and_open_changes(&key).unwrap();
        assert_eq!(opened[0].hash(), changes[0].hash());
        assert!(matches!(
            decoded.verify_and_open_changes(&SecretKey::random()),
            Err(EnvelopeError::Decrypt(_))
        ));
    }

    #[test]
    fn a_change_by_another_actor_is_refused() {
        let keys = MemberKeys::generate();
        let mallory = MemberKeys::generate();
        let key = SecretKey::random();
        // Mallory signs an envelope carrying a change made under the victim's actor id.
        let mut changes = vec![change_by(keys.actor_id())];
        let hashes = changes.iter().map(Change::hash).collect();
        let env = Envelope::seal(
            header(&mallory, hashes),
            &key,
            &encode_changes(&mut changes),
            &mallory,
        );
        let err = Envelope::decode(env.as_bytes())
            .unwrap()
            .verify_and_open_changes(&key)
            .unwrap_err();
        assert!(matches!(err, EnvelopeError::ForeignActor { .. }), "{err}");
    }

    #[test]
    fn tampering_and_truncation_are_detected() {
        let keys = MemberKeys::generate();
        let key = SecretKey::random();
        let mut changes = vec![change_by(keys.actor_id())];
        let hashes = changes.iter().map(Change::hash).collect();
        let env = Envelope::seal(
            header(&keys, hashes),
            &key,
            &encode_changes(&mut changes),
            &keys,
        );
        let bytes = env.as_bytes();
        for cut in [0, 1, 50, bytes.len() - 1] {
            assert!(Envelope::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // Flip a bit in the seq: the signature no longer verifies.
        let mut evil = bytes.to_vec();
        evil[1 + 1 + 16 + 16 + 32 + 7] ^= 2;
        let decoded = Envelope::decode(&evil).unwrap();
        assert!(matches!(decoded.verify(), Err(EnvelopeError::Signature(_))));
        let mut future = bytes.to_vec();
        future[0] = 9;
        assert_eq!(Envelope::decode(&future), Err(EnvelopeError::Version(9)));
    }

    /// The published test vector: fixed inputs must seal to exactly the recorded bytes.
    /// Regenerate (only when the format version changes) with
    /// `PLENUM_WRITE_VECTORS=1 cargo test -p plenum-core envelope::tests::test_vectors`.
    #[test]
    fn test_vectors() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Vector {
            description: String,
            signing_seed: String,
            exchange_seed: String,
            group_id: String,
            doc_id: String,
            epoch: String,
            epoch_key: String,
            nonce: String,
            seq: u64,
            prev: String,
            plaintext: String,
            author: String,
            group_tag: String,
            doc_key: String,
            envelope: String,
            hash: String,
        }
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../protocol-spec/vectors/envelope-v1.json"
        );
        let h = |s: &str| hex::decode(s).unwrap();
        let arr = |s: &str| -> [u8; 32] { h(s).try_into().unwrap() };
        let build = |v: &Vector| {
            let keys = MemberKeys::from_seeds(arr(&v.signing_seed), arr(&v.exchange_seed));
            let group: GroupId = v.group_id.parse().unwrap();
            let doc: DocId = v.doc_id.parse().unwrap();
            let key = doc_key(&SecretKey::from_bytes(arr(&v.epoch_key)), &doc);
            let header = Header {
                kind: Kind::Membership,
                group_tag: group_tag(&group),
                doc,
                author: keys.id(),
                seq: v.seq,
                prev: v.prev.parse().unwrap(),
                epoch: v.epoch.parse().unwrap(),
                change_hashes: Vec::new(),
            };
            let nonce: [u8; NONCE_LEN] = h(&v.nonce).try_into().unwrap();
            (
                Envelope::seal_with_nonce(header, &key, &h(&v.plaintext), &keys, &nonce),
                key,
                keys,
            )
        };
        if std::env::var_os("PLENUM_WRITE_VECTORS").is_some() {
            let mut v = Vector {
                description: "A kind-1 (membership) envelope, seq 2, with fixed keys and nonce"
                    .into(),
                signing_seed: hex::encode([0x11; 32]),
                exchange_seed: hex::encode([0x22; 32]),
                group_id: hex::encode([0x33; 32]),
                doc_id: hex::encode([0x44; 16]),
                epoch: hex::encode([0x55; 32]),
                epoch_key: hex::encode([0x66; 32]),
                nonce: hex::encode([0x77; 24]),
                seq: 2,
                prev: hex::encode([0x88; 32]),
                plaintext: hex::encode(b"plenum test vector plaintext"),
                author: String::new(),
                group_tag: String::new(),
                doc_key: String::new(),
                envelope: String::new(),
                hash: String::new(),
            };
            let (env, key, keys) = build(&v);
            v.author = keys.id().to_string();
            v.group_tag = hex::encode(env.header().group_tag);
            v.doc_key = hex::encode(key.as_bytes());
            v.envelope = hex::encode(env.as_bytes());
            v.hash = env.hash().to_string();
            std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
        }
        let v: Vector = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (env, key, keys) = build(&v);
        assert_eq!(keys.id().to_string(), v.author);
        assert_eq!(hex::encode(env.header().group_tag), v.group_tag);
        assert_eq!(hex::encode(key.as_bytes()), v.doc_key);
        assert_eq!(
            hex::encode(env.as_bytes()),
            v.envelope,
            "sealing no longer matches the spec"
        );
        assert_eq!(env.hash().to_string(), v.hash);
        let bytes = h(&v.envelope);
        let decoded = Envelope::decode(&bytes).unwrap();
        decoded.verify().unwrap();
        assert_eq!(decoded.open(&key).unwrap(), h(&v.plaintext));
        // Any single changed byte must be caught by decoding, the signature or the AEAD.
        for i in 0..bytes.len() {
            let mut evil = bytes.clone();
            evil[i] ^= 0x01;
            let caught = match Envelope::decode(&evil) {
                Err(_) => true,
                Ok(e) => e.verify().is_err() || e.open(&key).is_err(),
            };
            assert!(caught, "flipping byte {i} went unnoticed");
        }
    }
}
