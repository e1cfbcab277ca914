//! `protocol-spec/vectors/epoch-v1.json`, made by the independent Python generator
//! (`gen_envelope.py`): the wrap and grant contexts, each wrapping's KEK and sealed
//! key, and the production paths that open them (`learn_rotation`, `accept_grants`)
//! must agree with it. See `protocol-spec/key-epochs.md`, "Test vectors".

use std::collections::BTreeMap;

use serde_json::Value;

use crate::test_vectors::{array, bytes};

use super::*;
use crate::crypto::{SecretKey, WrappedKey, unwrap_key};
use crate::identity::MemberKeys;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

const EPOCHS: &str = include_str!("../../../protocol-spec/vectors/epoch-v1.json");

fn vectors() -> Value {
    serde_json::from_str(EPOCHS).unwrap()
}

struct Recipient {
    group: GroupId,
    keys: MemberKeys,
    secret: x25519_dalek::StaticSecret,
}

fn recipient(d: &Value) -> Recipient {
    let r = &d["recipient"];
    let keys = MemberKeys::from_seeds(array(r, "signing_seed"), array(r, "exchange_secret"));
    assert_eq!(keys.id(), MemberId(array(r, "member_id")));
    assert_eq!(keys.exchange_public(), array::<32>(r, "exchange_public"));
    Recipient {
        group: GroupId(array(d, "group_id")),
        keys,
        secret: x25519_dalek::StaticSecret::from(array::<32>(r, "exchange_secret")),
    }
}

/// Checks one wrapping of the file: `wrap_key`'s steps with the fixed ephemeral key and
/// nonce give its bytes, and the production `unwrap_key` opens it to its key (and
/// refuses it under any other context). Returns it as a [`WrappedKey`].
fn check_wrapping(w: &Value, to: &Recipient, context: &[u8], name: &str) -> WrappedKey {
    assert_eq!(context, bytes(w, "context").as_slice(), "context of {name}");
    let exchange = to.keys.exchange_public();
    let eph = x25519_dalek::StaticSecret::from(array::<32>(w, "ephemeral_secret"));
    let eph_pub = x25519_dalek::PublicKey::from(&eph).to_bytes();
    assert_eq!(eph_pub, array::<32>(w, "ephemeral_public"), "{name}");
    let shared = eph.diffie_hellman(&x25519_dalek::PublicKey::from(exchange));
    assert_eq!(
        shared.as_bytes(),
        &array::<32>(w, "shared_secret"),
        "{name}"
    );
    let kek = SecretKey::from_bytes(*shared.as_bytes()).derive(
        "plenum key wrap v1",
        &[eph_pub.as_slice(), &exchange].concat(),
    );
    assert_eq!(kek.as_bytes(), &array::<32>(w, "kek"), "KEK of {name}");
    let key = SecretKey::from_bytes(array(w, "key"));
    let sealed = kek.seal_with_nonce(&array(w, "nonce"), context, key.as_bytes());
    assert_eq!(sealed, bytes(w, "sealed"), "sealed key of {name}");
    let wrapped = WrappedKey {
        ephemeral: eph_pub,
        sealed,
    };
    assert_eq!(unwrap_key(&to.secret, &wrapped, context).unwrap(), key);
    assert!(unwrap_key(&to.secret, &wrapped, b"plenum epoch key v1").is_err());
    wrapped
}

#[test]
fn a_rotations_wrapped_key_matches_the_vector_and_opens() {
    let d = vectors();
    let to = recipient(&d);
    let me = to.keys.id();
    let w = &d["rotation"];
    let context = wrap_context(&to.group, &me);
    let wrapped = check_wrapping(w, &to, &context, "rotation");
    // A grant's context never opens a rotation's wrapping, nor the reverse.
    let epoch = Hash([0xc3; 32]);
    assert!(
        unwrap_key(
            &to.secret,
            &wrapped,
            &grant_context(&to.group, &me, &epoch, None)
        )
        .is_err()
    );

    // What a device does with a rotation it receives.
    let op = Op {
        group: to.group,
        author: MemberId([0x11; 32]),
        heads: vec![Hash([0x99; 32])],
        at: Timestamp(1_700_000_000_000),
        kind: OpKind::Rotate {
            keys: BTreeMap::from([(me, wrapped)]),
        },
    };
    let mut secrets = GroupSecrets::empty(to.keys.clone());
    assert_eq!(secrets.learn_rotation(&to.group, op.hash(), &op), Ok(true));
    assert_eq!(
        secrets.epoch_key(&op.hash()).map(|k| *k.as_bytes()),
        Some(array(w, "key"))
    );
    // Another group's device cannot take it: the context names the group.
    let mut elsewhere = GroupSecrets::empty(to.keys.clone());
    assert!(
        elsewhere
            .learn_rotation(&GroupId([0xc1; 32]), op.hash(), &op)
            .is_err()
    );
}

#[test]
fn admission_grants_match_the_vectors_and_open() {
    let d = vectors();
    let to = recipient(&d);
    let me = to.keys.id();

    let e = &d["grant_epoch"];
    assert!(e["doc"].is_null());
    let epoch = Hash(array(e, "epoch"));
    let context = grant_context(&to.group, &me, &epoch, None);
    let whole = KeyGrant {
        epoch,
        doc: None,
        wrapped: check_wrapping(e, &to, &context, "grant_epoch"),
    };

    let g = &d["grant_doc"];
    let past = Hash(array(g, "epoch"));
    let doc = DocId(array(g, "doc"));
    // The granted key is the document's key of that epoch, not the epoch key.
    let past_key = SecretKey::from_bytes(array(g, "epoch_key"));
    assert_eq!(
        crate::envelope::doc_key(&past_key, &doc).as_bytes(),
        &array::<32>(g, "key")
    );
    let context = grant_context(&to.group, &me, &past, Some(&doc));
    let one_doc = KeyGrant {
        epoch: past,
        doc: Some(doc),
        wrapped: check_wrapping(g, &to, &context, "grant_doc"),
    };

    let mut secrets = GroupSecrets::empty(to.keys.clone());
    secrets
        .accept_grants(&to.group, &[whole, one_doc.clone()])
        .unwrap();
    assert_eq!(
        secrets.epoch_key(&epoch).map(|k| *k.as_bytes()),
        Some(array(e, "key"))
    );
    assert_eq!(
        secrets.doc_key(&past, &doc).map(|k| *k.as_bytes()),
        Some(array(g, "key"))
    );
    assert!(
        !secrets.has_epoch(&past),
        "a document grant is not the epoch key"
    );
    assert!(secrets.doc_key(&past, &DocId([0xcd; 16])).is_none());

    // A grant moved to another document does not open: the context names it.
    let mut moved = one_doc;
    moved.doc = Some(DocId([0xcd; 16]));
    assert!(
        GroupSecrets::empty(to.keys.clone())
            .accept_grants(&to.group, &[moved])
            .is_err()
    );
}
