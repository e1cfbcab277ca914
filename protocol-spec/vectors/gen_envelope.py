#!/usr/bin/env python3
"""An independent implementation of protocol-spec/envelope.md, keys.md, key-epochs.md and
the framing of snapshot.md.

Written from the spec text, without calling plenum-core, it computes the envelope, key and
key-epoch vectors and compares them with the files in this directory, which plenum-core's
tests load. Agreement of two implementations is what makes the vectors worth having.

The snapshot vector (snapshot-v1.json) holds an Automerge document, which this script
cannot build, so plenum-core writes it; this script checks everything else in it: both
envelope layouts, every signature, both AEADs, the plaintext framing, the covered
envelopes' group, document and hashes, and the recorded covered map. --write leaves it
alone.

    pip install pynacl cryptography blake3
    python3 protocol-spec/vectors/gen_envelope.py           # check the files
    python3 protocol-spec/vectors/gen_envelope.py --write   # (re)write them

Without --write it exits 1 and names every field that differs.
"""

import json
import pathlib
import struct
import sys

import blake3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_scalarmult,
    crypto_scalarmult_base,
)
from nacl.signing import SigningKey, VerifyKey

GENERATOR = "protocol-spec/vectors/gen_envelope.py"
HERE = pathlib.Path(__file__).parent


# conventions.md


def lp(*parts):
    """Each part preceded by its length as a u64, little-endian."""
    return b"".join(struct.pack("<Q", len(p)) + p for p in parts)


def plenum_hash(context, *parts):
    return blake3.blake3(lp(*parts), derive_key_context=context).digest()


def derive(key, context, extra=b""):
    """HKDF-SHA256, no salt, 32 bytes, info = context ‖ 0x00 ‖ extra."""
    info = context.encode() + b"\x00" + extra
    return HKDF(hashes.SHA256(), 32, None, info).derive(key)


def sign(seed, context, message):
    return SigningKey(seed).sign(context.encode() + b"\x00" + message).signature


def seal(key, nonce, aad, plaintext):
    """nonce ‖ ciphertext ‖ tag."""
    return nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)


# keys.md


def member_id(signing_seed):
    return bytes(SigningKey(signing_seed).verify_key)


def actor_id(member):
    return plenum_hash("plenum actor id v1", member)[:16]


def safety_number(group, member, exchange, peer):
    h = plenum_hash("plenum safety number v1", group, member, exchange, peer)
    return " ".join(
        f"{int.from_bytes(h[i:i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5)
    )


def x25519(secret, public):
    """libsodium refuses (raises) when the result is all zeros: non-contributory."""
    return crypto_scalarmult(secret, public)


# envelope.md


def envelope(v):
    seed = bytes.fromhex(v["signing_seed"])
    group, doc = bytes.fromhex(v["group_id"]), bytes.fromhex(v["doc_id"])
    author = member_id(seed)
    group_tag = plenum_hash("plenum group tag v1", group)[:16]
    doc_key = derive(bytes.fromhex(v["epoch_key"]), "plenum doc key v1", doc)
    nonce, plaintext = bytes.fromhex(v["nonce"]), bytes.fromhex(v["plaintext"])
    change_hashes = []  # kind 1 lists none
    header = (
        bytes([1, 1])
        + group_tag
        + doc
        + author
        + struct.pack(">Q", v["seq"])
        + bytes.fromhex(v["prev"])
        + bytes.fromhex(v["epoch"])
        + struct.pack(">H", len(change_hashes))
        + b"".join(change_hashes)
        + nonce
    )
    ciphertext = seal(doc_key, nonce, header, plaintext)[len(nonce):]
    signed = header + struct.pack(">I", len(ciphertext)) + ciphertext
    env = signed + sign(seed, "plenum envelope v1", signed)
    out = dict(v)
    out.update(
        author=author.hex(),
        group_tag=group_tag.hex(),
        doc_key=doc_key.hex(),
        envelope=env.hex(),
        hash=plenum_hash("plenum envelope hash v1", env).hex(),
        generator=GENERATOR,
    )
    return out


