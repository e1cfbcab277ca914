#!/usr/bin/env python3
"""An independent implementation of the version vector of protocol-spec/sync.md.

Written from the spec text, without calling plenum-core, it computes the canonical
encoding, the root and the wants of the vectors in version-vector-v1.json, which
plenum-core's tests load.

    pip install blake3
    python3 protocol-spec/vectors/gen_version_vector.py           # check the file
    python3 protocol-spec/vectors/gen_version_vector.py --write   # (re)write it

Without --write it exits 1 if the file differs.
"""

import json
import pathlib
import struct
import sys

import blake3

HERE = pathlib.Path(__file__).parent
FILE = HERE / "version-vector-v1.json"


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def grouped(entries):
    docs = {}
    for e in entries:
        docs.setdefault(bytes.fromhex(e["doc"]), {})[bytes.fromhex(e["author"])] = (
            e["seq"],
            bytes.fromhex(e["head"]),
        )
    return docs


def encode(entries):
    docs = grouped(entries)
    out = bytearray(varint(len(docs)))
    for doc in sorted(docs):
        authors = docs[doc]
        out += doc + varint(len(authors))
        for author in sorted(authors):
            seq, head = authors[author]
            out += author + varint(seq) + head
    return bytes(out)


def root(encoding):
    lp = struct.pack("<Q", len(encoding)) + encoding
    return blake3.blake3(lp, derive_key_context="plenum sync root v1").hexdigest()


def wants(mine, theirs, first):
    mine, theirs = grouped(mine), grouped(theirs)
    order = sorted(theirs, key=lambda d: (d != first, d))
    out = []
    for doc in order:
        for author in sorted(theirs[doc]):
            have = mine.get(doc, {}).get(author, (0, None))[0]
            until = theirs[doc][author][0]
            if have < until:
                out.append(
                    {"doc": doc.hex(), "author": author.hex(), "after_seq": have, "until_seq": until}
                )
    return out


def entry(doc, author, seq, head):
    return {"doc": doc * 16, "author": author * 32, "seq": seq, "head": head * 32}


def build():
    cases = {
        "empty": [],
        "one": [entry("01", "02", 3, "03")],
        "several": [
            entry("09", "02", 2**64 - 1, "05"),
            entry("01", "05", 300, "04"),
            entry("01", "02", 3, "03"),
            entry("04", "07", 127, "06"),
        ],
        "peer": [
            entry("01", "02", 1, "0a"),
            entry("04", "07", 128, "0b"),
            entry("05", "02", 1, "0c"),
        ],
    }
    out = {"cases": [], "wants": []}
    for name, entries in cases.items():
        enc = encode(entries)
        out["cases"].append(
            {"name": name, "entries": entries, "encoding": enc.hex(), "root": root(enc)}
        )
    for mine, theirs, first in [("peer", "several", "09" * 16), ("several", "peer", "05" * 16), ("empty", "one", "01" * 16)]:
        out["wants"].append(
            {
                "mine": mine,
                "theirs": theirs,
                "first": first,
                "wants": wants(cases[mine], cases[theirs], bytes.fromhex(first)),
            }
        )
    return out


def main():
    text = json.dumps(build(), indent=2) + "\n"
    if "--write" in sys.argv:
        FILE.write_text(text)
        return 0
    if not FILE.exists() or FILE.read_text() != text:
        print(f"{FILE.name} differs from what the spec gives")
        return 1
    print(f"{FILE.name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
