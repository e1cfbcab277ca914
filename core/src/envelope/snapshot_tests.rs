//! Snapshot envelopes: a snapshot of three authors' real envelopes verifies and
//! reproduces the document; each way of tampering with one is refused with its own
//! error; the published vector verifies.

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc};

use super::snapshot::encode_plaintext;
use super::*;
use crate::docs;
use crate::ids::GroupId;

/// Three authors who each wrote two envelopes to one document, every change made on the
/// shared document so that each depends on the others'.
struct Fixture {
    scope: SnapshotScope,
    epoch_key: SecretKey,
    key: SecretKey,
    authors: Vec<MemberKeys>,
    snapshotter: MemberKeys,
    doc: AutoCommit,
    /// Per author, its envelopes in seq order.
    envelopes: Vec<Vec<Envelope>>,
}

struct Seeds {
    group: GroupId,
    doc: DocId,
    epoch: Hash,
    epoch_key: [u8; 32],
    authors: Vec<MemberKeys>,
    snapshotter: MemberKeys,
    /// The nonce of each author's envelope, `None` for random.
    nonce: Option<u8>,
}

fn random_seeds() -> Seeds {
    Seeds {
        group: GroupId([7; 32]),
        doc: DocId([1; 16]),
        epoch: Hash([2; 32]),
        epoch_key: [3; 32],
        authors: (0..3).map(|_| MemberKeys::generate()).collect(),
        snapshotter: MemberKeys::generate(),
        nonce: None,
    }
}

fn fixture_from(seeds: Seeds) -> Fixture {
    let epoch_key = SecretKey::from_bytes(seeds.epoch_key);
    let key = doc_key(&epoch_key, &seeds.doc);
    let scope = SnapshotScope {
        group_tag: group_tag(&seeds.group),
        doc: seeds.doc,
        epoch: seeds.epoch,
    };
    let mut doc = docs::new_doc(actor_for(&seeds.authors[0].id()));
    let mut envelopes: Vec<Vec<Envelope>> = vec![Vec::new(); seeds.authors.len()];
    let mut n = 0u8;
    for round in 0..2u64 {
        for (i, author) in seeds.authors.iter().enumerate() {
            doc.set_actor(actor_for(&author.id()));
            doc.put(ROOT, format!("k{i}"), format!("round {round}"))
                .unwrap();
            doc.commit_with(CommitOptions::default().with_time(0));
            let mut changes = vec![doc.get_last_local_change().unwrap()];
            let prev = envelopes[i].last().map_or(Hash([0; 32]), Envelope::hash);
            let header = Header {
                kind: Kind::Changes,
                group_tag: scope.group_tag,
                doc: scope.doc,
                author: author.id(),
                seq: round + 1,
                prev,
                epoch: scope.epoch,
                change_hashes: changes.iter().map(Change::hash).collect(),
            };
            let plaintext = encode_changes(&mut changes);
            let env = match seeds.nonce {
                Some(base) => {
                    n += 1;
                    Envelope::seal_with_nonce(header, &key, &plaintext, author, &[base + n; 24])
                }
                None => Envelope::seal(header, &key, &plaintext, author),
            };
            envelopes[i].push(env);
        }
    }
    doc.set_actor(automerge::ActorId::random());
    Fixture {
        scope,
        epoch_key,
        key,
        authors: seeds.authors,
        snapshotter: seeds.snapshotter,
        doc,
        envelopes,
    }
}

impl Fixture {
    fn latest(&self) -> Vec<Envelope> {
        self.envelopes
            .iter()
            .map(|e| e.last().unwrap().clone())
            .collect()
    }

