//! Replays the fuzz corpus and crashers (`fuzz/corpus/<target>/`, `fuzz/crashers/<target>/`)
//! through the fuzz targets' own entry points ([`crate::fuzzing`]), so that a fixed
//! crash stays fixed under plain `cargo test`, and checks that the seed corpus still
//! reaches the decoders' success paths.
//!
//! The seeds are generated here from fixed keys and nonces; after a format change,
//! regenerate them with
//! `PLENUM_WRITE_FUZZ_CORPUS=1 cargo test -p plenum-core fuzz_regressions_tests::seed_corpus`.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, Change, ROOT};

use crate::crypto::SecretKey;
use crate::envelope::{self, Envelope, Header, Kind};
use crate::fuzzing::{self, EPOCH_KEY, FOUNDER, GROUP, TARGETS, genesis, genesis_log};
use crate::group::{HistoryPolicy, MemberInfo, Op, OpKind, Role};
use crate::identity::MemberKeys;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_and_crashers_replay_without_panics() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, run) in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz target {name} has no seed corpus");
        for file in corpus
            .iter()
            .chain(&files(&fuzz_dir().join("crashers").join(name)))
        {
            let bytes = std::fs::read(file).unwrap();
            if catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
                failures.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(failures.is_empty(), "panicked on: {failures:#?}");
    assert!(replayed >= TARGETS.len());
}

/// Every cargo-fuzz target is replayed here, and every entry point has a target.
#[test]
fn every_fuzz_target_has_an_entry_point() {
    let on_disk: BTreeSet<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    let known: BTreeSet<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        on_disk, known,
        "fuzz/fuzz_targets/ and fuzzing::TARGETS differ"
    );
}

/// The committed seeds are exactly what the current code generates, and they reach the
/// success paths: envelopes verify and open, operations are accepted by the log.
#[test]
fn seed_corpus() {
    let seeds = seeds();
    for (target, name, bytes) in &seeds {
        let path = fuzz_dir().join("corpus").join(target).join(name);
        if std::env::var_os("PLENUM_WRITE_FUZZ_CORPUS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == *bytes,
            "{} is stale; regenerate it (see this module's docs)",
            path.display()
        );
    }
    let key = |doc: &DocId| envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), doc);
    for (_, name, bytes) in seeds.iter().filter(|(t, _, _)| *t == "envelope") {
        let env = Envelope::decode(bytes).unwrap();
        env.verify().unwrap();
        let plaintext = env.open(&key(&env.header().doc)).unwrap();
        match env.header().kind {
            Kind::Changes => {
                let changes = env.open_stored_changes(&key(&env.header().doc)).unwrap();
                assert!(!changes.is_empty(), "{name}");
            }
            Kind::Membership if name.contains("op") => {
                Op::decode(&plaintext).unwrap();
            }
            Kind::Membership => {}
            Kind::Snapshot => {
                let verified = envelope::verify_snapshot(&env, env.header().group_tag, |_| {
                    Some(key(&env.header().doc))
                })
                .unwrap();
                assert!(!verified.covered.is_empty(), "{name}");
            }
        }
    }
    for (_, name, bytes) in seeds.iter().filter(|(t, _, _)| *t == "snapshot") {
        let env = fuzzing::snapshot_envelope(bytes);
        let verified = envelope::verify_snapshot(&env, envelope::group_tag(&GROUP), |_| {
            Some(key(&env.header().doc))
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let authors = ["empty", "one-author", "two-authors"]
            .iter()
            .position(|n| n == name)
            .unwrap();
        assert_eq!(verified.covered.len(), authors, "{name}");
    }
    let authored = seed_changes();
    for (_, name, bytes) in seeds.iter().filter(|(t, _, _)| *t == "changes_plaintext") {
        // Sealed with the right hashes listed, each seed opens to its changes.
        let count = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        let author = fuzzing::author();
        let header = fuzzing::first_header(
            Kind::Changes,
            author.id(),
            authored[..count].iter().map(Change::hash).collect(),
        );
        let env = Envelope::seal(header, &key(&fuzzing::DOC), bytes, &author);
        assert_eq!(
            env.open_stored_changes(&key(&fuzzing::DOC)).unwrap().len(),
            count,
            "{name}"
        );
    }
    for (_, name, bytes) in seeds.iter().filter(|(t, _, _)| *t == "membership_op") {
        let mut log = genesis_log();
        let ops = decode_all(bytes);
        let hashes: Vec<Hash> = ops.iter().map(Op::hash).collect();
        log.apply_all(ops);
        assert_eq!(
            log.len(),
            hashes.len() + 1,
            "{name}: every operation is in the DAG"
        );
        assert!(
            hashes.iter().any(|h| log.outcome(h) == Some(&Ok(()))),
            "{name}: no operation stands"
        );
    }
}

fn decode_all(mut bytes: &[u8]) -> Vec<Op> {
    let mut ops = Vec::new();
    while !bytes.is_empty() {
        let (op, rest) = postcard::take_from_bytes::<Op>(bytes).unwrap();
        ops.push(op);
        bytes = rest;
    }
    ops
}

fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (name, bytes) in envelope_seeds() {
        seeds.push(("envelope", name, bytes));
    }
    for (name, bytes) in changes_plaintext_seeds() {
        seeds.push(("changes_plaintext", name, bytes));
    }
    for (name, ops) in op_seeds() {
        seeds.push((
            "membership_op",
            name,
            ops.iter().flat_map(Op::encode).collect(),
        ));
    }
    for (name, bytes) in invite_seeds() {
        seeds.push(("invite", name, bytes));
    }
    for (name, bytes) in snapshot_seeds() {
        seeds.push(("snapshot", name, bytes));
    }
    for (name, bytes) in version_vector_seeds() {
        seeds.push(("version_vector", name, bytes));
    }
    for (name, bytes) in import_seeds() {
        seeds.push(("import", name, bytes));
    }
    // Each target's entry point must accept its own seeds.
    for (target, _, bytes) in &seeds {
        let run = TARGETS.iter().find(|(n, _)| n == target).unwrap().1;
        run(bytes);
    }
    seeds
}

