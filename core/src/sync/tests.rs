use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn doc(n: u8) -> DocId {
    DocId([n; 16])
}

fn member(n: u8) -> MemberId {
    MemberId([n; 32])
}

fn head(seq: u64, tag: u8) -> AuthorHead {
    AuthorHead {
        seq,
        head: Hash([tag; 32]),
    }
}

/// A vector from `(doc, author, seq)`, heads derived from the seq (so equal seqs agree).
fn vv(entries: &[(u8, u8, u64)]) -> VersionVector {
    let mut v = VersionVector::default();
    for &(d, a, seq) in entries {
        v.insert(doc(d), member(a), head(seq, seq as u8));
    }
    v
}

#[test]
fn insert_get_len_and_docs() {
    let mut v = VersionVector::default();
    assert!(v.is_empty());
    assert_eq!(v.len(), 0);
    v.insert(doc(2), member(1), head(3, 3));
    v.insert(doc(1), member(1), head(1, 1));
    v.insert(doc(1), member(2), head(5, 5));
    v.insert(doc(1), member(2), head(6, 6));
    assert!(!v.is_empty());
    assert_eq!(v.len(), 3);
    assert_eq!(v.docs().copied().collect::<Vec<_>>(), [doc(1), doc(2)]);
    assert_eq!(v.get(&doc(1), &member(2)), Some(head(6, 6)));
    assert_eq!(v.get(&doc(2), &member(2)), None);
    assert_eq!(v.get(&doc(3), &member(1)), None);
}

#[test]
fn root_is_equal_iff_the_vectors_are() {
    let a = vv(&[(1, 1, 3), (2, 1, 1)]);
    // Insertion order does not matter.
    let b = vv(&[(2, 1, 1), (1, 1, 3)]);
    assert_eq!(a, b);
    assert_eq!(a.root(), b.root());
    // A different seq, a different head, an extra entry or a moved entry all change it.
    let roots = [
        a.root(),
        vv(&[(1, 1, 4), (2, 1, 1)]).root(),
        {
            let mut c = a.clone();
            c.insert(doc(1), member(1), head(3, 99));
            c.root()
        },
        vv(&[(1, 1, 3), (2, 1, 1), (2, 2, 1)]).root(),
        vv(&[(1, 1, 3), (3, 1, 1)]).root(),
        vv(&[(1, 1, 3), (2, 2, 1)]).root(),
        VersionVector::default().root(),
    ];
    for (i, x) in roots.iter().enumerate() {
        for y in &roots[i + 1..] {
            assert_ne!(x, y);
        }
    }
    // The root is a keyed hash of the encoding, not the encoding's plain BLAKE3.
    assert_ne!(a.root().0, *blake3::hash(&a.to_bytes()).as_bytes());
}

#[test]
fn wants_fetch_the_membership_log_first_then_documents_in_id_order() {
    let log = doc(9);
    let mine = vv(&[(1, 1, 2), (9, 1, 1)]);
    let theirs = vv(&[
        (1, 1, 5),
        (1, 2, 1),
        (3, 1, 2),
        (9, 1, 3),
        (9, 2, 1),
        (0, 1, 1),
    ]);
    let wants = mine.wants_from(&theirs, &log);
    let w = |d, a, after_seq, until_seq| Want {
        doc: doc(d),
        author: member(a),
        after_seq,
        until_seq,
    };
    assert_eq!(
        wants,
        [
            w(9, 1, 1, 3),
            w(9, 2, 0, 1),
            w(0, 1, 0, 1),
            w(1, 1, 2, 5),
            w(1, 2, 0, 1),
            w(3, 1, 0, 2),
        ]
    );
    assert_eq!(wants.iter().map(Want::len).sum::<u64>(), 10);
    // Nothing is wanted where I am level or ahead, and nothing from myself.
    assert!(theirs.wants_from(&mine, &log).is_empty());
    assert!(mine.wants_from(&mine, &log).is_empty());
    // A log the other side lacks changes nothing about the order of the rest.
    assert_eq!(
        mine.wants_from(&theirs, &doc(200)).first(),
        Some(&w(0, 1, 0, 1))
    );
}

