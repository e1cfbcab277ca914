//! Published test vectors (`protocol-spec/vectors/primitives.json`) run through the
//! crates and wrappers the core uses, so a dependency upgrade or a misuse of one cannot
//! silently change a primitive.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use serde_json::Value;

use crate::test_vectors::{array, bytes};
use sha2::Sha256;

use super::{CryptoError, NONCE_LEN, SecretKey, TAG_LEN};
use crate::identity::MemberKeys;

const PRIMITIVES: &str = include_str!("../../../protocol-spec/vectors/primitives.json");

fn vectors() -> Value {
    serde_json::from_str(PRIMITIVES).unwrap()
}

fn list<'a>(v: &'a Value, field: &str) -> &'a Vec<Value> {
    let items = v[field].as_array().unwrap();
    assert!(!items.is_empty(), "no {field} vectors");
    items
}

#[test]
fn xchacha20poly1305_vectors() {
    for v in list(&vectors(), "xchacha20poly1305") {
        let key = SecretKey::from_bytes(array(v, "key"));
        let nonce: [u8; NONCE_LEN] = array(v, "nonce");
        let (aad, plaintext) = (bytes(v, "aad"), bytes(v, "plaintext"));
        let framed = [nonce.as_slice(), &bytes(v, "ciphertext"), &bytes(v, "tag")].concat();
        assert_eq!(
            key.seal_with_nonce(&nonce, &aad, &plaintext),
            framed,
            "{}",
            v["source"]
        );
        assert_eq!(key.open(&aad, &framed).unwrap(), plaintext);
        let mut bad_tag = framed.clone();
        let last = bad_tag.len() - 1;
        bad_tag[last] ^= 1;
        assert_eq!(key.open(&aad, &bad_tag), Err(CryptoError::Decrypt));
        assert_eq!(key.open(b"", &framed), Err(CryptoError::Decrypt));
        assert_eq!(framed.len(), NONCE_LEN + plaintext.len() + TAG_LEN);
    }
}

#[test]
fn ed25519_vectors() {
    for v in list(&vectors(), "ed25519") {
        let source = &v["source"];
        let seed: [u8; 32] = array(v, "secret_key");
        let public: [u8; 32] = array(v, "public_key");
        // A member id is the Ed25519 public key of the member's signing seed.
        let member = MemberKeys::from_seeds(seed, [0; 32]).id();
        assert_eq!(member.as_bytes(), &public, "{source}");
        // Plenum signs `context ‖ 0x00 ‖ message`, so the raw RFC messages are signed
        // with ed25519-dalek directly.
        let message = bytes(v, "message");
        let signature: [u8; 64] = array(v, "signature");
        let key = SigningKey::from_bytes(&seed);
        assert_eq!(key.sign(&message).to_bytes(), signature, "{source}");
        let verifying = VerifyingKey::from_bytes(&public).unwrap();
        let sig = Signature::from_bytes(&signature);
        verifying.verify_strict(&message, &sig).unwrap();
        assert!(
            verifying
                .verify_strict(&[message.as_slice(), b"x"].concat(), &sig)
                .is_err()
        );
    }
}

#[test]
fn x25519_vectors() {
    let d = vectors();
    for v in list(&d["x25519"], "scalar_mult") {
        assert_eq!(
            x25519_dalek::x25519(array(v, "scalar"), array(v, "u")),
            array::<32>(v, "output"),
            "{}",
            v["source"]
        );
    }
    for v in list(&d["x25519"], "diffie_hellman") {
        let alice = x25519_dalek::StaticSecret::from(array::<32>(v, "alice_private"));
        let bob = x25519_dalek::StaticSecret::from(array::<32>(v, "bob_private"));
        let alice_public = x25519_dalek::PublicKey::from(&alice);
        let bob_public = x25519_dalek::PublicKey::from(&bob);
        assert_eq!(alice_public.to_bytes(), array::<32>(v, "alice_public"));
        assert_eq!(bob_public.to_bytes(), array::<32>(v, "bob_public"));
        // MemberKeys derives its X25519 public key the same way.
        let keys = MemberKeys::from_seeds([0; 32], array(v, "alice_private"));
        assert_eq!(keys.exchange_public(), alice_public.to_bytes());
        let shared = array::<32>(v, "shared");
        let ab = alice.diffie_hellman(&bob_public);
        assert!(ab.was_contributory());
        assert_eq!(ab.as_bytes(), &shared);
        assert_eq!(bob.diffie_hellman(&alice_public).as_bytes(), &shared);
    }
}