fn envelope_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let author = fuzzing::author();
    let doc = fuzzing::DOC;
    let key = envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), &doc);
    let header = |kind, seq, change_hashes| Header {
        kind,
        group_tag: envelope::group_tag(&GROUP),
        doc,
        author: author.id(),
        seq,
        prev: Hash([if seq == 1 { 0 } else { 0x88 }; 32]),
        epoch: fuzzing::EPOCH,
        change_hashes,
    };
    let seal = |header, plaintext: &[u8]| {
        Envelope::seal_with_nonce(header, &key, plaintext, &author, &[0x77; 24])
            .as_bytes()
            .to_vec()
    };
    let mut changes = seed_changes();
    let hashes = |c: &[Change]| c.iter().map(Change::hash).collect::<Vec<_>>();
    let vector: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec/vectors/envelope-v1.json"),
        )
        .unwrap(),
    )
    .unwrap();
    vec![
        (
            "spec-vector",
            hex::decode(vector["envelope"].as_str().unwrap()).unwrap(),
        ),
        ("empty", seal(header(Kind::Membership, 1, Vec::new()), b"")),
        (
            "membership-op",
            seal(header(Kind::Membership, 1, Vec::new()), &genesis().encode()),
        ),
        (
            "one-change",
            seal(
                header(Kind::Changes, 1, hashes(&changes[..1])),
                &envelope::encode_changes(&mut changes[..1]),
            ),
        ),
        (
            "two-changes",
            seal(
                header(Kind::Changes, 2, hashes(&changes)),
                &envelope::encode_changes(&mut changes),
            ),
        ),
        ("snapshot", seed_snapshot(2).as_bytes().to_vec()),
    ]
}

/// A snapshot of document `0x44…` sealed as the `snapshot` target seals it: `authors`
/// (0 to 2) authors — the target's author, then a second — each wrote one envelope
/// with one change on the shared document, at fixed times and nonces.
fn seed_snapshot(authors: usize) -> Envelope {
    let doc_id = fuzzing::DOC;
    let key = envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), &doc_id);
    let writers = [
        fuzzing::author(),
        MemberKeys::from_seeds([0x31; 32], [0x32; 32]),
    ];
    let mut doc = AutoCommit::new();
    let mut latest = Vec::new();
    for (i, writer) in writers.iter().take(authors).enumerate() {
        doc.set_actor(writer.actor_id());
        doc.put(ROOT, format!("k{i}"), "v").unwrap();
        doc.commit_with(CommitOptions::default().with_time(0));
        let mut changes = vec![doc.get_last_local_change().unwrap()];
        let header = fuzzing::first_header(
            Kind::Changes,
            writer.id(),
            changes.iter().map(Change::hash).collect(),
        );
        let plaintext = envelope::encode_changes(&mut changes);
        latest.push(Envelope::seal_with_nonce(
            header,
            &key,
            &plaintext,
            writer,
            &[0x78; 24],
        ));
    }
    let scope = envelope::SnapshotScope {
        group_tag: envelope::group_tag(&GROUP),
        doc: doc_id,
        epoch: fuzzing::EPOCH,
    };
    envelope::seal_snapshot_with_nonce(
        &mut doc,
        &latest,
        scope,
        &key,
        &fuzzing::author(),
        &[0x77; 24],
    )
    .unwrap()
}