#[test]
fn behind_by_counts_envelopes_the_other_has() {
    let mine = vv(&[(1, 1, 2), (1, 2, 7)]);
    let theirs = vv(&[(1, 1, 5), (1, 2, 3), (2, 1, 4)]);
    assert_eq!(mine.behind_by(&theirs), 3 + 4);
    assert_eq!(theirs.behind_by(&mine), 4);
    assert_eq!(mine.behind_by(&mine), 0);
    assert_eq!(mine.behind_by(&VersionVector::default()), 0);
    // Seqs from a peer are untrusted: the sum saturates instead of overflowing.
    let mut huge = VersionVector::default();
    huge.insert(doc(1), member(1), head(u64::MAX, 1));
    huge.insert(doc(2), member(1), head(u64::MAX, 1));
    assert_eq!(VersionVector::default().behind_by(&huge), u64::MAX);
}

#[test]
fn compare_reports_every_document_of_either_side() {
    let mine = vv(&[(1, 1, 3), (2, 1, 5), (3, 1, 1), (3, 2, 4), (4, 1, 2)]);
    let theirs = vv(&[(1, 1, 3), (2, 1, 2), (3, 1, 3), (3, 2, 1), (5, 1, 6)]);
    let expected = BTreeMap::from([
        (doc(1), DocSync::InSync),
        (doc(2), DocSync::Ahead(3)),
        (
            doc(3),
            DocSync::Both {
                behind: 2,
                ahead: 3,
            },
        ),
        (doc(4), DocSync::Ahead(2)),
        (doc(5), DocSync::Behind(6)),
    ]);
    assert_eq!(mine.compare(&theirs), expected);
    let flipped = theirs.compare(&mine);
    assert_eq!(flipped[&doc(2)], DocSync::Behind(3));
    assert_eq!(
        flipped[&doc(3)],
        DocSync::Both {
            behind: 3,
            ahead: 2
        }
    );
    assert!(
        VersionVector::default()
            .compare(&VersionVector::default())
            .is_empty()
    );
}

#[test]
fn forks_are_equal_seqs_with_different_heads() {
    let mut mine = vv(&[(1, 1, 3), (1, 2, 2), (2, 1, 1)]);
    let mut theirs = mine.clone();
    assert!(mine.forks_against(&theirs).is_empty());
    theirs.insert(doc(1), member(2), head(2, 77));
    theirs.insert(doc(2), member(1), head(1, 78));
    // A different seq is not a fork as far as the vectors can tell.
    theirs.insert(doc(1), member(1), head(4, 79));
    mine.insert(doc(3), member(1), head(1, 1));
    assert_eq!(
        mine.forks_against(&theirs),
        [(doc(1), member(2), 2), (doc(2), member(1), 1)]
    );
    assert_eq!(theirs.forks_against(&mine).len(), 2);
    // Forks do not show as being behind: nothing would be fetched for them.
    assert_eq!(mine.compare(&theirs)[&doc(2)], DocSync::InSync);
}

#[test]
fn has_tells_whether_a_peer_holds_an_envelope() {
    let peer = vv(&[(1, 1, 3)]);
    assert!(peer.has(&doc(1), &member(1), 1));
    assert!(peer.has(&doc(1), &member(1), 3));
    assert!(!peer.has(&doc(1), &member(1), 4));
    assert!(!peer.has(&doc(1), &member(1), 0));
    assert!(!peer.has(&doc(1), &member(2), 1));
    assert!(!peer.has(&doc(2), &member(1), 1));
}