    fn keys(&self) -> impl Fn(&Hash) -> Option<SecretKey> + '_ {
        |epoch| (*epoch == self.scope.epoch).then(|| self.key.clone())
    }

    fn verify(&self, env: &Envelope) -> Result<VerifiedSnapshot, SnapshotError> {
        let decoded = Envelope::decode(env.as_bytes()).unwrap();
        verify_snapshot(&decoded, self.scope.group_tag, self.keys())
    }

    /// Seals a snapshot without [`seal_snapshot`]'s checks, as a dishonest member could.
    /// (The document's own heads when `heads` is `None`.)
    fn seal_raw(&mut self, latest: &[Envelope], heads: Option<Vec<ChangeHash>>) -> Envelope {
        let save = self.doc.save();
        let heads = heads.unwrap_or_else(|| self.doc.get_heads());
        let mut latest: Vec<&Envelope> = latest.iter().collect();
        latest.sort_by_key(|e| e.header().author);
        let header = Header {
            kind: Kind::Snapshot,
            group_tag: self.scope.group_tag,
            doc: self.scope.doc,
            author: self.snapshotter.id(),
            seq: 1,
            prev: Hash([0; 32]),
            epoch: self.scope.epoch,
            change_hashes: heads,
        };
        let plaintext = encode_plaintext(&save, &latest).unwrap();
        Envelope::seal(header, &self.key, &plaintext, &self.snapshotter)
    }

    /// [`seal_snapshot`] of the document.
    fn seal(&mut self, latest: &[Envelope]) -> Result<Envelope, SnapshotError> {
        seal_snapshot(
            &mut self.doc,
            latest,
            self.scope,
            &self.key,
            &self.snapshotter,
        )
    }

    /// `env` sealed again by its author with a changed header.
    fn reseal(&self, env: &Envelope, key: &SecretKey, change: impl Fn(&mut Header)) -> Envelope {
        let author = self
            .authors
            .iter()
            .find(|a| a.id() == env.header().author)
            .unwrap();
        let mut header = env.header().clone();
        change(&mut header);
        Envelope::seal(header, key, &env.open(&self.key).unwrap(), author)
    }
}

#[test]
fn a_snapshot_of_three_authors_verifies_and_reproduces_the_document() {
    let mut f = fixture_from(random_seeds());
    let env = f.seal(&f.latest()).unwrap();
    assert_eq!(env.header().kind, Kind::Snapshot);
    assert_eq!(env.header().change_hashes, f.doc.get_heads());
    let mut verified = f.verify(&env).unwrap();
    assert_eq!(verified.sealed_by, f.snapshotter.id());
    let expected: BTreeMap<MemberId, (u64, Hash)> = f
        .latest()
        .iter()
        .map(|e| (e.header().author, (2, e.hash())))
        .collect();
    assert_eq!(verified.covered, expected);
    assert_eq!(verified.doc.get_heads(), f.doc.get_heads());
    for i in 0..3 {
        let key = format!("k{i}");
        let (value, _) = verified.doc.get(ROOT, &key).unwrap().unwrap();
        assert_eq!(value.as_str(), Some("round 1"), "{key}");
    }
    assert_eq!(
        verified.doc.get_changes(&[]).len(),
        6,
        "every change of the document is in the snapshot"
    );
}

#[test]
fn a_covered_envelope_of_another_document_is_refused() {
    let mut f = fixture_from(random_seeds());
    let other = DocId([9; 16]);
    let mut latest = f.latest();
    latest[1] = f.reseal(&latest[1], &doc_key(&f.epoch_key, &other), |h| {
        h.doc = other;
    });
    let author = latest[1].header().author;
    let want = SnapshotError::CoveredOtherDoc { author, doc: other };
    let err = f.seal(&latest).unwrap_err();
    assert_eq!(err, want);
    let raw = f.seal_raw(&latest, None);
    assert_eq!(f.verify(&raw).unwrap_err(), want);
}

#[test]
fn a_covered_envelope_from_another_group_is_refused() {
    let mut f = fixture_from(random_seeds());
    let mut latest = f.latest();
    latest[0] = f.reseal(&latest[0], &f.key, |h| {
        h.group_tag = group_tag(&GroupId([8; 32]));
    });
    let want = SnapshotError::CoveredOtherGroup {
        author: latest[0].header().author,
    };
    let raw = f.seal_raw(&latest, None);
    assert_eq!(f.verify(&raw).unwrap_err(), want);
    // A whole snapshot checked against another group's tag.
    let env = f.seal(&f.latest()).unwrap();
    let err = verify_snapshot(&env, group_tag(&GroupId([8; 32])), f.keys()).unwrap_err();
    assert_eq!(err, SnapshotError::WrongGroup);
}

#[test]
fn an_author_with_changes_in_the_document_must_be_covered() {
    let mut f = fixture_from(random_seeds());
    let latest = f.latest()[..2].to_vec();
    let actor = actor_for(&f.authors[2].id()).to_hex_string();
    let want = SnapshotError::Uncovered { actor, count: 2 };
    let err = f.seal(&latest).unwrap_err();
    assert_eq!(err, want);
    let raw = f.seal_raw(&latest, None);
    assert_eq!(f.verify(&raw).unwrap_err(), want, "{}", want);
}

