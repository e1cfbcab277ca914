//! The cryptographic primitives every other module builds on.
//!
//! - AEAD: XChaCha20-Poly1305 with a random 24-byte nonce. A sealed blob is framed as
//!   `nonce (24) || ciphertext || tag (16)`, so it can be opened with only the key and
//!   the associated data.
//! - Key derivation: HKDF-SHA256 with a domain-separating context string.
//! - Hashing: BLAKE3, keyed or with a derived-key context, inputs length-prefixed so
//!   that `("ab","c")` and `("a","bc")` never collide.
//! - Key wrapping: ephemeral X25519 + HKDF-SHA256 + XChaCha20-Poly1305; a
//!   non-contributory shared secret (a low-order public key) is refused.
//! - Passphrases: Argon2id with recorded, calibrated parameters.

use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of every symmetric key.
pub const KEY_LEN: usize = 32;
/// Length of the XChaCha20 nonce at the front of a sealed blob.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag at the end of a sealed blob.
pub const TAG_LEN: usize = 16;

/// Why a cryptographic operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The blob was not sealed under this key and associated data, or was altered.
    #[error("decryption failed: wrong key or the data was altered")]
    Decrypt,
    /// The blob is shorter than a nonce and a tag.
    #[error("sealed data is truncated ({0} bytes)")]
    Truncated(usize),
    /// An X25519 exchange produced a non-contributory (all-zero) secret.
    #[error("refused a low-order X25519 public key")]
    NonContributory,
    /// Argon2 rejected its parameters.
    #[error("passphrase key derivation failed: {0}")]
    Kdf(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// A 32-byte symmetric key, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// A fresh random key.
    pub fn random() -> Self {
        Self(random_array())
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Derives an independent subkey for `context` (and optional extra input, such as a
    /// document id) with HKDF-SHA256.
    pub fn derive(&self, context: &str, extra: &[u8]) -> SecretKey {
        let hk = Hkdf::<Sha256>::new(None, &self.0);
        let mut out = [0u8; KEY_LEN];
        let mut info = Vec::with_capacity(context.len() + 1 + extra.len());
        info.extend_from_slice(context.as_bytes());
        info.push(0);
        info.extend_from_slice(extra);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        #[allow(clippy::expect_used)]
        hk.expand(&info, &mut out)
            .expect("HKDF output length is valid");
        SecretKey(out)
    }

    /// Seals `plaintext` with associated data `aad` under a fresh random nonce.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        self.seal_with_nonce(&random_array(), aad, plaintext)
    }

    /// Seals with a caller-chosen nonce: only for test vectors and for formats that
    /// carry the nonce elsewhere. Never reuse a nonce under one key.
    pub fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        let cipher = self.cipher();
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(nonce);
        // Encryption only fails for plaintexts beyond 256 GiB, which no caller produces.
        #[allow(clippy::expect_used)]
        let ct = cipher
            .encrypt(
                &XNonce::from(*nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of a bounded message");
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a blob made by [`SecretKey::seal`].
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Truncated(sealed.len()));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
        self.cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::Decrypt)
    }

    /// A keyed BLAKE3 hash of length-prefixed parts.
    pub fn keyed_hash(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        update_parts(&mut h, parts);
        *h.finalize().as_bytes()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A BLAKE3 hash under a domain-separation context, of length-prefixed parts.
pub fn hash(context: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(context);
    update_parts(&mut h, parts);
    *h.finalize().as_bytes()
}

fn update_parts(h: &mut blake3::Hasher, parts: &[&[u8]]) {
    for part in parts {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
}

/// `N` bytes from the operating system's random number generator.
///
/// A failing system RNG leaves no safe way to continue (every key and nonce depends on
/// it), so this is one of the few places that panics.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut out).expect("the operating system's random number generator failed");
    out
}

/// A symmetric key wrapped to one recipient's X25519 public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The sender's ephemeral X25519 public key.
    pub ephemeral: [u8; 32],
    /// The key, sealed under HKDF(shared secret, context, ephemeral || recipient).
    pub sealed: Vec<u8>,
}

/// Wraps `key` to `recipient` (an X25519 public key). `context` binds the wrapping to
/// its use (for example the epoch id), and travels as associated data.
pub fn wrap_key(
    recipient: &[u8; 32],
    key: &SecretKey,
    context: &[u8],
) -> Result<WrappedKey, CryptoError> {
    let eph = x25519_dalek::StaticSecret::from(random_array::<32>());
    let eph_pub = x25519_dalek::PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err(CryptoError::NonContributory);
    }
    let kek = SecretKey::from_bytes(*shared.as_bytes()).derive(
        "plenum key wrap v1",
        &[eph_pub.as_slice(), recipient].concat(),
    );
    Ok(WrappedKey {
        ephemeral: eph_pub,
        sealed: kek.seal(context, key.as_bytes()),
    })
}