ENVELOPE_INPUTS = {
    "envelope-v1.json": {
        "description": "A kind-1 (membership) envelope, seq 2, with fixed keys and nonce",
        "signing_seed": "11" * 32,
        "exchange_seed": "22" * 32,
        "group_id": "33" * 32,
        "doc_id": "44" * 16,
        "epoch": "55" * 32,
        "epoch_key": "66" * 32,
        "nonce": "77" * 24,
        "seq": 2,
        "prev": "88" * 32,
        "plaintext": b"plenum test vector plaintext".hex(),
    },
    "envelope-v1-first.json": {
        "description": "A kind-1 (membership) envelope, seq 1 (prev all zeros), with fixed keys and nonce",
        "signing_seed": "a1" * 32,
        "exchange_seed": "a2" * 32,
        "group_id": "a3" * 32,
        "doc_id": "a4" * 16,
        "epoch": "a5" * 32,
        "epoch_key": "a6" * 32,
        "nonce": "a7" * 24,
        "seq": 1,
        "prev": "00" * 32,
        "plaintext": b"the first envelope of an author in a document".hex(),
    },
}


def keys():
    members = []
    for signing, exchange, transport, group in [
        ("01" * 32, "02" * 32, "03" * 32, "04" * 32),
        ("b1" * 32, "b2" * 32, "b3" * 32, "b4" * 32),
        # Chosen because its number starts with a zero: digits are zero-padded.
        ("11" * 32, "12" * 32, "13" * 32, "14" * 32),
    ]:
        m = member_id(bytes.fromhex(signing))
        x = crypto_scalarmult_base(bytes.fromhex(exchange))
        peer = member_id(bytes.fromhex(transport))
        members.append(
            {
                "signing_seed": signing,
                "exchange_secret": exchange,
                "transport_seed": transport,
                "group_id": group,
                "member_id": m.hex(),
                "exchange_public": x.hex(),
                "transport_public": peer.hex(),
                "actor_id": actor_id(m).hex(),
                "safety_number": safety_number(bytes.fromhex(group), m, x, peer),
            }
        )

    ephemeral_secret, recipient_secret = bytes([0xE1] * 32), bytes([0xE2] * 32)
    ephemeral = crypto_scalarmult_base(ephemeral_secret)
    recipient = crypto_scalarmult_base(recipient_secret)
    shared = x25519(ephemeral_secret, recipient)
    assert shared == x25519(recipient_secret, ephemeral)
    kek = derive(shared, "plenum key wrap v1", ephemeral + recipient)
    key, nonce, context = bytes([0xE3] * 32), bytes([0xE4] * 24), b"epoch " + bytes([0xE5] * 32)
    wrap = {
        "ephemeral_secret": ephemeral_secret.hex(),
        "ephemeral_public": ephemeral.hex(),
        "recipient_secret": recipient_secret.hex(),
        "recipient_public": recipient.hex(),
        "shared_secret": shared.hex(),
        "kek": kek.hex(),
        "context": context.hex(),
        "key": key.hex(),
        "nonce": nonce.hex(),
        "sealed": seal(kek, nonce, context, key).hex(),
    }

    # Public keys of small order: the exchange yields all zeros and MUST be refused.
    low_order = [
        "00" * 32,
        "01" + "00" * 31,
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]
    for point in low_order:
        try:
            x25519(recipient_secret, bytes.fromhex(point))
        except RuntimeError:
            continue
        raise AssertionError(f"{point} is not of small order")

    return {
        "description": "Member keys, actor ids, safety numbers and one key wrapping with a fixed ephemeral key and nonce",
        "generator": GENERATOR,
        "members": members,
        "wrap": wrap,
        "low_order_points": low_order,
    }


# key-epochs.md


def wrap_context(group, recipient):
    return b"plenum epoch key v1" + group + recipient


def grant_context(group, recipient, epoch, doc=None):
    return b"plenum key grant v1" + group + recipient + epoch + (doc or b"")


def wrapping(recipient, ephemeral_secret, nonce, context, key):
    """One key wrapping (conventions.md) with a fixed ephemeral secret and nonce."""
    ephemeral = crypto_scalarmult_base(ephemeral_secret)
    shared = x25519(ephemeral_secret, recipient)
    kek = derive(shared, "plenum key wrap v1", ephemeral + recipient)
    return {
        "context": context.hex(),
        "ephemeral_secret": ephemeral_secret.hex(),
        "ephemeral_public": ephemeral.hex(),
        "nonce": nonce.hex(),
        "shared_secret": shared.hex(),
        "kek": kek.hex(),
        "key": key.hex(),
        "sealed": seal(kek, nonce, context, key).hex(),
    }


