#!/usr/bin/env python3
"""Checks primitives.json with implementations other than plenum-core's.

The vectors in primitives.json are the published ones (RFC 8032, RFC 7748, RFC 5869,
draft-irtf-cfrg-xchacha-03, the BLAKE3 test vectors), typed in from those documents.
This script runs each through PyNaCl, cryptography and blake3: a vector that fails here
was copied wrong, and must be fixed from its source, never adjusted to any code.

    pip install pynacl cryptography blake3
    python3 protocol-spec/vectors/check_primitives.py
"""

import hashlib
import hmac
import json
import pathlib
import sys

import blake3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt, crypto_scalarmult
from nacl.signing import SigningKey, VerifyKey

H = bytes.fromhex
failures = 0


def check(name, got, want):
    global failures
    if got != want:
        failures += 1
        print(f"FAIL {name}\n  got  {got.hex()}\n  want {want.hex()}")
    else:
        print(f"ok   {name}")


def x25519_public(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )


def x25519(secret, public):
    # cryptography clamps the scalar and masks the u-coordinate's top bit (RFC 7748 §5).
    return X25519PrivateKey.from_private_bytes(secret).exchange(
        X25519PublicKey.from_public_bytes(public)
    )


def main():
    path = pathlib.Path(__file__).with_name("primitives.json")
    d = json.loads(path.read_text())

    for v in d["xchacha20poly1305"]:
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
            H(v["plaintext"]), H(v["aad"]), H(v["nonce"]), H(v["key"])
        )
        check(v["source"], sealed, H(v["ciphertext"]) + H(v["tag"]))

    for v in d["ed25519"]:
        sk = SigningKey(H(v["secret_key"]))
        check(v["source"] + ", public key", bytes(sk.verify_key), H(v["public_key"]))
        check(v["source"] + ", signature", sk.sign(H(v["message"])).signature, H(v["signature"]))
        VerifyKey(H(v["public_key"])).verify(H(v["message"]), H(v["signature"]))

    for v in d["x25519"]["scalar_mult"]:
        check(v["source"], x25519(H(v["scalar"]), H(v["u"])), H(v["output"]))
    for v in d["x25519"]["diffie_hellman"]:
        a, b = H(v["alice_private"]), H(v["bob_private"])
        check(v["source"] + ", Alice's public key", x25519_public(a), H(v["alice_public"]))
        check(v["source"] + ", Bob's public key", x25519_public(b), H(v["bob_public"]))
        check(v["source"] + ", Alice's shared secret", x25519(a, H(v["bob_public"])), H(v["shared"]))
        check(v["source"] + ", Bob's shared secret", x25519(b, H(v["alice_public"])), H(v["shared"]))
        check(v["source"] + ", libsodium", crypto_scalarmult(a, H(v["bob_public"])), H(v["shared"]))

    for v in d["hkdf_sha256"]:
        salt, ikm, info = H(v["salt"]), H(v["ikm"]), H(v["info"])
        # An absent salt is HashLen zero bytes (RFC 5869 §2.2); HMAC pads an empty key the same.
        prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
        check(v["source"] + ", PRK", prk, H(v["prk"]))
        okm = HKDF(hashes.SHA256(), v["length"], salt or None, info).derive(ikm)
        check(v["source"] + ", OKM", okm, H(v["okm"]))

    b = d["blake3"]
    for c in b["cases"]:
        data = bytes(i % 251 for i in range(c["input_len"]))
        n = len(H(c["hash"]))
        name = f"BLAKE3, input_len {c['input_len']}"
        check(name + ", hash", blake3.blake3(data).digest(length=n), H(c["hash"]))
        check(
            name + ", keyed_hash",
            blake3.blake3(data, key=H(b["key"])).digest(length=n),
            H(c["keyed_hash"]),
        )
        check(
            name + ", derive_key",
            blake3.blake3(data, derive_key_context=b["context_string"]).digest(length=n),
            H(c["derive_key"]),
        )

    if failures:
        print(f"{failures} vector(s) do not verify: fix them from their source")
        sys.exit(1)
    print("every vector verifies")


if __name__ == "__main__":
    main()