#[test]
fn merge_takes_the_later_of_each_entry() {
    let mut a = vv(&[(1, 1, 3), (1, 2, 1)]);
    let b = vv(&[(1, 1, 2), (1, 2, 4), (2, 1, 1)]);
    a.merge(&b);
    assert_eq!(a, vv(&[(1, 1, 3), (1, 2, 4), (2, 1, 1)]));
    // On a fork (equal seqs) the own head stays.
    let mut mine = vv(&[(1, 1, 2)]);
    let mut theirs = VersionVector::default();
    theirs.insert(doc(1), member(1), head(2, 50));
    mine.merge(&theirs);
    assert_eq!(mine.get(&doc(1), &member(1)), Some(head(2, 2)));
}

#[test]
fn the_encoding_round_trips_and_is_canonical() {
    let v = vv(&[(1, 1, 3), (1, 2, 300), (2, 1, u64::MAX)]);
    let bytes = v.to_bytes();
    assert_eq!(VersionVector::from_bytes(&bytes).unwrap(), v);
    // The empty vector is one byte: a zero count.
    assert_eq!(VersionVector::default().to_bytes(), [0]);
    assert_eq!(
        VersionVector::from_bytes(&[0]).unwrap(),
        VersionVector::default()
    );
    // Through serde too, for the network's messages and JSON.
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(serde_json::from_str::<VersionVector>(&json).unwrap(), v);
    // The layout: count, doc, author count, author, seq varint, head.
    let one = vv(&[(1, 2, 3)]);
    let mut expected = vec![1];
    expected.extend([1; 16]);
    expected.push(1);
    expected.extend([2; 32]);
    expected.push(3);
    expected.extend([3; 32]);
    assert_eq!(one.to_bytes(), expected);
}

/// Encodes a raw (possibly non-canonical) vector the way a peer could.
fn raw_bytes(raw: &[(DocId, Vec<(MemberId, AuthorHead)>)]) -> Vec<u8> {
    postcard::to_allocvec(raw).unwrap()
}

#[test]
fn from_bytes_refuses_garbage_with_a_clear_error() {
    let malformed = |bytes: &[u8]| match VersionVector::from_bytes(bytes) {
        Err(SyncError::Malformed(why)) => why,
        other => panic!("expected a malformed error, got {other:?}"),
    };
    // Empty input, truncated input, trailing bytes.
    malformed(&[]);
    let good = vv(&[(1, 1, 3), (2, 2, 1)]).to_bytes();
    for cut in 1..good.len() {
        malformed(&good[..cut]);
    }
    let mut trailing = good;
    trailing.push(0);
    assert!(malformed(&trailing).contains("1 bytes after the end"));
    // A count far beyond the input.
    malformed(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    // Non-canonical: repeated or unordered ids, a document without authors, seq 0.
    let h = head(1, 1);
    let why = malformed(&raw_bytes(&[
        (doc(2), vec![(member(1), h)]),
        (doc(1), vec![(member(1), h)]),
    ]));
    assert!(why.contains("out of order or repeated"), "{why}");
    malformed(&raw_bytes(&[
        (doc(1), vec![(member(1), h)]),
        (doc(1), vec![(member(2), h)]),
    ]));
    let why = malformed(&raw_bytes(&[(
        doc(1),
        vec![(member(2), h), (member(1), h)],
    )]));
    assert!(why.contains("author"), "{why}");
    malformed(&raw_bytes(&[(
        doc(1),
        vec![(member(1), h), (member(1), head(2, 2))],
    )]));
    let why = malformed(&raw_bytes(&[(doc(1), vec![])]));
    assert!(why.contains("without authors"), "{why}");
    let why = malformed(&raw_bytes(&[(doc(1), vec![(member(1), head(0, 0))])]));
    assert!(why.contains("seq 0"), "{why}");
    // The same checks hold when decoding through serde.
    assert!(
        serde_json::from_str::<VersionVector>(
            &serde_json::to_string(&[(doc(1), Vec::<(MemberId, AuthorHead)>::new())]).unwrap()
        )
        .is_err()
    );
}

#[test]
fn from_bytes_refuses_oversize_input_and_too_many_entries() {
    let err = VersionVector::from_bytes(&vec![0; MAX_WIRE_BYTES + 1]).unwrap_err();
    assert_eq!(
        err,
        SyncError::TooLarge {
            len: MAX_WIRE_BYTES + 1,
            max: MAX_WIRE_BYTES
        }
    );
    assert!(err.to_string().contains("longer than the limit"));
    // Exactly MAX_ENTRIES is fine, one more is not (the smallest encoding per entry, so
    // it fits the byte limit and the entry limit is what refuses it).
    let entries = |n: usize| -> Vec<u8> {
        let authors: Vec<(MemberId, AuthorHead)> = (0..n)
            .map(|i| {
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&(i as u64).to_be_bytes());
                (MemberId(id), head(1, 0))
            })
            .collect();
        raw_bytes(&[(doc(1), authors)])
    };
    let max = entries(MAX_ENTRIES);
    assert!(max.len() <= MAX_WIRE_BYTES);
    assert_eq!(VersionVector::from_bytes(&max).unwrap().len(), MAX_ENTRIES);
    let over = entries(MAX_ENTRIES + 1);
    assert!(over.len() <= MAX_WIRE_BYTES);
    assert_eq!(
        VersionVector::from_bytes(&over).unwrap_err(),
        SyncError::TooManyEntries { max: MAX_ENTRIES }
    );
}