/// The plaintexts of [`seed_snapshot`]s: what the `snapshot` target seals.
fn snapshot_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let key = envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), &fuzzing::DOC);
    ["empty", "one-author", "two-authors"]
        .into_iter()
        .enumerate()
        .map(|(n, name)| (name, seed_snapshot(n).open(&key).unwrap()))
        .collect()
}

/// Changes by the `changes_plaintext` target's author, with fixed times.
fn seed_changes() -> Vec<Change> {
    let author = fuzzing::author();
    let mut doc = AutoCommit::new().with_actor(author.actor_id());
    let mut changes = Vec::new();
    for (k, v) in [("title", "Rent strike"), ("when", "Thursday 7pm")] {
        doc.put(ROOT, k, v).unwrap();
        doc.commit_with(CommitOptions::default().with_time(0));
        changes.push(doc.get_last_local_change().unwrap());
    }
    changes
}

fn changes_plaintext_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut changes = seed_changes();
    vec![
        ("none", envelope::encode_changes(&mut [])),
        ("one", envelope::encode_changes(&mut changes[..1])),
        ("two", envelope::encode_changes(&mut changes)),
    ]
}

fn member(n: u8) -> MemberInfo {
    MemberInfo {
        id: MemberId([n; 32]),
        exchange: [n; 32],
        peer: [n.wrapping_add(100); 32],
        name: format!("member {n}"),
    }
}

fn op(author: MemberId, heads: &[Hash], at: u64, kind: OpKind) -> Op {
    Op {
        group: GROUP,
        author,
        heads: heads.to_vec(),
        at: Timestamp(at),
        kind,
    }
}

/// Operation sequences on [`genesis`]: linear, with concurrent branches, and out of
/// causal order.
fn op_seeds() -> Vec<(&'static str, Vec<Op>)> {
    let g = genesis().hash();
    let m = |n: u8| MemberId([n; 32]);

    let add2 = op(
        FOUNDER,
        &[g],
        2_000,
        OpKind::Add {
            member: member(2),
            role: Role::Member,
        },
    );

    let mut linear = vec![add2.clone()];
    let next = |author: MemberId, kind: OpKind, linear: &mut Vec<Op>| {
        let heads = [linear.last().unwrap().hash()];
        let op = op(author, &heads, 2_000 + linear.len() as u64, kind);
        linear.push(op.clone());
        op.hash()
    };
    next(
        FOUNDER,
        OpKind::Add {
            member: member(3),
            role: Role::Admin,
        },
        &mut linear,
    );
    next(
        m(3),
        OpKind::ChangeRole {
            member: m(2),
            role: Role::Admin,
        },
        &mut linear,
    );
    let invite = next(
        m(2),
        OpKind::CreateInvite {
            invite_key: [9; 32],
            uses: 2,
            expires: Timestamp(1_000_000),
        },
        &mut linear,
    );
    next(
        m(3),
        OpKind::Admit {
            invite,
            member: member(4),
            proof: vec![4; 64],
        },
        &mut linear,
    );
    next(FOUNDER, OpKind::RevokeInvite { invite }, &mut linear);
    next(
        FOUNDER,
        OpKind::SetHistory {
            policy: HistoryPolicy::FromJoin,
        },
        &mut linear,
    );
    next(
        m(2),
        OpKind::SetMemberInvites { allowed: false },
        &mut linear,
    );
    next(
        FOUNDER,
        OpKind::Remove {
            member: m(4),
            cutoff: BTreeMap::from([(DocId([0x44; 16]), 3)]),
        },
        &mut linear,
    );
    next(
        m(3),
        OpKind::Leave {
            cutoff: BTreeMap::new(),
        },
        &mut linear,
    );

    // Founder and member 2 (an admin) remove each other concurrently, while 2 adds 5.
    let promote = op(
        FOUNDER,
        &[add2.hash()],
        2_100,
        OpKind::ChangeRole {
            member: m(2),
            role: Role::Admin,
        },
    );
    let p = promote.hash();
    let concurrent = vec![
        add2.clone(),
        promote,
        op(
            FOUNDER,
            &[p],
            2_200,
            OpKind::Remove {
                member: m(2),
                cutoff: BTreeMap::new(),
            },
        ),
        op(
            m(2),
            &[p],
            2_200,
            OpKind::Remove {
                member: FOUNDER,
                cutoff: BTreeMap::new(),
            },
        ),
        op(
            m(2),
            &[p],
            2_300,
            OpKind::Add {
                member: member(5),
                role: Role::Member,
            },
        ),
    ];

    // A one-use invite admitted twice across a partition.
    let one_use = op(
        FOUNDER,
        &[g],
        2_000,
        OpKind::CreateInvite {
            invite_key: [8; 32],
            uses: 1,
            expires: Timestamp(1_000_000),
        },
    );
    let i = one_use.hash();
    let invite_race = vec![
        one_use,
        op(
            FOUNDER,
            &[i],
            2_100,
            OpKind::Admit {
                invite: i,
                member: member(6),
                proof: vec![6; 64],
            },
        ),
        op(
            FOUNDER,
            &[i],
            2_100,
            OpKind::Admit {
                invite: i,
                member: member(7),
                proof: vec![7; 64],
            },
        ),
    ];

    let reversed = linear.iter().rev().cloned().collect();
    vec![
        ("add", vec![add2]),
        ("linear", linear),
        ("mutual-removal", concurrent),
        ("invite-race", invite_race),
        ("reversed", reversed),
    ]
}