#[test]
fn a_covered_envelope_whose_changes_are_not_in_the_document_is_refused() {
    let mut f = fixture_from(random_seeds());
    // Author 0 writes a third envelope on a copy; the snapshot's document lacks it.
    let mut fork = f.doc.fork().with_actor(actor_for(&f.authors[0].id()));
    fork.put(ROOT, "late", "edit").unwrap();
    fork.commit();
    let mut changes = vec![fork.get_last_local_change().unwrap()];
    let missing = changes[0].hash();
    let mut header = f.envelopes[0][1].header().clone();
    header.seq = 3;
    header.prev = f.envelopes[0][1].hash();
    header.change_hashes = vec![missing];
    let third = Envelope::seal(header, &f.key, &encode_changes(&mut changes), &f.authors[0]);
    let mut latest = f.latest();
    latest[0] = third;
    let want = SnapshotError::MissingChange {
        author: f.authors[0].id(),
        seq: 3,
        missing,
    };
    let err = f.seal(&latest).unwrap_err();
    assert_eq!(err, want);
    let raw = f.seal_raw(&latest, None);
    assert_eq!(f.verify(&raw).unwrap_err(), want);
}

#[test]
fn changes_beyond_an_authors_covered_envelope_are_refused() {
    let mut f = fixture_from(random_seeds());
    // Author 1's first envelope cannot vouch for its second change.
    let mut latest = f.latest();
    latest[1] = f.envelopes[1][0].clone();
    let want = SnapshotError::Unvouched {
        author: f.authors[1].id(),
        seq: 1,
        count: 1,
    };
    let err = f.seal(&latest).unwrap_err();
    assert_eq!(err, want);
    let raw = f.seal_raw(&latest, None);
    assert_eq!(f.verify(&raw).unwrap_err(), want);
}

#[test]
fn heads_other_than_the_documents_are_refused() {
    let mut f = fixture_from(random_seeds());
    let first = f.envelopes[0][0].header().change_hashes.clone();
    let raw = f.seal_raw(&f.latest(), Some(first));
    assert_eq!(
        f.verify(&raw).unwrap_err(),
        SnapshotError::Heads {
            listed: 1,
            found: 1
        }
    );
}

#[test]
fn a_flipped_bit_is_caught() {
    let mut f = fixture_from(random_seeds());
    let env = f.seal(&f.latest()).unwrap();
    let mut evil = env.as_bytes().to_vec();
    let at = evil.len() - 100;
    evil[at] ^= 1;
    let decoded = Envelope::decode(&evil).unwrap();
    assert!(matches!(
        verify_snapshot(&decoded, f.scope.group_tag, f.keys()),
        Err(SnapshotError::Envelope(EnvelopeError::Signature(_)))
    ));
    // A flipped bit in a covered envelope's ciphertext, re-sealed by the snapshotter.
    let mut inner = f.envelopes[2][1].as_bytes().to_vec();
    let at = inner.len() - 70;
    inner[at] ^= 1;
    let mut latest = f.latest();
    latest[2] = Envelope::decode(&inner).unwrap();
    let raw = f.seal_raw(&latest, None);
    assert!(matches!(
        f.verify(&raw),
        Err(SnapshotError::Covered {
            error: EnvelopeError::Signature(_),
            ..
        })
    ));
}

#[test]
fn a_snapshot_needs_the_key_of_its_epoch_and_is_no_live_envelope() {
    let mut f = fixture_from(random_seeds());
    let env = f.seal(&f.latest()).unwrap();
    assert_eq!(
        verify_snapshot(&env, f.scope.group_tag, |_| None).unwrap_err(),
        SnapshotError::NoKey {
            epoch: f.scope.epoch
        }
    );
    assert!(matches!(
        verify_snapshot(&env, f.scope.group_tag, |_| Some(SecretKey::random())),
        Err(SnapshotError::Envelope(EnvelopeError::Decrypt(_)))
    ));
    assert_eq!(
        verify_snapshot(&f.envelopes[0][0], f.scope.group_tag, f.keys()).unwrap_err(),
        SnapshotError::NotSnapshot(Kind::Changes)
    );
    // Garbage as the plaintext is malformed, not a panic.
    let header = env.header().clone();
    let junk = Envelope::seal(header, &f.key, &[0, 0, 0, 9, 1], &f.snapshotter);
    assert!(matches!(f.verify(&junk), Err(SnapshotError::Malformed(_))));
}