#[test]
fn paginate_bounds_pages_and_keeps_order() {
    let e = |n: usize, tag: u8| vec![tag; n];
    let pages = paginate(
        vec![e(4, 1), e(4, 2), e(3, 3), e(20, 4), e(1, 5), e(10, 6)],
        10,
    );
    assert_eq!(
        pages,
        [
            vec![e(4, 1), e(4, 2)],
            vec![e(3, 3)],
            vec![e(20, 4)],
            vec![e(1, 5)],
            vec![e(10, 6)],
        ]
    );
    assert!(paginate(Vec::new(), 10).is_empty());
    assert_eq!(paginate(vec![e(5, 1)], 0), [vec![e(5, 1)]]);
}

fn arb_vector() -> impl Strategy<Value = VersionVector> {
    // Few ids, so the two vectors share documents and authors often.
    prop::collection::vec((0u8..5, 0u8..4, 1u64..20, 0u8..2), 0..25).prop_map(|entries| {
        let mut v = VersionVector::default();
        for (d, a, seq, fork) in entries {
            // Heads follow from the seq, unless `fork`: then a different chain.
            v.insert(
                doc(d),
                member(a),
                head(seq, (seq as u8).wrapping_add(fork * 100)),
            );
        }
        v
    })
}

/// What `a` holds after fetching exactly the wants: each wanted range ends at their
/// head.
fn fetch(a: &VersionVector, b: &VersionVector, wants: &[Want]) -> VersionVector {
    let mut after = a.clone();
    for w in wants {
        let theirs = b.get(&w.doc, &w.author).unwrap();
        assert_eq!(theirs.seq, w.until_seq);
        assert_eq!(a.get(&w.doc, &w.author).map_or(0, |h| h.seq), w.after_seq);
        after.insert(w.doc, w.author, theirs);
    }
    after
}

