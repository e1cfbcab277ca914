//! Forged and damaged envelopes between real nodes: each is refused with a typed
//! error, nothing of it shows, and honest traffic keeps flowing.

use crate::IngestError;
use crate::envelope::{Envelope, EnvelopeError, Kind};
use crate::identity::MemberKeys;

use super::test_devices::{Device, join, sync_all};

/// The signature context of envelope v1 (protocol-spec/envelope.md).
const CONTEXT: &str = "plenum envelope v1";
/// Byte offsets of header fields (protocol-spec/envelope.md).
const GROUP_TAG: std::ops::Range<usize> = 2..18;
const DOC: std::ops::Range<usize> = 18..34;
const EPOCH: std::ops::Range<usize> = 106..138;

/// Replaces `range` of an envelope with `with` and signs it again with `signer`: a
/// valid signature over a re-labelled header.
fn relabel(
    bytes: &[u8],
    range: std::ops::Range<usize>,
    with: &[u8],
    signer: &MemberKeys,
) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[range].copy_from_slice(with);
    let signed = out.len() - 64;
    let sig = signer.sign(CONTEXT, &out[..signed]);
    out[signed..].copy_from_slice(&sig);
    out
}

async fn two() -> (Device, Device, crate::ids::GroupId) {
    let mut ana = Device::new("Ana");
    let mut bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join(&ana, &bo, &link).await.expect("join");
    sync_all(&mut [&mut ana, &mut bo]).await;
    (ana, bo, group)
}

#[tokio::test]
async fn a_flipped_bit_anywhere_is_refused_with_a_typed_error() {
    let (mut ana, bo, group) = two().await;
    ana.send(&group, "the real message").await.unwrap();
    let sent = ana.take_sent();
    let envelope = sent
        .iter()
        .find(|e| Envelope::decode(e).unwrap().header().kind == Kind::Changes)
        .unwrap()
        .clone();
    for byte in 0..envelope.len() {
        for bit in 0..8 {
            let mut damaged = envelope.clone();
            damaged[byte] ^= 1 << bit;
            let outcome = bo.node.receive(&damaged).await;
            assert!(
                matches!(outcome, Err(IngestError::Envelope(_))),
                "bit {bit} of byte {byte}: {outcome:?}"
            );
        }
    }
    assert!(bo.texts(&group).await.is_empty(), "nothing damaged shows");
    bo.receive_all(&sent).await;
    assert_eq!(bo.texts(&group).await, ["the real message"]);
}

#[tokio::test]
async fn a_bad_signature_a_stranger_and_relabelled_envelopes_are_refused() {
    let (mut ana, bo, group) = two().await;
    ana.send(&group, "hello").await.unwrap();
    let sent = ana.take_sent();
    // The new chat segment's first envelope (the directory's, listing the segment,
    // follows earlier ones of Ana's and would wait for them under another doc id).
    let chat = sent
        .iter()
        .find(|e| {
            let h = Envelope::decode(e).unwrap().header().clone();
            h.kind == Kind::Changes && h.seq == 1
        })
        .unwrap()
        .clone();
    let ana_keys = ana.node.lock().unwrap().groups[&group]
        .secrets
        .member
        .clone();

    // Bad signature.
    let mut bad = chat.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    assert!(matches!(
        bo.node.receive(&bad).await,
        Err(IngestError::Envelope(EnvelopeError::Signature(_)))
    ));

    // Someone outside the group signs its own envelope for the group.
    let stranger = MemberKeys::generate();
    let forged = relabel(&chat, 34..66, stranger.id().as_bytes(), &stranger);
    assert!(matches!(
        bo.node.receive(&forged).await,
        Err(IngestError::UnknownAuthor { .. })
    ));

    // Ana's own envelope, re-labelled and re-signed by Ana: another document, another
    // epoch, another group. The AEAD binds the header, so none opens.
    let mut other_doc = [0u8; 16];
    other_doc.copy_from_slice(&chat[DOC]);
    other_doc[0] ^= 1;
    let outcome = bo
        .node
        .receive(&relabel(&chat, DOC, &other_doc, &ana_keys))
        .await;
    assert!(
        matches!(
            outcome,
            Err(IngestError::Envelope(EnvelopeError::Decrypt(_)))
        ),
        "{outcome:?}"
    );
    let outcome = bo
        .node
        .receive(&relabel(&chat, EPOCH, &[7; 32], &ana_keys))
        .await;
    assert!(
        matches!(outcome, Ok(crate::Ingested::Pending)),
        "unknown epoch: held: {outcome:?}"
    );
    let outcome = bo
        .node
        .receive(&relabel(&chat, GROUP_TAG, &[9; 16], &ana_keys))
        .await;
    assert!(
        matches!(outcome, Err(IngestError::UnknownGroup)),
        "{outcome:?}"
    );

    // Re-labelled as a snapshot: those come through catch-up, not as live envelopes.
    let outcome = bo
        .node
        .receive(&relabel(&chat, 1..2, &[3], &ana_keys))
        .await;
    assert!(matches!(outcome, Err(IngestError::Snapshot)), "{outcome:?}");

    assert!(bo.texts(&group).await.is_empty());
    bo.receive_all(&sent).await;
    assert_eq!(bo.texts(&group).await, ["hello"]);
}
