#!/usr/bin/env python3
"""Test vectors for protocol-spec/invite.md, written from the spec alone (no Rust).

Rerun from the repository root:

    pip install pynacl blake3 cryptography
    python3 protocol-spec/vectors/gen_invite.py > protocol-spec/vectors/invite-v1.json

The output is deterministic (Ed25519 signatures are), so rerunning it must leave the
committed file unchanged; plenum-core's `invite::vectors_tests` checks every field.
"""

import base64
import json
import struct

import blake3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.public import PrivateKey
from nacl.signing import SigningKey

# Inputs.
GROUP_ID = bytes([0x11] * 32)
SECRET = bytes([0x22] * 32)
EXPIRES = 1_798_761_600_000  # 2027-01-01T00:00:00Z, ms since the Unix epoch
ADDRESSES = [
    bytes.fromhex("04c000020106" "0fa1"),  # /ip4/192.0.2.1/tcp/4001
    bytes.fromhex("04c00002019102" "0fa1" "cc03"),  # /ip4/192.0.2.1/udp/4001/quic-v1
]
MEMBER_SIGNING_SEED = bytes([0x33] * 32)
MEMBER_EXCHANGE_SECRET = bytes([0x44] * 32)
JOINER_PEER = bytes([0x55] * 32)
ADMITTER_PEER = bytes([0x66] * 32)
NONCE = bytes([0x77] * 32)
NAME = "Zoë"


def lp_hash(context: str, parts: list[bytes]) -> bytes:
    """BLAKE3 derive-key of parts, each preceded by its length as u64 little-endian."""
    h = blake3.blake3(derive_key_context=context)
    for part in parts:
        h.update(struct.pack("<Q", len(part)))
        h.update(part)
    return h.digest()


def hkdf(ikm: bytes, context: str, extra: bytes) -> bytes:
    """HKDF-SHA256, no salt, info = context || 0x00 || extra, 32 bytes."""
    info = context.encode() + b"\x00" + extra
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)


def signed(context: str, message: bytes) -> bytes:
    return context.encode() + b"\x00" + message


def main() -> None:
    body = bytes([1]) + GROUP_ID + SECRET + struct.pack(">Q", EXPIRES)
    body += bytes([len(ADDRESSES)])
    for address in ADDRESSES:
        body += bytes([len(address)]) + address
    checksum = lp_hash("plenum invite link v1", [body])[:4]
    payload = body + checksum
    link = "plenum://join/" + base64.urlsafe_b64encode(payload).decode().rstrip("=")

    invite_seed = hkdf(SECRET, "plenum invite key v1", GROUP_ID)
    invite_key = SigningKey(invite_seed)
    invite_public = bytes(invite_key.verify_key)
    rendezvous = hkdf(SECRET, "plenum invite rendezvous v1", GROUP_ID).hex()

    member_key = SigningKey(MEMBER_SIGNING_SEED)
    member_id = bytes(member_key.verify_key)
    exchange_public = bytes(PrivateKey(MEMBER_EXCHANGE_SECRET).public_key)

    name = NAME.encode()
    assert len(name) <= 64
    m = (
        GROUP_ID
        + invite_public
        + member_id
        + exchange_public
        + JOINER_PEER
        + ADMITTER_PEER
        + NONCE
        + bytes([len(name)])
        + name
    )
    invite_sig = invite_key.sign(signed("plenum join proof v1", m)).signature
    member_sig = member_key.sign(signed("plenum join member v1", m)).signature
    proof = ADMITTER_PEER + NONCE + invite_sig + member_sig

    vectors = {
        "description": "Invite link v1 with two addresses, its derived keys and a join proof;"
        " made by gen_invite.py from protocol-spec/invite.md",
        "inputs": {
            "group_id": GROUP_ID.hex(),
            "secret": SECRET.hex(),
            "expires": EXPIRES,
            "addresses": [a.hex() for a in ADDRESSES],
            "member_signing_seed": MEMBER_SIGNING_SEED.hex(),
            "member_exchange_secret": MEMBER_EXCHANGE_SECRET.hex(),
            "joiner_peer": JOINER_PEER.hex(),
            "admitter_peer": ADMITTER_PEER.hex(),
            "nonce": NONCE.hex(),
            "name": NAME,
        },
        "link": {
            "payload": payload.hex(),
            "checksum": checksum.hex(),
            "text": link,
        },
        "keys": {
            "invite_seed": invite_seed.hex(),
            "invite_public_key": invite_public.hex(),
            "rendezvous": rendezvous,
            "member_id": member_id.hex(),
            "member_exchange_public": exchange_public.hex(),
        },
        "proof": {
            "message": m.hex(),
            "invite_sig": invite_sig.hex(),
            "member_sig": member_sig.hex(),
            "encoded": proof.hex(),
        },
    }
    print(json.dumps(vectors, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