/// `membership_op` reads concatenated operations; `Op::decode` takes exactly one.
#[test]
fn membership_op_reads_each_operation_of_a_seed() {
    let (_, ops) = op_seeds()
        .into_iter()
        .find(|(n, _)| *n == "linear")
        .unwrap();
    let bytes: Vec<u8> = ops.iter().flat_map(Op::encode).collect();
    assert_eq!(decode_all(&bytes), ops);
    assert_eq!(Op::decode(&ops[0].encode()).unwrap(), ops[0]);
    assert!(
        Op::decode(&bytes).is_err(),
        "trailing operations are refused"
    );
    fuzzing::membership_op(&bytes);
}

fn invite_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use crate::invite::{InviteLink, InviteSecret, JoinProof, JoinRequest};
    let group = GroupId([0x33; 32]);
    let link = |addresses: Vec<Vec<u8>>| {
        InviteLink::with_secret(
            group,
            InviteSecret::from_bytes([0x5e; 32]),
            Timestamp(1_900_000_000_000),
            addresses,
        )
        .expect("link")
    };
    let bare = link(Vec::new());
    let keys = fuzzing::author();
    let member = MemberInfo {
        id: keys.id(),
        exchange: keys.exchange_public(),
        peer: [0x44; 32],
        name: "Bo".into(),
    };
    let proof = JoinProof::create(&bare, &keys, &member, [0x55; 32], [0x66; 32]).expect("proof");
    let request = JoinRequest {
        group,
        invite_key: bare.invite_key().public_key(),
        member,
        proof: proof.encode(),
    };
    vec![
        ("link", bare.to_link().into_bytes()),
        (
            "link-with-addresses",
            link(vec![vec![4, 127, 0, 0, 1, 6, 0x1f, 0x90], vec![0x2a; 40]])
                .to_link()
                .into_bytes(),
        ),
        ("proof", proof.encode()),
        ("join-request", request.encode()),
    ]
}

fn version_vector_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use crate::sync::{AuthorHead, VersionVector};
    let head = |seq, tag| AuthorHead {
        seq,
        head: Hash([tag; 32]),
    };
    let mut one = VersionVector::default();
    one.insert(DocId([1; 16]), MemberId([2; 32]), head(3, 3));
    let mut many = one.clone();
    many.insert(DocId([1; 16]), MemberId([5; 32]), head(300, 4));
    many.insert(DocId([9; 16]), MemberId([2; 32]), head(u64::MAX, 5));
    // Two vectors of one length back to back: the target catches each up on the other.
    let mut other = VersionVector::default();
    other.insert(DocId([1; 16]), MemberId([2; 32]), head(5, 7));
    let mut pair = one.to_bytes();
    pair.extend(other.to_bytes());
    assert_eq!(one.to_bytes().len(), other.to_bytes().len());
    vec![
        ("empty", VersionVector::default().to_bytes()),
        ("one-entry", one.to_bytes()),
        ("three-entries", many.to_bytes()),
        ("pair", pair),
    ]
}

/// The import fixtures, each behind the byte that picks its parser.
fn import_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let fixture = |path: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/import")
                .join(path),
        )
        .unwrap()
    };
    let with = |which: u8, bytes: Vec<u8>| [vec![which], bytes].concat();
    let zip = crate::import::archive_tests::make_zip(&[(
        "_chat.txt",
        &fixture("whatsapp/ios-en-12h.txt"),
    )]);
    vec![
        (
            "whatsapp-android",
            with(0, fixture("whatsapp/android-us-24h.txt")),
        ),
        (
            "whatsapp-ios",
            with(0, fixture("whatsapp/ios-de-bracketed.txt")),
        ),
        (
            "whatsapp-es",
            with(0, fixture("whatsapp/android-es-pm.txt")),
        ),
        ("whatsapp-zip", with(0, zip)),
        ("telegram", with(1, fixture("telegram/single-chat.json"))),
        ("trello", with(2, fixture("trello/board.json"))),
        ("etherpad", with(3, fixture("etherpad/minutes.etherpad"))),
    ]
}