#[test]
fn hkdf_sha256_vectors() {
    for v in list(&vectors(), "hkdf_sha256") {
        let source = &v["source"];
        let (ikm, salt, info) = (bytes(v, "ikm"), bytes(v, "salt"), bytes(v, "info"));
        let (prk, hk) = Hkdf::<Sha256>::extract(Some(&salt), &ikm);
        assert_eq!(prk.as_slice(), bytes(v, "prk").as_slice(), "{source}");
        let length = usize::try_from(v["length"].as_u64().unwrap()).unwrap();
        let mut okm = vec![0u8; length];
        hk.expand(&info, &mut okm).unwrap();
        assert_eq!(okm, bytes(v, "okm"), "{source}");
    }
}

#[test]
fn blake3_vectors() {
    let d = vectors();
    let b = &d["blake3"];
    let key: [u8; 32] = array(b, "key");
    let context = b["context_string"].as_str().unwrap();
    for c in list(b, "cases") {
        let len = usize::try_from(c["input_len"].as_u64().unwrap()).unwrap();
        let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let xof = |mut h: blake3::Hasher, field: &str| {
            let want = bytes(c, field);
            h.update(&input);
            let mut out = vec![0u8; want.len()];
            h.finalize_xof().fill(&mut out);
            assert_eq!(out, want, "input_len {len}, {field}");
            assert_eq!(h.finalize().as_bytes(), &want[..32]);
        };
        xof(blake3::Hasher::new(), "hash");
        xof(blake3::Hasher::new_keyed(&key), "keyed_hash");
        xof(blake3::Hasher::new_derive_key(context), "derive_key");
    }
}

/// `protocol-spec/vectors/envelope-v1-first.json`, made by the independent Python
/// generator: an author's first envelope in a document (seq 1, zero prev). The seq-2
/// vector is checked in `envelope::tests::test_vectors`.
#[test]
fn first_envelope_vector_from_the_independent_generator() {
    use crate::envelope::{Envelope, Header, Kind, doc_key, group_tag};
    use crate::ids::{DocId, GroupId, Hash};

    let v: Value = serde_json::from_str(include_str!(
        "../../../protocol-spec/vectors/envelope-v1-first.json"
    ))
    .unwrap();
    let keys = MemberKeys::from_seeds(array(&v, "signing_seed"), array(&v, "exchange_seed"));
    assert_eq!(keys.id().as_bytes(), &array::<32>(&v, "author"));
    let group = GroupId(array(&v, "group_id"));
    let doc = DocId(array(&v, "doc_id"));
    let key = doc_key(&SecretKey::from_bytes(array(&v, "epoch_key")), &doc);
    assert_eq!(key.as_bytes(), &array::<32>(&v, "doc_key"));
    assert_eq!(group_tag(&group), array::<16>(&v, "group_tag"));
    assert_eq!(v["seq"].as_u64(), Some(1));
    assert_eq!(array::<32>(&v, "prev"), [0; 32]);
    let header = Header {
        kind: Kind::Membership,
        group_tag: group_tag(&group),
        doc,
        author: keys.id(),
        seq: 1,
        prev: Hash(array(&v, "prev")),
        epoch: Hash(array(&v, "epoch")),
        change_hashes: Vec::new(),
    };
    let plaintext = bytes(&v, "plaintext");
    let env = Envelope::seal_with_nonce(header, &key, &plaintext, &keys, &array(&v, "nonce"));
    assert_eq!(hex::encode(env.as_bytes()), v["envelope"].as_str().unwrap());
    assert_eq!(env.hash().as_bytes(), &array::<32>(&v, "hash"));
    let decoded = Envelope::decode(&bytes(&v, "envelope")).unwrap();
    decoded.verify().unwrap();
    assert_eq!(decoded.open(&key).unwrap(), plaintext);
}