def epochs():
    group = bytes([0xC0] * 32)
    signing_seed, exchange_secret = bytes([0xC1] * 32), bytes([0xC2] * 32)
    member = member_id(signing_seed)
    exchange = crypto_scalarmult_base(exchange_secret)

    # A rotation wraps the new epoch's key; its context names no epoch (the rotation
    # operation, which the envelope's signature covers, does).
    rotation_key = bytes([0xC3] * 32)
    rotation = wrapping(
        exchange, bytes([0xC4] * 32), bytes([0xC5] * 24), wrap_context(group, member), rotation_key
    )

    # Admission grants: a whole epoch key ("full" history) ...
    epoch, epoch_key = bytes([0xC6] * 32), bytes([0xC7] * 32)
    grant_epoch = wrapping(
        exchange, bytes([0xC8] * 32), bytes([0xC9] * 24),
        grant_context(group, member, epoch), epoch_key,
    )
    grant_epoch["epoch"], grant_epoch["doc"] = epoch.hex(), None

    # ... and one document's key of a past epoch ("from join").
    past, past_key, doc = bytes([0xCA] * 32), bytes([0xCB] * 32), bytes([0xCC] * 16)
    doc_key = derive(past_key, "plenum doc key v1", doc)
    grant_doc = wrapping(
        exchange, bytes([0xCD] * 32), bytes([0xCE] * 24),
        grant_context(group, member, past, doc), doc_key,
    )
    grant_doc.update(epoch=past.hex(), doc=doc.hex(), epoch_key=past_key.hex())

    return {
        "description": "Key epochs: an epoch key wrapped in a rotation, and two admission key grants (an epoch key, and one document's key of a past epoch), each with a fixed ephemeral key and nonce",
        "generator": GENERATOR,
        "group_id": group.hex(),
        "recipient": {
            "signing_seed": signing_seed.hex(),
            "exchange_secret": exchange_secret.hex(),
            "member_id": member.hex(),
            "exchange_public": exchange.hex(),
        },
        "rotation": rotation,
        "grant_epoch": grant_epoch,
        "grant_doc": grant_doc,
    }


# snapshot.md


def parse_envelope(env):
    """The fields of an envelope (envelope.md), refusing what does not parse."""
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(env):
            raise ValueError(f"truncated at byte {pos}")
        out = env[pos:pos + n]
        pos += n
        return out

    fields = {"version": take(1)[0], "kind": take(1)[0], "group_tag": take(16),
              "doc": take(16), "author": take(32)}
    fields["seq"] = struct.unpack(">Q", take(8))[0]
    fields["prev"], fields["epoch"] = take(32), take(32)
    n = struct.unpack(">H", take(2))[0]
    fields["change_hashes"] = [take(32) for _ in range(n)]
    fields["nonce"] = take(24)
    fields["aad"] = env[:pos]
    ct_len = struct.unpack(">I", take(4))[0]
    fields["ciphertext"] = take(ct_len)
    fields["signed"] = env[:pos]
    fields["signature"] = take(64)
    if pos != len(env) or fields["version"] != 1 or fields["seq"] == 0:
        raise ValueError("trailing bytes, version or seq 0")
    return fields


def verify_and_open(fields, doc_key):
    """Checks the signature (raises when it fails) and returns the plaintext."""
    VerifyKey(fields["author"]).verify(
        b"plenum envelope v1\x00" + fields["signed"], fields["signature"]
    )
    return crypto_aead_xchacha20poly1305_ietf_decrypt(
        fields["ciphertext"], fields["aad"], fields["nonce"], doc_key
    )