/// Unwraps a key made by [`wrap_key`] with the recipient's X25519 secret.
pub fn unwrap_key(
    recipient_secret: &x25519_dalek::StaticSecret,
    wrapped: &WrappedKey,
    context: &[u8],
) -> Result<SecretKey, CryptoError> {
    let recipient = x25519_dalek::PublicKey::from(recipient_secret).to_bytes();
    let shared = recipient_secret.diffie_hellman(&x25519_dalek::PublicKey::from(wrapped.ephemeral));
    if !shared.was_contributory() {
        return Err(CryptoError::NonContributory);
    }
    let kek = SecretKey::from_bytes(*shared.as_bytes()).derive(
        "plenum key wrap v1",
        &[wrapped.ephemeral.as_slice(), &recipient].concat(),
    );
    let raw = kek.open(context, &wrapped.sealed)?;
    let bytes: [u8; KEY_LEN] = raw.try_into().map_err(|_| CryptoError::Decrypt)?;
    Ok(SecretKey::from_bytes(bytes))
}

/// Argon2id parameters, recorded next to whatever they protect so that a device can
/// always re-derive its key even after the defaults change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The floor: 64 MiB, 3 passes (OWASP's guidance for Argon2id is at least 19 MiB, 2
    /// passes; phones with 2 GiB of memory handle 64 MiB).
    pub const MIN: KdfParams = KdfParams {
        m_cost: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// Derives a 32-byte key from a passphrase and a 16-byte salt.
    pub fn derive(&self, passphrase: &[u8], salt: &[u8]) -> Result<SecretKey, CryptoError> {
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(KEY_LEN))
            .map_err(|e| CryptoError::Kdf(e.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; KEY_LEN];
        argon
            .hash_password_into(passphrase, salt, &mut out)
            .map_err(|e| CryptoError::Kdf(e.to_string()))?;
        Ok(SecretKey::from_bytes(out))
    }

    /// Finds parameters that take about `target` on this device: as much memory as
    /// fits (up to 256 MiB), then as many passes as fit. Never goes below
    /// [`KdfParams::MIN`] unless `target` is below what the floor costs, which only
    /// tests ask for.
    ///
    /// Argon2's cost per pass is linear in memory only while the memory fits the same
    /// cache level, so the probe runs one pass at the memory size it will recommend
    /// rather than extrapolating from a small one (which overshot by 70%).
    pub fn calibrate(target: Duration) -> Result<KdfParams, CryptoError> {
        const MAX_M_COST: u32 = 256 * 1024;
        let seconds = |m_cost: u32, t_cost: u32| -> Result<f64, CryptoError> {
            let probe = KdfParams {
                m_cost,
                t_cost,
                p_cost: 1,
            };
            let started = Instant::now();
            probe.derive(b"calibration", &[0u8; 16])?;
            Ok(started.elapsed().as_secs_f64().max(1e-6))
        };
        let pass_seconds = |m_cost: u32| seconds(m_cost, 1);
        let target = target.as_secs_f64();
        let floor = pass_seconds(Self::MIN.m_cost)?;
        if floor * f64::from(Self::MIN.t_cost) > target {
            // Even the floor is too slow for the target (a test asking for 50 ms):
            // scale memory down and keep one pass.
            let m_cost = (f64::from(Self::MIN.m_cost) * target / floor) as u32;
            return Ok(KdfParams {
                m_cost: m_cost.clamp(8 * 1024, Self::MIN.m_cost),
                t_cost: 1,
                p_cost: 1,
            });
        }
        // The most memory (in steps of 64 MiB) whose minimum passes still fit.
        let mut m_cost = Self::MIN.m_cost;
        let mut per_pass = floor;
        while m_cost < MAX_M_COST {
            let bigger = m_cost + Self::MIN.m_cost;
            let estimate = per_pass * f64::from(bigger) / f64::from(m_cost);
            if estimate * f64::from(Self::MIN.t_cost) > target {
                break;
            }
            let measured = pass_seconds(bigger)?;
            if measured * f64::from(Self::MIN.t_cost) > target {
                break;
            }
            m_cost = bigger;
            per_pass = measured;
        }
        // A run has a fixed cost (allocating and first touching the memory) besides its
        // passes; a three-pass run next to the one-pass run separates the two.
        let three = seconds(m_cost, 3)?;
        Ok(KdfParams {
            m_cost,
            t_cost: passes_for(target, per_pass, three),
            p_cost: 1,
        })
    }
}

