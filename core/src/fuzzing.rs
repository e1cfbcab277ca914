//! Entry points for the fuzz targets in `fuzz/`, one function per target.
//!
//! The cargo-fuzz targets call these, and `cargo test` replays the committed corpus and
//! crashers through the same functions, so the two cannot drift. Each function takes
//! arbitrary bytes and panics only on a bug: a decoder or state machine that panics, or
//! an invariant that does not hold. Built for tests, and for the fuzz crate through the
//! `fuzzing` feature; nothing in the engine calls it.
//!
//! Adding a target: a function here and its line in [`TARGETS`], a file
//! `fuzz/fuzz_targets/<name>.rs` calling it, its `[[bin]]` in `fuzz/Cargo.toml`, and
//! seeds in `fuzz/corpus/<name>/`; the replay test fails until all exist.

use automerge::ChangeHash;

use crate::crypto::SecretKey;
use crate::envelope::{self, Envelope, Header, Kind};
use crate::group::{HistoryPolicy, MemberInfo, MembershipLog, Op, OpKind};
use crate::identity::MemberKeys;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

/// A target's entry point: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/<name>.rs` names it.
pub const TARGETS: &[(&str, Target)] = &[
    ("envelope", envelope),
    ("changes_plaintext", changes_plaintext),
    ("membership_op", membership_op),
    ("invite", invite),
    ("snapshot", snapshot),
    ("version_vector", version_vector),
    ("import", import),
];

/// The epoch key the `envelope` target opens envelopes with (through
/// [`envelope::doc_key`] of the envelope's document), so that seed envelopes sealed
/// under it reach the plaintext decoders. It is the envelope test vector's epoch key.
pub const EPOCH_KEY: [u8; 32] = [0x66; 32];

/// Most operations one `membership_op` input feeds to a log: replay is quadratic.
pub const MAX_OPS: usize = 64;

/// Decodes an envelope; when it decodes, re-decodes its bytes, checks the signature and
/// opens it under [`EPOCH_KEY`] as a stored envelope, decoding the plaintext as what
/// its kind says it carries.
pub fn envelope(data: &[u8]) {
    let Ok(env) = Envelope::decode(data) else {
        return;
    };
    assert_eq!(env.as_bytes(), data, "decode keeps the bytes it was given");
    assert_eq!(
        Envelope::decode(env.as_bytes()).as_ref(),
        Ok(&env),
        "an envelope's bytes decode to itself"
    );
    let _ = env.hash();
    let _ = env.verify();
    let key = envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), &env.header().doc);
    let opened = env.open(&key);
    match env.header().kind {
        Kind::Membership => {
            if let Ok(plaintext) = opened {
                let _ = Op::decode(&plaintext);
            }
        }
        Kind::Changes => {
            let changes = env.open_stored_changes(&key);
            assert!(
                changes.is_err() || opened.is_ok(),
                "changes came out of an envelope that does not open"
            );
        }
        Kind::Snapshot => {
            let verified =
                envelope::verify_snapshot(&env, env.header().group_tag, |_| Some(key.clone()));
            assert!(
                verified.is_err() || (opened.is_ok() && env.verify().is_ok()),
                "a snapshot verified that does not open or whose signature fails"
            );
        }
    }
}

/// The group the `membership_op` target's log belongs to.
pub const GROUP: GroupId = GroupId([7; 32]);

/// The founder of [`GROUP`]: [`genesis`]'s author.
pub const FOUNDER: MemberId = MemberId([1; 32]);

/// The create operation of the `membership_op` target's log.
pub fn genesis() -> Op {
    Op {
        group: GROUP,
        author: FOUNDER,
        heads: Vec::new(),
        at: Timestamp(1_000),
        kind: OpKind::Create {
            name: "Fuzz".into(),
            creator: MemberInfo {
                id: FOUNDER,
                exchange: [1; 32],
                peer: [101; 32],
                name: "founder".into(),
            },
            history: HistoryPolicy::Full,
        },
    }
}

/// A log holding only [`genesis`].
pub fn genesis_log() -> MembershipLog {
    MembershipLog::new(genesis())
        .unwrap_or_else(|e| unreachable!("the fuzz genesis is a valid create operation: {e}"))
}

