//! Benchmarks of the groups work: sealing and opening envelopes, and replaying a
//! membership log.
//!
//! Run all: `cargo bench -p plenum-core --bench groups`; one: append `-- envelope`,
//! `-- membership` or `-- rotation`. Figures and their interpretation: `docs/benchmarks.md`, section
//! "Groups: envelopes and membership". Pure CPU work, in memory: no store, no network.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use plenum_core::crypto::SecretKey;
use plenum_core::envelope::{self, Envelope, Header, Kind};
use plenum_core::group::{self, Applied, MemberInfo, MembershipLog, Op, OpKind, Role};
use plenum_core::identity::MemberKeys;
use plenum_core::ids::{DocId, GroupId, Hash, MemberId};
use plenum_core::invite::{InviteLink, JoinProof};
use plenum_core::time::Timestamp;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let which = args.first().cloned();
    let run = |name: &str| which.as_deref().is_none_or(|w| w == name);
    if run("envelope") {
        envelopes();
    }
    if run("membership") {
        membership();
    }
    if run("rotation") {
        rotation();
    }
}

/// A key rotation in a group of 50: wrapping a fresh key to every member, the log
/// taking the operation, and one member unwrapping its key.
fn rotation() {
    const MEMBERS: u32 = 50;
    const RUNS: usize = 200;
    let founded = group::create("Bench".into(), "Founder".into(), [0; 32], Timestamp(1_000));
    let founder = founded.secrets.member.id();
    let mut log = MembershipLog::new(founded.op.clone()).expect("create");
    for n in 1..MEMBERS {
        let op = Op {
            group: founded.state.id,
            author: founder,
            heads: log.heads(),
            at: Timestamp(1_000 + u64::from(n)),
            kind: OpKind::Add {
                member: info(n),
                role: Role::Member,
            },
        };
        assert_eq!(log.apply(op), Ok(Applied::Accepted));
    }
    assert_eq!(log.state().members.len(), MEMBERS as usize);
    let (mut wrap, mut apply, mut unwrap) = (Vec::new(), Vec::new(), Vec::new());
    let reader = member_keys(7);
    for i in 0..RUNS {
        let t = Instant::now();
        let (op, key) = group::rotation(
            log.state(),
            founder,
            log.heads(),
            Timestamp(10_000 + i as u64),
        )
        .expect("rotation");
        wrap.push(t.elapsed());
        let epoch = op.hash();
        let t = Instant::now();
        assert_eq!(log.apply(op.clone()), Ok(Applied::Accepted));
        apply.push(t.elapsed());
        let mut secrets = group::GroupSecrets::empty(reader.clone());
        let t = Instant::now();
        assert!(
            secrets
                .learn_rotation(&founded.state.id, epoch, &op)
                .expect("unwrap")
        );
        unwrap.push(t.elapsed());
        assert_eq!(secrets.epoch_key(&epoch).as_ref(), Some(&key));
    }
    report("rotation in a 50-member group, wrap to all", wrap);
    report("rotation in a 50-member group, log applies it", apply);
    report("rotation in a 50-member group, a member unwraps", unwrap);
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// `label: n ops/s (mean), µs per op p50 …, p99 …`, from per-operation samples.
fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    let at = |p: f64| micros(samples[((samples.len() as f64 - 1.0) * p) as usize]);
    println!(
        "{label}: {:.0} ops/s; per op p50 {:.1} µs, p99 {:.1} µs ({} iterations)",
        samples.len() as f64 / total.as_secs_f64(),
        at(0.5),
        at(0.99),
        samples.len()
    );
}