proptest! {
    #[test]
    fn fetching_the_wants_catches_up(a in arb_vector(), b in arb_vector(), first in 0u8..6) {
        let first = doc(first);
        let wants = a.wants_from(&b, &first);
        prop_assert_eq!(wants.iter().map(Want::len).sum::<u64>(), a.behind_by(&b));
        prop_assert!(wants.iter().all(|w| !w.is_empty()));
        // The log first, the rest in (doc, author) order.
        let key = |w: &Want| (w.doc != first, w.doc, w.author);
        prop_assert!(wants.windows(2).all(|p| key(&p[0]) < key(&p[1])));
        let after = fetch(&a, &b, &wants);
        let mut merged = a;
        merged.merge(&b);
        prop_assert_eq!(after.root(), merged.root());
        prop_assert_eq!(&after, &merged);
        prop_assert_eq!(after.behind_by(&b), 0);
        prop_assert!(after.wants_from(&b, &first).is_empty());
        prop_assert!(after.compare(&b).values().all(|s| matches!(s, DocSync::InSync | DocSync::Ahead(_))));
        // Whatever b had, the caught-up a has.
        for (d, m, h) in b.iter() {
            prop_assert!(after.has(d, m, h.seq));
        }
    }

    #[test]
    fn roots_agree_with_equality(a in arb_vector(), b in arb_vector()) {
        prop_assert_eq!(a == b, a.root() == b.root());
        prop_assert_eq!(&VersionVector::from_bytes(&a.to_bytes()).unwrap(), &a);
        // compare and behind_by tell the same story.
        let behind: u64 = a.compare(&b).values().map(|s| match s {
            DocSync::InSync | DocSync::Ahead(_) => 0,
            DocSync::Behind(n) | DocSync::Both { behind: n, .. } => *n,
        }).sum();
        prop_assert_eq!(behind, a.behind_by(&b));
    }

    #[test]
    fn from_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(v) = VersionVector::from_bytes(&bytes) {
            // Whatever it accepts is canonical: it encodes back to the same bytes.
            prop_assert_eq!(v.to_bytes(), bytes);
        }
    }
}

#[test]
fn from_bytes_refuses_overlong_varints() {
    // An overlong count (0 as two bytes) and an overlong seq would decode to a vector
    // that encodes differently: refused, so the bytes a peer hashes are the bytes read.
    assert!(VersionVector::from_bytes(&[0x80, 0x00]).is_err());
    let mut bytes = vv(&[(1, 2, 3)]).to_bytes();
    let seq_at = 1 + 16 + 1 + 32;
    bytes.splice(seq_at..seq_at + 1, [0x83, 0x00]);
    assert!(VersionVector::from_bytes(&bytes).is_err());
}

/// The vectors of `protocol-spec/vectors/version-vector-v1.json`, which a second
/// implementation made from the spec text computed: encoding, root and wants.
#[test]
fn the_spec_vectors_match() {
    use crate::test_vectors::array;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol-spec/vectors/version-vector-v1.json"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut vectors = BTreeMap::new();
    for case in file["cases"].as_array().unwrap() {
        let mut v = VersionVector::default();
        for e in case["entries"].as_array().unwrap() {
            let head = AuthorHead {
                seq: e["seq"].as_u64().unwrap(),
                head: Hash(array(e, "head")),
            };
            v.insert(DocId(array(e, "doc")), MemberId(array(e, "author")), head);
        }
        let name = case["name"].as_str().unwrap().to_owned();
        assert_eq!(
            v.to_bytes(),
            crate::test_vectors::bytes(case, "encoding"),
            "{name}"
        );
        assert_eq!(v.root().0, array::<32>(case, "root"), "{name}");
        assert_eq!(
            VersionVector::from_bytes(&v.to_bytes()).unwrap(),
            v,
            "{name}"
        );
        vectors.insert(name, v);
    }
    assert_eq!(vectors.len(), 4);
    for case in file["wants"].as_array().unwrap() {
        let mine = &vectors[case["mine"].as_str().unwrap()];
        let theirs = &vectors[case["theirs"].as_str().unwrap()];
        let expected: Vec<Want> = case["wants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| Want {
                doc: DocId(array(w, "doc")),
                author: MemberId(array(w, "author")),
                after_seq: w["after_seq"].as_u64().unwrap(),
                until_seq: w["until_seq"].as_u64().unwrap(),
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            mine.wants_from(theirs, &DocId(array(case, "first"))),
            expected
        );
    }
}