/// Decodes an operation and checks that it re-encodes to an equal operation; then
/// reads the input as a sequence of up to [`MAX_OPS`] concatenated operations and feeds
/// them to logs started from [`genesis`]: one at a time in the given order, one at a
/// time in reverse order, and in one `apply_all`. The log promises the same state
/// whatever the arrival order, so all three must agree.
pub fn membership_op(data: &[u8]) {
    let Ok((op, after)) = postcard::take_from_bytes::<Op>(data) else {
        assert!(
            Op::decode(data).is_err(),
            "Op::decode accepts what does not parse"
        );
        return;
    };
    assert_eq!(
        Op::decode(data).is_ok(),
        after.is_empty(),
        "Op::decode takes exactly one operation, with nothing after it"
    );
    let encoded = op.encode();
    assert_eq!(
        Op::decode(&encoded).as_ref(),
        Ok(&op),
        "re-encoding round trips"
    );
    assert_eq!(
        Op::decode(&encoded).map(|o| o.hash()),
        Ok(op.hash()),
        "the hash covers the canonical encoding"
    );

    let mut ops = Vec::new();
    let mut rest = data;
    while ops.len() < MAX_OPS {
        let Ok((next, tail)) = postcard::take_from_bytes::<Op>(rest) else {
            break;
        };
        ops.push(next);
        rest = tail;
    }
    assert_eq!(ops.first(), Some(&op), "the first operation reads the same");

    let (mut in_order, mut reversed, mut batch) = (genesis_log(), genesis_log(), genesis_log());
    for op in &ops {
        let _ = in_order.apply(op.clone());
    }
    for op in ops.iter().rev() {
        let _ = reversed.apply(op.clone());
    }
    let results = batch.apply_all(ops.clone());
    assert_eq!(
        results.len(),
        ops.len(),
        "apply_all reports on every operation"
    );

    assert_eq!(
        in_order.len(),
        batch.len(),
        "same DAG in order and in one batch"
    );
    assert_eq!(in_order.len(), reversed.len(), "same DAG in either order");
    assert_eq!(
        in_order.state(),
        batch.state(),
        "same state in order and in one batch"
    );
    assert_eq!(
        in_order.state(),
        reversed.state(),
        "same state in either order"
    );
    for op in in_order.ops() {
        let hash = op.hash();
        assert_eq!(in_order.outcome(&hash), batch.outcome(&hash));
        assert_eq!(in_order.outcome(&hash), reversed.outcome(&hash));
    }
}

/// The signer of the `changes_plaintext` target's envelopes and of the seed
/// envelopes: the envelope test vector's keys.
pub fn author() -> MemberKeys {
    MemberKeys::from_seeds([0x11; 32], [0x22; 32])
}

/// The document the targets' sealed envelopes belong to.
pub const DOC: DocId = DocId([0x44; 16]);
/// The epoch the targets' sealed envelopes name.
pub const EPOCH: Hash = Hash([0x55; 32]);

/// The header of `author`'s first envelope of `kind` in [`DOC`] of [`GROUP`] under
/// [`EPOCH`], listing `change_hashes`.
pub fn first_header(kind: Kind, author: MemberId, change_hashes: Vec<ChangeHash>) -> Header {
    Header {
        kind,
        group_tag: envelope::group_tag(&GROUP),
        doc: DOC,
        author,
        seq: 1,
        prev: Hash([0; 32]),
        epoch: EPOCH,
        change_hashes,
    }
}

/// Seals `data` as the plaintext of a [`Kind::Changes`] envelope and opens it as a
/// stored envelope: the plaintext decoder (its framing and Automerge's change parser)
/// on any bytes a member of the group could seal. The `envelope` target cannot reach
/// it, since a mutated envelope no longer passes the AEAD. The header lists no change
/// hashes, so nothing is expected to be accepted unless the input lists no changes.
pub fn changes_plaintext(data: &[u8]) {
    let author = author();
    let key = envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), &DOC);
    let header = first_header(Kind::Changes, author.id(), Vec::new());
    let sealed = Envelope::seal_with_nonce(header, &key, data, &author, &[0x77; 24]);
    if let Ok(changes) = sealed.open_stored_changes(&key) {
        assert!(
            changes.is_empty(),
            "changes the header does not list were accepted"
        );
    }
}

/// Seals `data` as the plaintext of a [`Kind::Snapshot`] envelope under [`EPOCH_KEY`]
/// and verifies it: the plaintext framing, Automerge's document loader and the covered
/// envelopes' checks on any bytes a member could seal. The header lists the heads of
/// the save at the start of the input when it loads (so valid seeds verify), none
/// otherwise. Covered envelopes open under the same key whatever their epoch. A
/// snapshot that verifies must reproduce its header's heads, and cover only authors
/// with a covered envelope.
pub fn snapshot(data: &[u8]) {
    let sealed = snapshot_envelope(data);
    let key = envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), &sealed.header().doc);
    if let Ok(mut verified) =
        envelope::verify_snapshot(&sealed, envelope::group_tag(&GROUP), |_| Some(key.clone()))
    {
        let mut found = verified.doc.get_heads();
        let mut listed = sealed.header().change_hashes.clone();
        found.sort();
        listed.sort();
        assert_eq!(found, listed, "a verified snapshot has the heads it lists");
        assert_eq!(verified.sealed_by, author().id());
        assert!(
            verified.covered.len() <= envelope::MAX_COVERED,
            "more covered authors than the limit"
        );
    }
}

