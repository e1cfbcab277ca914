//! The operation encodings and hashes listed in `protocol-spec/membership.md`, "Test
//! vectors", so that the spec and the code cannot drift apart.

use std::collections::BTreeMap;

use super::*;
use crate::crypto::WrappedKey;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

const SPEC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../protocol-spec/membership.md"
));

fn joiner() -> MemberInfo {
    MemberInfo {
        id: MemberId([0x22; 32]),
        exchange: [0x33; 32],
        peer: [0x44; 32],
        name: "Bo".into(),
    }
}

/// One operation of each kind, with fixed group, author, heads and time.
fn vectors() -> Vec<(&'static str, Op)> {
    let invite = Hash([0x55; 32]);
    let kinds = [
        (
            "create",
            OpKind::Create {
                name: "Tenants".into(),
                creator: MemberInfo {
                    id: MemberId([0x11; 32]),
                    ..joiner()
                },
                history: HistoryPolicy::Full,
            },
        ),
        (
            "add",
            OpKind::Add {
                member: joiner(),
                role: Role::Member,
            },
        ),
        (
            "remove",
            OpKind::Remove {
                member: joiner().id,
                cutoff: BTreeMap::from([(DocId([0x66; 16]), 300)]),
            },
        ),
        (
            "change_role",
            OpKind::ChangeRole {
                member: joiner().id,
                role: Role::Admin,
            },
        ),
        (
            "leave",
            OpKind::Leave {
                cutoff: BTreeMap::new(),
            },
        ),
        (
            "set_history",
            OpKind::SetHistory {
                policy: HistoryPolicy::FromJoin,
            },
        ),
        (
            "create_invite",
            OpKind::CreateInvite {
                invite_key: [0x77; 32],
                uses: 1,
                expires: Timestamp(1_800_000_000_000),
            },
        ),
        ("revoke_invite", OpKind::RevokeInvite { invite }),
        (
            "admit",
            OpKind::Admit {
                invite,
                member: joiner(),
                proof: vec![0x88; 64],
            },
        ),
        (
            "set_member_invites",
            OpKind::SetMemberInvites { allowed: false },
        ),
        // An encoding vector, not a crypto one: the wrapped key's bytes are fixed
        // filler (see `protocol-spec/vectors/epoch-v1.json` for a real wrapping).
        (
            "rotate",
            OpKind::Rotate {
                keys: BTreeMap::from([(
                    joiner().id,
                    WrappedKey {
                        ephemeral: [0x66; 32],
                        sealed: vec![0x77; 56],
                    },
                )]),
            },
        ),
        (
            "set_hidden",
            OpKind::SetHidden {
                member: joiner().id,
                hidden: true,
            },
        ),
    ];
    kinds
        .into_iter()
        .map(|(name, kind)| {
            let heads = match kind {
                OpKind::Create { .. } => Vec::new(),
                _ => vec![Hash([0x99; 32])],
            };
            let op = Op {
                group: GroupId([0xaa; 32]),
                author: MemberId([0x11; 32]),
                heads,
                at: Timestamp(1_700_000_000_000),
                kind,
            };
            (name, op)
        })
        .collect()
}

/// The spec's vector lines: `name encoding-hex hash-hex`.
fn spec_vectors() -> BTreeMap<String, (String, String)> {
    let block = SPEC
        .split("```membership-vectors\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_default();
    block
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next()?.to_owned();
            let encoding = parts.next()?.to_owned();
            let hash = parts.next()?.to_owned();
            Some((name, (encoding, hash)))
        })
        .collect()
}

#[test]
fn every_operation_kind_matches_the_spec_vectors() {
    if std::env::var_os("PLENUM_WRITE_VECTORS").is_some() {
        for (name, op) in vectors() {
            println!("{name} {} {}", hex::encode(op.encode()), op.hash());
        }
    }
    let spec = spec_vectors();
    let ours = vectors();
    assert_eq!(spec.len(), ours.len(), "one vector per operation kind");
    for (name, op) in ours {
        let (encoding, hash) = &spec[name];
        assert_eq!(&hex::encode(op.encode()), encoding, "encoding of {name}");
        assert_eq!(&op.hash().to_string(), hash, "hash of {name}");
        let bytes = hex::decode(encoding).unwrap();
        assert_eq!(Op::decode(&bytes).unwrap(), op);
    }
}