/// How many passes fit in `target` seconds, given a one-pass run took `one` and a
/// three-pass run `three`. Timings are noisy (another process, the first touch of
/// memory): when the one-pass run came out as slow as the three-pass one, the plain
/// difference would price a pass near zero and ask for millions of passes — a key
/// derivation that never ends. A pass is taken to cost between a sixth and a third
/// of the three-pass run (at most three passes' worth of fixed cost), which keeps the
/// result within about twice the target whatever the noise.
fn passes_for(target: f64, one: f64, three: f64) -> u32 {
    // More passes never cost less: a three-pass run timed below the one-pass run is
    // noise. And no sane device needs more than 64 passes over 64 MiB for a target.
    const MAX_T_COST: u32 = 64;
    let three = three.max(one).max(1e-6);
    let pass = ((three - one) / 2.0).clamp(three / 6.0, three / 3.0);
    let fixed = (three - 3.0 * pass).max(0.0);
    (((target - fixed) / pass).round() as u32).clamp(KdfParams::MIN.t_cost, MAX_T_COST)
}

#[cfg(test)]
mod vectors_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noisy_calibration_timings_never_ask_for_an_endless_derivation() {
        // Clean timings: 0.1 s fixed, 0.1 s a pass; a one-second target is 9 passes.
        assert_eq!(passes_for(1.0, 0.2, 0.4), 9);
        // The one-pass run slowed down as much as the three-pass one took (or more):
        // the plain difference would price a pass at zero.
        for (one, three) in [(0.4, 0.4), (0.5, 0.4), (0.4, 0.0)] {
            let passes = passes_for(1.0, one, three);
            let worst = f64::from(passes) * three.max(1e-6) / 3.0;
            assert!(passes <= 15, "{one} {three}: {passes} passes");
            assert!(worst <= 2.0, "{one} {three}: up to {worst} s");
        }
        // Never below the floor.
        assert_eq!(passes_for(0.01, 0.2, 0.4), KdfParams::MIN.t_cost);
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let key = SecretKey::random();
        let sealed = key.seal(b"header", b"hello");
        assert_eq!(key.open(b"header", &sealed).unwrap(), b"hello");
        assert_eq!(key.open(b"other", &sealed), Err(CryptoError::Decrypt));
        assert_eq!(
            SecretKey::random().open(b"header", &sealed),
            Err(CryptoError::Decrypt)
        );
        let mut flipped = sealed.clone();
        flipped[NONCE_LEN + 1] ^= 1;
        assert_eq!(key.open(b"header", &flipped), Err(CryptoError::Decrypt));
        assert_eq!(
            key.open(b"header", &sealed[..10]),
            Err(CryptoError::Truncated(10))
        );
    }

    #[test]
    fn derivation_is_domain_separated() {
        let key = SecretKey::random();
        assert_ne!(key.derive("a", b"x"), key.derive("b", b"x"));
        assert_ne!(key.derive("a", b"x"), key.derive("a", b"y"));
        assert_eq!(key.derive("a", b"x"), key.derive("a", b"x"));
        assert_ne!(hash("c", &[b"ab", b"c"]), hash("c", &[b"a", b"bc"]));
    }

    #[test]
    fn wrap_unwrap_and_refuse_low_order_points() {
        let secret = x25519_dalek::StaticSecret::from(random_array::<32>());
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let key = SecretKey::random();
        let wrapped = wrap_key(&public, &key, b"epoch").unwrap();
        assert_eq!(unwrap_key(&secret, &wrapped, b"epoch").unwrap(), key);
        assert!(unwrap_key(&secret, &wrapped, b"other epoch").is_err());
        // The identity point gives an all-zero shared secret.
        assert_eq!(
            wrap_key(&[0u8; 32], &key, b"e"),
            Err(CryptoError::NonContributory)
        );
    }

    #[test]
    fn argon2_is_deterministic_per_salt() {
        let params = KdfParams {
            m_cost: 8 * 1024,
            t_cost: 1,
            p_cost: 1,
        };
        let a = params.derive(b"pass", &[1; 16]).unwrap();
        assert_eq!(a, params.derive(b"pass", &[1; 16]).unwrap());
        assert_ne!(a, params.derive(b"pass", &[2; 16]).unwrap());
        assert_ne!(a, params.derive(b"Pass", &[1; 16]).unwrap());
    }
}