/// The envelope the `snapshot` target verifies: `data` sealed by [`author`] as the
/// plaintext of a snapshot of document `0x44…` in [`GROUP`] under [`EPOCH_KEY`].
pub fn snapshot_envelope(data: &[u8]) -> Envelope {
    let author = author();
    let key = envelope::doc_key(&SecretKey::from_bytes(EPOCH_KEY), &DOC);
    let header = first_header(
        Kind::Snapshot,
        author.id(),
        snapshot_heads(data).unwrap_or_default(),
    );
    Envelope::seal_with_nonce(header, &key, data, &author, &[0x77; 24])
}

/// The heads of the Automerge save a snapshot plaintext starts with, when it loads.
fn snapshot_heads(data: &[u8]) -> Option<Vec<ChangeHash>> {
    let len = u32::from_be_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let save = data.get(4..4usize.checked_add(len)?)?;
    let mut doc = automerge::AutoCommit::load(save).ok()?;
    let heads = doc.get_heads();
    (heads.len() <= envelope::MAX_CHANGES).then_some(heads)
}

/// Parses the input as an invite link (as text; links arrive pasted or scanned), and
/// decodes it as a join proof and as the join handshake's messages. A link that parses
/// must print back to the same link.
pub fn invite(data: &[u8]) {
    use crate::invite::{InviteLink, JoinProof, JoinRequest, Welcome};
    let text = String::from_utf8_lossy(data);
    if let Ok(link) = InviteLink::parse(&text) {
        let again = match InviteLink::parse(&link.to_link()) {
            Ok(again) => again,
            Err(e) => panic!("a parsed link prints to a link that does not parse: {e}"),
        };
        assert_eq!(again.to_link(), link.to_link(), "a link survives printing");
        let _ = link.invite_key().public_key();
    }
    let _ = JoinProof::decode(data);
    let _ = JoinRequest::decode(data);
    let _ = Welcome::decode(data);
}

/// A version vector from a peer ([`crate::sync::VersionVector::from_bytes`]): what
/// decodes is canonical, and catching up on it (also against the vector decoded from
/// the input's second half, when that decodes) ends level.
pub fn version_vector(data: &[u8]) {
    use crate::sync::VersionVector;
    let Ok(theirs) = VersionVector::from_bytes(data) else {
        let half = data.len() / 2;
        let (Ok(a), Ok(b)) = (
            VersionVector::from_bytes(&data[..half]),
            VersionVector::from_bytes(&data[half..]),
        ) else {
            return;
        };
        catch_up(&a, &b);
        catch_up(&b, &a);
        return;
    };
    assert_eq!(
        theirs.to_bytes(),
        data,
        "a decoded vector encodes to its input"
    );
    assert_eq!(theirs.len(), theirs.iter().count());
    catch_up(&VersionVector::default(), &theirs);
    catch_up(&theirs, &theirs);
}

/// `mine` fetches what `theirs` has beyond it and ends with nothing left to want.
fn catch_up(mine: &crate::sync::VersionVector, theirs: &crate::sync::VersionVector) {
    let first = theirs.docs().next().copied().unwrap_or(DocId([0; 16]));
    let wants = mine.wants_from(theirs, &first);
    let mut after = mine.clone();
    for want in &wants {
        let head = theirs.get(&want.doc, &want.author);
        assert_eq!(
            head.map(|h| h.seq),
            Some(want.until_seq),
            "a want ends at their head"
        );
        if let Some(head) = head {
            after.insert(want.doc, want.author, head);
        }
    }
    let mut merged = mine.clone();
    merged.merge(theirs);
    assert_eq!(after.root(), merged.root(), "fetching the wants is merging");
    assert_eq!(after.behind_by(theirs), 0);
    assert!(after.wants_from(theirs, &first).is_empty());
}

/// Reads the input as an export: its first byte picks the parser (WhatsApp text or zip,
/// Telegram, Trello, Etherpad), the rest is the file. What parses is what an import
/// would write: every message has an author and something to show, every board column a
/// title, every pad some text.
pub fn import(data: &[u8]) {
    use crate::import::{etherpad, telegram, trello, whatsapp};
    let Some((&which, file)) = data.split_first() else {
        return;
    };
    let chat = match which % 4 {
        0 => whatsapp::parse(file, "WhatsApp Chat with Fuzz.zip").ok(),
        1 => telegram::parse(file, None, 0).ok(),
        2 => {
            if let Ok(board) = trello::parse(file) {
                assert!(!board.name.trim().is_empty(), "a board has a name");
                for column in &board.columns {
                    assert!(!column.title.trim().is_empty(), "a column has a title");
                    assert!(column.cards.iter().all(|c| !c.title.trim().is_empty()));
                }
            }
            None
        }
        _ => {
            if let Ok(pad) = etherpad::parse(file, "fuzz.etherpad") {
                assert!(!pad.text.trim().is_empty(), "a pad has text");
            }
            None
        }
    };
    if let Some(chat) = chat {
        assert!(!chat.messages.is_empty(), "a chat has messages");
        for m in &chat.messages {
            assert!(!m.author.is_empty(), "a message has an author");
            assert!(
                !m.display_text().trim().is_empty(),
                "a message shows something"
            );
        }
    }
}