fn envelopes() {
    let author = MemberKeys::generate();
    let doc = DocId::random();
    let key = envelope::doc_key(&SecretKey::random(), &doc);
    let header = Header {
        kind: Kind::Membership,
        group_tag: envelope::group_tag(&GroupId::random()),
        doc,
        author: author.id(),
        seq: 1,
        prev: Hash([0; 32]),
        epoch: Hash([1; 32]),
        change_hashes: Vec::new(),
    };
    for (label, len, iterations) in [("100 B", 100, 20_000), ("64 KiB", 64 * 1024, 2_000)] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut sealed = Vec::with_capacity(iterations);
        let mut seal = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            let env = Envelope::seal(header.clone(), &key, &payload, &author);
            seal.push(t.elapsed());
            sealed.push(env.as_bytes().to_vec());
        }
        let mut open = Vec::with_capacity(iterations);
        for bytes in &sealed {
            let t = Instant::now();
            let env = Envelope::decode(bytes).expect("decode");
            env.verify().expect("verify");
            let plaintext = env.open(&key).expect("open");
            open.push(t.elapsed());
            assert_eq!(plaintext.len(), len);
            black_box(plaintext);
        }
        report(&format!("envelope {label}, seal + sign"), seal);
        report(&format!("envelope {label}, decode + verify + open"), open);
    }
}

/// The keys of member `n` of the benchmark group (the founder is created by
/// `group::create`).
fn member_keys(n: u32) -> MemberKeys {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    let mut exchange = seed;
    exchange[31] = 1;
    MemberKeys::from_seeds(seed, exchange)
}

fn info_of(keys: &MemberKeys, n: u32) -> MemberInfo {
    MemberInfo {
        id: keys.id(),
        exchange: keys.exchange_public(),
        peer: [0; 32],
        name: format!("member {n}"),
    }
}

/// Member `n` of the benchmark group.
fn info(n: u32) -> MemberInfo {
    info_of(&member_keys(n), n)
}

/// Builds a valid membership log of `len` operations after the create: adds, role
/// changes, invites, admissions, removals and an occasional policy change, mostly
/// linear, with a pair of concurrent operations every 50 and a merge after each.
/// Returns the create operation and the others in causal order.
fn build_log(len: usize) -> (Op, Vec<Op>) {
    let founded = group::create("Bench".into(), "Founder".into(), [0; 32], Timestamp(1_000));
    let founder = founded.secrets.member.id();
    let mut log = MembershipLog::new(founded.op.clone()).expect("create");
    let mut ops = Vec::with_capacity(len);
    let mut next_member = 1u32;
    let mut admins = vec![founder];
    let mut members: Vec<MemberId> = Vec::new();
    // Open invites: hash, uses left, creator (whose removal revokes them).
    let mut invites: Vec<(Hash, u32, MemberId, InviteLink)> = Vec::new();
    let mut at = 1_000u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut random = |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let mut write = |log: &mut MembershipLog, ops: &mut Vec<Op>, author, heads, kind| {
        at += 1;
        let op = Op {
            group: founded.state.id,
            author,
            heads,
            at: Timestamp(at),
            kind,
        };
        let hash = op.hash();
        assert_eq!(log.apply(op.clone()), Ok(Applied::Accepted), "{op:?}");
        ops.push(op);
        hash
    };
    while ops.len() < len {
        let heads = log.heads();
        let admin = admins[random(admins.len())];
        if ops.len() % 50 == 49 && len - ops.len() >= 2 {
            // Two admins (or one, twice) add someone at the same heads; the next
            // operation merges the branches.
            for _ in 0..2 {
                let member = info(next_member);
                next_member += 1;
                members.push(member.id);
                let author = admins[random(admins.len())];
                let kind = OpKind::Add {
                    member,
                    role: Role::Member,
                };
                write(&mut log, &mut ops, author, heads.clone(), kind);
            }
            continue;
        }
        let choice = random(100);
        let kind = if choice < 35 || members.len() < 5 {
            let member = info(next_member);
            next_member += 1;
            members.push(member.id);
            OpKind::Add {
                member,
                role: Role::Member,
            }
        } else if choice < 45 {
            let member = members.swap_remove(random(members.len()));
            admins.push(member);
            OpKind::ChangeRole {
                member,
                role: Role::Admin,
            }
        } else if choice < 50 && admins.len() > 2 {
            let i = random(admins.len());
            let member = admins[i];
            if member == admin {
                continue;
            }
            admins.swap_remove(i);
            members.push(member);
            OpKind::ChangeRole {
                member,
                role: Role::Member,
            }
        } else if choice < 65 {
            let uses = 1 + random(3) as u32;
            let link =
                InviteLink::new(founded.state.id, Timestamp(u64::MAX), Vec::new()).expect("link");
            let kind = OpKind::CreateInvite {
                invite_key: link.invite_key().public_key(),
                uses,
                expires: Timestamp(u64::MAX),
            };
            let hash = write(&mut log, &mut ops, admin, heads, kind);
            invites.push((hash, uses, admin, link));
            continue;
        } else if choice < 80 && !invites.is_empty() {
            let i = random(invites.len());
            let invite = invites[i].0;
            let keys = member_keys(next_member);
            let member = info_of(&keys, next_member);
            next_member += 1;
            members.push(member.id);
            let proof = JoinProof::create(&invites[i].3, &keys, &member, [0; 32], [0; 32])
                .expect("proof")
                .encode();
            invites[i].1 -= 1;
            if invites[i].1 == 0 {
                invites.swap_remove(i);
            }
            OpKind::Admit {
                invite,
                member,
                proof,
            }
        } else if choice < 97 {
            let member = members.swap_remove(random(members.len()));
            invites.retain(|(_, _, creator, _)| *creator != member);
            OpKind::Remove {
                member,
                cutoff: BTreeMap::from([(DocId([1; 16]), 10)]),
            }
        } else {
            OpKind::SetHistory {
                policy: if choice == 97 {
                    group::HistoryPolicy::FromJoin
                } else {
                    group::HistoryPolicy::Full
                },
            }
        };
        write(&mut log, &mut ops, admin, heads, kind);
    }
    // Every operation stands: the benchmark replays a valid log.
    for op in &ops {
        assert_eq!(log.outcome(&op.hash()), Some(&Ok(())));
    }
    println!(
        "membership log: {} operations after the create, {} members at the end, {} concurrent pairs",
        ops.len(),
        log.state().members.len(),
        len / 50
    );
    (founded.op, ops)
}

