//! `protocol-spec/vectors/keys-v1.json`, made by the independent Python generator
//! (`gen_envelope.py`): member ids, X25519 keys, actor ids, safety numbers and key
//! wrapping must match it exactly.

use ed25519_dalek::SigningKey;
use serde_json::Value;

use crate::test_vectors::{array, bytes};

use super::{MemberKeys, safety_number};
use crate::crypto::{CryptoError, NONCE_LEN, SecretKey, WrappedKey, unwrap_key, wrap_key};
use crate::ids::{GroupId, MemberId};

const KEYS: &str = include_str!("../../../protocol-spec/vectors/keys-v1.json");

fn vectors() -> Value {
    serde_json::from_str(KEYS).unwrap()
}

#[test]
fn member_keys_actor_ids_and_safety_numbers_match_the_spec() {
    let d = vectors();
    let members = d["members"].as_array().unwrap();
    assert!(!members.is_empty());
    for v in members {
        let keys = MemberKeys::from_seeds(array(v, "signing_seed"), array(v, "exchange_secret"));
        let member = MemberId(array(v, "member_id"));
        assert_eq!(keys.id(), member);
        assert_eq!(keys.exchange_public(), array::<32>(v, "exchange_public"));
        assert_eq!(keys.actor_id().to_bytes(), bytes(v, "actor_id").as_slice());
        let transport = SigningKey::from_bytes(&array(v, "transport_seed"))
            .verifying_key()
            .to_bytes();
        assert_eq!(transport, array::<32>(v, "transport_public"));
        let group = GroupId(array(v, "group_id"));
        assert_eq!(
            safety_number(&group, &member, &keys.exchange_public(), &transport),
            v["safety_number"].as_str().unwrap(),
            "safety number of {member}"
        );
    }
}

/// `wrap_key` draws a random ephemeral key and nonce, so the vector fixes both: this
/// repeats its steps (X25519, `SecretKey::derive`, `seal_with_nonce`) with them, and
/// the production `unwrap_key` must open the result.
#[test]
fn key_wrapping_matches_the_spec() {
    let d = vectors();
    let v = &d["wrap"];
    let ephemeral = x25519_dalek::StaticSecret::from(array::<32>(v, "ephemeral_secret"));
    let recipient = x25519_dalek::StaticSecret::from(array::<32>(v, "recipient_secret"));
    let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral).to_bytes();
    let recipient_public = x25519_dalek::PublicKey::from(&recipient).to_bytes();
    assert_eq!(ephemeral_public, array::<32>(v, "ephemeral_public"));
    assert_eq!(recipient_public, array::<32>(v, "recipient_public"));

    let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(recipient_public));
    assert!(shared.was_contributory());
    assert_eq!(shared.as_bytes(), &array::<32>(v, "shared_secret"));
    let kek = SecretKey::from_bytes(*shared.as_bytes()).derive(
        "plenum key wrap v1",
        &[ephemeral_public, recipient_public].concat(),
    );
    assert_eq!(kek.as_bytes(), &array::<32>(v, "kek"));

    let (context, key) = (bytes(v, "context"), SecretKey::from_bytes(array(v, "key")));
    let nonce: [u8; NONCE_LEN] = array(v, "nonce");
    let sealed = kek.seal_with_nonce(&nonce, &context, key.as_bytes());
    assert_eq!(sealed, bytes(v, "sealed"));

    let wrapped = WrappedKey {
        ephemeral: ephemeral_public,
        sealed,
    };
    assert_eq!(unwrap_key(&recipient, &wrapped, &context).unwrap(), key);
    assert_eq!(
        unwrap_key(&recipient, &wrapped, b"another context"),
        Err(CryptoError::Decrypt)
    );
}

#[test]
fn low_order_points_are_refused() {
    let d = vectors();
    let points = d["low_order_points"].as_array().unwrap();
    assert!(!points.is_empty());
    let recipient = x25519_dalek::StaticSecret::from([0xe2; 32]);
    let key = SecretKey::from_bytes([0xe3; 32]);
    for point in points {
        let point: [u8; 32] = hex::decode(point.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            wrap_key(&point, &key, b"epoch"),
            Err(CryptoError::NonContributory),
            "wrapping to {}",
            hex::encode(point)
        );
        let forged = WrappedKey {
            ephemeral: point,
            sealed: vec![0; NONCE_LEN + 48],
        };
        assert_eq!(
            unwrap_key(&recipient, &forged, b"epoch"),
            Err(CryptoError::NonContributory),
            "unwrapping from {}",
            hex::encode(point)
        );
    }
}