def check_snapshot(name="snapshot-v1.json"):
    """Checks the Rust-made snapshot vector; returns the problems found."""
    path = HERE / name
    if not path.exists():
        return [f"{name}: missing (plenum-core writes it)"]
    v = json.loads(path.read_text())
    problems = []

    def expect(what, ok):
        if not ok:
            problems.append(f"{name}: {what}")

    group, doc = bytes.fromhex(v["group_id"]), bytes.fromhex(v["doc_id"])
    group_tag = plenum_hash("plenum group tag v1", group)[:16]
    doc_key = derive(bytes.fromhex(v["epoch_key"]), "plenum doc key v1", doc)
    expect("group_tag", group_tag.hex() == v["group_tag"])
    expect("doc_key", doc_key.hex() == v["doc_key"])
    for m in [v["snapshotter"], *v["authors"]]:
        expect(f"member id of seed {m['signing_seed'][:4]}",
               member_id(bytes.fromhex(m["signing_seed"])).hex() == m["member_id"])

    env = bytes.fromhex(v["envelope"])
    outer = parse_envelope(env)
    expect("envelope hash", plenum_hash("plenum envelope hash v1", env).hex() == v["hash"])
    expect("kind 3", outer["kind"] == 3)
    expect("seq 1 and prev zero", outer["seq"] == 1 and outer["prev"] == bytes(32))
    expect("group tag and doc", outer["group_tag"] == group_tag and outer["doc"] == doc)
    expect("epoch", outer["epoch"].hex() == v["epoch"])
    expect("nonce", outer["nonce"].hex() == v["nonce"])
    expect("author is the snapshotter", outer["author"].hex() == v["snapshotter"]["member_id"])
    expect("heads", [h.hex() for h in outer["change_hashes"]] == v["heads"])
    plaintext = verify_and_open(outer, doc_key)  # raises when signature or AEAD fails

    # save_len u32 ‖ save ‖ count u16 ‖ (len u32 ‖ envelope)*
    save_len = struct.unpack(">I", plaintext[:4])[0]
    pos = 4 + save_len
    expect("save fits", pos <= len(plaintext))
    expect("save is an Automerge document", plaintext[4:8] == bytes.fromhex("856f4a83"))
    count = struct.unpack(">H", plaintext[pos:pos + 2])[0]
    pos += 2
    expect("at most 1024 covered", count <= 1024)
    covered = []
    for i in range(count):
        length = struct.unpack(">I", plaintext[pos:pos + 4])[0]
        inner_bytes = plaintext[pos + 4:pos + 4 + length]
        pos += 4 + length
        inner = parse_envelope(inner_bytes)
        changes = verify_and_open(inner, doc_key)
        expect(f"covered {i} is kind 2 of this group and doc",
               inner["kind"] == 2 and inner["group_tag"] == group_tag and inner["doc"] == doc)
        expect(f"covered {i} lists as many changes as it holds",
               struct.unpack(">I", changes[:4])[0] == len(inner["change_hashes"]))
        covered.append({
            "author": inner["author"].hex(),
            "seq": inner["seq"],
            "hash": plenum_hash("plenum envelope hash v1", inner_bytes).hex(),
        })
    expect("no trailing bytes", pos == len(plaintext))
    authors = [c["author"] for c in covered]
    expect("authors strictly ascending", authors == sorted(set(authors)))
    expect("covered map", covered == v["covered"])
    expect("covers every author", sorted(authors) == sorted(m["member_id"] for m in v["authors"]))
    return problems


def main():
    write = "--write" in sys.argv[1:]
    try:
        snapshot_problems = check_snapshot()
    except Exception as e:  # a signature, AEAD or layout failure
        snapshot_problems = [f"snapshot-v1.json: refused: {e!r}"]
    for problem in snapshot_problems:
        print(problem)
    if not snapshot_problems:
        print("snapshot-v1.json: checks")
    wanted = {name: envelope(v) for name, v in ENVELOPE_INPUTS.items()}
    wanted["keys-v1.json"] = keys()
    wanted["epoch-v1.json"] = epochs()
    differs = 0
    for name, want in wanted.items():
        path = HERE / name
        if write:
            path.write_text(json.dumps(want, indent=2) + "\n")
            print(f"wrote {path}")
            continue
        if not path.exists():
            print(f"{name}: missing (run with --write)")
            differs += 1
            continue
        have = json.loads(path.read_text())
        fields = [f for f in sorted(set(want) | set(have)) if want.get(f) != have.get(f)]
        for field in fields:
            print(f"{name}: field {field!r} differs")
            print(f"  file      {have.get(field)!r}\n  generator {want.get(field)!r}")
        differs += len(fields)
        if not fields:
            print(f"{name}: matches")
    sys.exit(1 if differs or snapshot_problems else 0)


if __name__ == "__main__":
    main()
