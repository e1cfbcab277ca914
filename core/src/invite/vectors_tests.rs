//! The vectors of `protocol-spec/invite.md`, "Test vectors", made by an independent
//! Python generator, checked field by field so that spec and code cannot drift apart.

use serde_json::Value;

use super::*;
use crate::group::MemberInfo;
use crate::identity::MemberKeys;
use crate::ids::{GroupId, MemberId};
use crate::time::Timestamp;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../protocol-spec/vectors/invite-v1.json"
));

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn text<'a>(v: &'a Value, section: &str, field: &str) -> &'a str {
    v[section][field]
        .as_str()
        .unwrap_or_else(|| panic!("{section}.{field} missing"))
}

fn bytes(v: &Value, section: &str, field: &str) -> Vec<u8> {
    crate::test_vectors::bytes(&v[section], field)
}

fn array<const N: usize>(v: &Value, section: &str, field: &str) -> [u8; N] {
    crate::test_vectors::array(&v[section], field)
}

struct Inputs {
    link: InviteLink,
    keys: MemberKeys,
    info: MemberInfo,
    admitter_peer: [u8; 32],
    nonce: [u8; 32],
}

fn inputs(v: &Value) -> Inputs {
    let addresses = v["inputs"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| hex::decode(a.as_str().unwrap()).unwrap())
        .collect();
    let link = InviteLink::with_secret(
        GroupId(array(v, "inputs", "group_id")),
        InviteSecret::from_bytes(array(v, "inputs", "secret")),
        Timestamp(v["inputs"]["expires"].as_u64().unwrap()),
        addresses,
    )
    .unwrap();
    let keys = MemberKeys::from_seeds(
        array(v, "inputs", "member_signing_seed"),
        array(v, "inputs", "member_exchange_secret"),
    );
    let info = MemberInfo {
        id: keys.id(),
        exchange: keys.exchange_public(),
        peer: array(v, "inputs", "joiner_peer"),
        name: text(v, "inputs", "name").to_owned(),
    };
    Inputs {
        link,
        keys,
        info,
        admitter_peer: array(v, "inputs", "admitter_peer"),
        nonce: array(v, "inputs", "nonce"),
    }
}

#[test]
fn the_link_encodes_and_parses_as_the_vectors_say() {
    let v = vectors();
    let i = inputs(&v);
    assert_eq!(i.link.addresses.len(), 2);
    let payload = i.link.payload();
    assert_eq!(hex::encode(&payload), text(&v, "link", "payload"));
    assert_eq!(
        hex::encode(&payload[payload.len() - 4..]),
        text(&v, "link", "checksum")
    );
    assert_eq!(i.link.to_link(), text(&v, "link", "text"));
    assert_eq!(InviteLink::parse(text(&v, "link", "text")).unwrap(), i.link);
}

#[test]
fn the_derived_keys_match_the_vectors() {
    let v = vectors();
    let i = inputs(&v);
    let invite_public: [u8; 32] = array(&v, "keys", "invite_public_key");
    assert_eq!(i.link.invite_key().public_key(), invite_public);
    assert_eq!(
        invite_public_key(&i.link.group, &i.link.secret),
        invite_public
    );
    // The seed, through the same derivation the key uses.
    let seed = crate::crypto::SecretKey::from_bytes(*i.link.secret.as_bytes())
        .derive("plenum invite key v1", i.link.group.as_bytes());
    assert_eq!(
        hex::encode(seed.as_bytes()),
        text(&v, "keys", "invite_seed")
    );
    assert_eq!(i.link.rendezvous(), text(&v, "keys", "rendezvous"));
    assert_eq!(i.info.id, MemberId(array(&v, "keys", "member_id")));
    assert_eq!(
        i.info.exchange,
        array::<32>(&v, "keys", "member_exchange_public")
    );
}

#[test]
fn the_join_proof_matches_the_vectors_and_verifies() {
    let v = vectors();
    let i = inputs(&v);
    let invite_key = i.link.invite_key().public_key();
    let m = proof::message(
        &i.link.group,
        &invite_key,
        &i.info,
        &i.admitter_peer,
        &i.nonce,
    )
    .unwrap();
    assert_eq!(hex::encode(&m), text(&v, "proof", "message"));

    let proof = JoinProof::create(&i.link, &i.keys, &i.info, i.admitter_peer, i.nonce).unwrap();
    assert_eq!(
        hex::encode(proof.invite_sig()),
        text(&v, "proof", "invite_sig")
    );
    assert_eq!(
        hex::encode(proof.member_sig()),
        text(&v, "proof", "member_sig")
    );
    let encoded = bytes(&v, "proof", "encoded");
    assert_eq!(proof.encode(), encoded);

    let decoded = JoinProof::decode(&encoded).unwrap();
    assert_eq!(decoded, proof);
    assert_eq!(decoded.verify(&i.link.group, &invite_key, &i.info), Ok(()));
}