/// The published vector (`protocol-spec/vectors/snapshot-v1.json`): fixed keys and
/// nonces seal to exactly the recorded bytes, which verify to the recorded covered
/// map. `vectors/gen_envelope.py` checks its framing, signatures and AEAD in Python.
/// Regenerate (only when the format changes) with
/// `PLENUM_WRITE_VECTORS=1 cargo test -p plenum-core envelope::snapshot_tests::test_vector`.
#[test]
fn test_vector() {
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Member {
        signing_seed: String,
        exchange_seed: String,
        member_id: String,
    }
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Covered {
        author: String,
        seq: u64,
        hash: String,
    }
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Vector {
        description: String,
        generator: String,
        group_id: String,
        doc_id: String,
        epoch: String,
        epoch_key: String,
        doc_key: String,
        group_tag: String,
        snapshotter: Member,
        authors: Vec<Member>,
        nonce: String,
        heads: Vec<String>,
        covered: Vec<Covered>,
        envelope: String,
        hash: String,
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol-spec/vectors/snapshot-v1.json"
    );
    let member = |n: u8| {
        let keys = MemberKeys::from_seeds([n; 32], [n + 1; 32]);
        let m = Member {
            signing_seed: hex::encode([n; 32]),
            exchange_seed: hex::encode([n + 1; 32]),
            member_id: keys.id().to_string(),
        };
        (keys, m)
    };
    let build = || {
        let (snapshotter, _) = member(0x51);
        let seeds = Seeds {
            group: GroupId([0x53; 32]),
            doc: DocId([0x54; 16]),
            epoch: Hash([0x55; 32]),
            epoch_key: [0x56; 32],
            authors: [0x61, 0x63, 0x65].map(|n| member(n).0).to_vec(),
            snapshotter,
            nonce: Some(0x70),
        };
        let mut f = fixture_from(seeds);
        let latest = f.latest();
        let env = seal_snapshot_with_nonce(
            &mut f.doc,
            &latest,
            f.scope,
            &f.key,
            &f.snapshotter,
            &[0x5f; 24],
        )
        .unwrap();
        (f, env)
    };
    let (f, env) = build();
    if std::env::var_os("PLENUM_WRITE_VECTORS").is_some() {
        let mut covered: Vec<Covered> = f
            .latest()
            .iter()
            .map(|e| Covered {
                author: e.header().author.to_string(),
                seq: e.header().seq,
                hash: e.hash().to_string(),
            })
            .collect();
        covered.sort_by(|a, b| a.author.cmp(&b.author));
        let v = Vector {
            description: "A snapshot (kind 3) of a document three authors wrote two envelopes \
                          each to, sealed by a fourth member, with fixed keys and nonces"
                .into(),
            generator: "plenum-core envelope::snapshot_tests::test_vector".into(),
            group_id: hex::encode([0x53; 32]),
            doc_id: hex::encode([0x54; 16]),
            epoch: hex::encode([0x55; 32]),
            epoch_key: hex::encode([0x56; 32]),
            doc_key: hex::encode(f.key.as_bytes()),
            group_tag: hex::encode(f.scope.group_tag),
            snapshotter: member(0x51).1,
            authors: [0x61, 0x63, 0x65].map(|n| member(n).1).to_vec(),
            nonce: hex::encode([0x5f; 24]),
            heads: env.header().change_hashes.iter().map(hex::encode).collect(),
            covered,
            envelope: hex::encode(env.as_bytes()),
            hash: env.hash().to_string(),
        };
        std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    }
    let v: Vector = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        hex::encode(env.as_bytes()),
        v.envelope,
        "sealing no longer matches the vector (did Automerge's save format change?)"
    );
    let decoded = Envelope::decode(&hex::decode(&v.envelope).unwrap()).unwrap();
    assert_eq!(decoded.hash().to_string(), v.hash);
    let epoch_key = SecretKey::from_bytes(hex::decode(&v.epoch_key).unwrap().try_into().unwrap());
    let doc: DocId = v.doc_id.parse().unwrap();
    let key = doc_key(&epoch_key, &doc);
    let group: GroupId = v.group_id.parse().unwrap();
    let verified = verify_snapshot(&decoded, group_tag(&group), |_| Some(key.clone())).unwrap();
    let covered: Vec<Covered> = verified
        .covered
        .iter()
        .map(|(author, (seq, hash))| Covered {
            author: author.to_string(),
            seq: *seq,
            hash: hash.to_string(),
        })
        .collect();
    assert_eq!(covered, v.covered);
    assert_eq!(verified.sealed_by.to_string(), v.snapshotter.member_id);
}