fn membership() {
    const LEN: usize = 1_000;
    const RUNS: usize = 20;
    let (create, ops) = build_log(LEN);

    let mut whole = Vec::with_capacity(RUNS);
    let mut state = None;
    for _ in 0..RUNS {
        let mut log = MembershipLog::new(create.clone()).expect("create");
        let batch = ops.clone();
        let t = Instant::now();
        let results = log.apply_all(batch);
        whole.push(t.elapsed());
        assert!(results.iter().all(|r| r == &Ok(Applied::Accepted)));
        state = Some(log.state().clone());
    }
    whole.sort();
    println!(
        "membership log of {LEN} operations, apply_all from scratch: p50 {:.1} ms, max {:.1} ms ({RUNS} runs)",
        whole[RUNS / 2].as_secs_f64() * 1e3,
        whole[RUNS - 1].as_secs_f64() * 1e3
    );

    let mut runs = Vec::with_capacity(RUNS);
    let mut per_op = Vec::with_capacity(RUNS * LEN);
    for _ in 0..RUNS {
        let mut log = MembershipLog::new(create.clone()).expect("create");
        let batch = ops.clone();
        let started = Instant::now();
        for op in batch {
            let t = Instant::now();
            let applied = log.apply(op);
            per_op.push(t.elapsed());
            assert_eq!(applied, Ok(Applied::Accepted));
        }
        runs.push(started.elapsed());
        assert_eq!(Some(log.state()), state.as_ref(), "same state either way");
    }
    runs.sort();
    println!(
        "membership log of {LEN} operations, apply one by one in causal order: p50 {:.1} ms, max {:.1} ms ({RUNS} runs)",
        runs[RUNS / 2].as_secs_f64() * 1e3,
        runs[RUNS - 1].as_secs_f64() * 1e3
    );
    report("  per apply", per_op);
}
