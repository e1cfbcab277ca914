//! Groups of many through the whole engine: joining by link, removal that locks a
//! device out, rotations, invites' limits, roles, leaving — between real nodes that
//! exchange the envelopes they seal.

use crate::api::{ErrorKind, Request, Response};
use crate::envelope::{Envelope, EnvelopeError, Kind};
use crate::group::{HistoryPolicy, Role};
use crate::{IngestError, Ingested};

use super::test_devices::{Device, deliver, join, sync_all};

/// Ana founds a group; Bo and Cy join with one two-use invite; everyone is in sync.
async fn three() -> (Device, Device, Device, crate::ids::GroupId) {
    let mut ana = Device::new("Ana");
    let mut bo = Device::new("Bo");
    let mut cy = Device::new("Cy");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 2, None).await;
    join(&ana, &bo, &link).await.expect("Bo joins");
    join(&ana, &cy, &link).await.expect("Cy joins");
    sync_all(&mut [&mut ana, &mut bo, &mut cy]).await;
    (ana, bo, cy, group)
}

#[tokio::test]
async fn joining_by_link_gives_the_joiner_the_group_and_everyone_the_joiner() {
    let (ana, bo, cy, group) = three().await;
    for d in [&ana, &bo, &cy] {
        assert_eq!(d.member_names(&group).await, ["Ana", "Bo", "Cy"]);
        assert_eq!(d.summary(&group).await.name, "Tenants");
    }
    ana.send(&group, "welcome both").await.unwrap();
    let (mut ana, bo, cy) = (ana, bo, cy);
    let sent = ana.take_sent();
    bo.receive_all(&sent).await;
    cy.receive_all(&sent).await;
    assert_eq!(bo.texts(&group).await, ["welcome both"]);
    assert_eq!(cy.texts(&group).await, ["welcome both"]);
    // The joiner's membership survives a restart: its log is rebuilt from envelopes.
    let bo = bo.restart();
    assert_eq!(bo.member_names(&group).await, ["Ana", "Bo", "Cy"]);
    bo.send(&group, "still here").await.unwrap();
}

#[tokio::test]
async fn a_removed_member_opens_none_of_the_envelopes_written_after_its_removal() {
    let (mut ana, mut bo, mut cy, group) = three().await;
    // Cy keeps every key it ever held.
    let cy_keys: Vec<_> = {
        let state = cy.node.lock().unwrap();
        let secrets = &state.groups[&group].secrets;
        secrets
            .epochs()
            .filter_map(|e| secrets.epoch_key(e))
            .collect()
    };
    ana.call(Request::MemberRemove {
        group: group.to_string(),
        member: "Cy".into(),
    })
    .await
    .unwrap();
    for i in 0..12 {
        ana.send(&group, &format!("after removal {i}"))
            .await
            .unwrap();
    }
    let sent = ana.take_sent();
    let after: Vec<&Vec<u8>> = sent
        .iter()
        .filter(|e| Envelope::decode(e).unwrap().header().kind == Kind::Changes)
        .collect();
    assert!(
        after.len() >= 10,
        "{} envelopes after the removal",
        after.len()
    );

    // Cy, still receiving everything, learns it was removed and opens nothing more.
    let outcomes = cy.receive_all(&sent).await;
    assert!(!cy.summary(&group).await.member);
    let mut refused = 0;
    for (bytes, outcome) in sent.iter().zip(&outcomes) {
        if Envelope::decode(bytes).unwrap().header().kind == Kind::Changes {
            assert!(
                matches!(outcome, Err(IngestError::NoKey { .. })),
                "{outcome:?}"
            );
            refused += 1;
        }
    }
    assert!(refused >= 10);
    assert!(cy.texts(&group).await.is_empty(), "Cy sees none of it");
    // Not with any key it ever had either.
    for bytes in &after {
        let envelope = Envelope::decode(bytes).unwrap();
        for key in &cy_keys {
            let doc_key = crate::envelope::doc_key(key, &envelope.header().doc);
            assert!(matches!(
                envelope.open(&doc_key),
                Err(EnvelopeError::Decrypt(_))
            ));
        }
    }
    // Cy's own writes are refused on its device.
    let err = cy.send(&group, "let me back").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forbidden);

    // Bo keeps syncing: it has all twelve.
    bo.receive_all(&sent).await;
    assert_eq!(bo.texts(&group).await.len(), 12);
    bo.send(&group, "bo after").await.unwrap();
    let from_bo = bo.take_sent();
    ana.receive_all(&from_bo).await;
    assert_eq!(ana.texts(&group).await.len(), 13);
    for d in [&ana, &bo] {
        assert_eq!(d.member_names(&group).await, ["Ana", "Bo"]);
    }
    let _ = cy.take_sent();
}

#[tokio::test]
async fn a_removed_members_late_writes_count_up_to_its_cutoff_and_not_beyond() {
    let (mut ana, bo, mut cy, group) = three().await;
    cy.send(&group, "before").await.unwrap();
    let before = cy.take_sent();
    // Ana has Cy's message when she removes Cy; Bo gets it only later.
    ana.receive_all(&before).await;
    ana.call(Request::MemberRemove {
        group: group.to_string(),
        member: "Cy".into(),
    })
    .await
    .unwrap();
    let removal = ana.take_sent();
    bo.receive_all(&removal).await;
    // Cy, not knowing yet, writes again under the old epoch.
    cy.send(&group, "after").await.unwrap();
    let late = cy.take_sent();
    let outcomes = bo.receive_all(&before).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let outcomes = bo.receive_all(&late).await;
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(IngestError::AboveCutoff { .. }))),
        "{outcomes:?}"
    );
    assert_eq!(bo.texts(&group).await, ["before"]);
}

#[tokio::test]
async fn an_envelope_from_an_unknown_epoch_is_held_then_opens_once_the_rotation_arrives() {
    let (mut ana, bo, cy, group) = three().await;
    ana.call(Request::MemberRemove {
        group: group.to_string(),
        member: "Cy".into(),
    })
    .await
    .unwrap();
    let membership = ana.take_sent();
    ana.send(&group, "new epoch").await.unwrap();
    let chat = ana.take_sent();
    let outcomes = bo.receive_all(&chat).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Ok(Ingested::Pending))),
        "{outcomes:?}"
    );
    assert!(bo.texts(&group).await.is_empty());
    bo.receive_all(&membership).await;
    assert_eq!(bo.texts(&group).await, ["new epoch"]);
    drop(cy);
}

#[tokio::test]
async fn a_single_use_invite_admits_once_and_expired_or_revoked_ones_none() {
    let ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let once = ana.invite(&group, 1, None).await;
    join(&ana, &Device::new("Bo"), &once)
        .await
        .expect("first use");
    let err = join(&ana, &Device::new("Cy"), &once).await.unwrap_err();
    assert!(err.message.contains("already used"), "{err}");

    let revoked = ana.invite(&group, 5, None).await;
    let Ok(Response::Invites(invites)) = ana
        .call(Request::InviteList {
            group: group.to_string(),
        })
        .await
    else {
        panic!("invite list")
    };
    let id = invites
        .iter()
        .find(|i| i.link.as_deref() == Some(revoked.as_str()))
        .unwrap()
        .id;
    ana.call(Request::InviteRevoke {
        group: group.to_string(),
        invite: id.to_string(),
    })
    .await
    .unwrap();
    let err = join(&ana, &Device::new("Di"), &revoked).await.unwrap_err();
    assert!(err.message.contains("revoked"), "{err}");

    // Expired on the joiner's side before anything is sent, and on the admitter's.
    let short = ana.invite(&group, 1, Some(150)).await;
    let eve = Device::new("Eve");
    let nonce = ana.node.join_nonce().unwrap();
    let request = eve
        .node
        .join_request(&short, ana.node.peer_key().unwrap(), nonce)
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let err = ana.node.admit(&request).await.unwrap_err();
    assert!(err.message.contains("expired"), "{err}");
    let err = join(&ana, &eve, &short).await.unwrap_err();
    assert!(err.message.contains("expired"), "{err}");
    assert_eq!(ana.member_names(&group).await, ["Ana", "Bo"]);
}

#[tokio::test]
async fn a_damaged_link_or_a_proof_without_the_secret_admits_no_one() {
    let ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    let bo = Device::new("Bo");
    let cut = &link[..link.len() - 5];
    let err = join(&ana, &bo, cut).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("copy"), "{err}");

    // A guessed secret for the right group: the proof does not verify.
    let guessed =
        crate::invite::InviteLink::new(group, crate::time::Timestamp(u64::MAX / 2), Vec::new())
            .unwrap()
            .to_link();
    let nonce = ana.node.join_nonce().unwrap();
    let mut request = bo
        .node
        .join_request(&guessed, ana.node.peer_key().unwrap(), nonce)
        .unwrap();
    let err = ana.node.admit(&request).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    // Claiming the real invite's key with a proof made from the guess fails too.
    let real = crate::invite::InviteLink::parse(&link).unwrap();
    request.invite_key = real.invite_key().public_key();
    let err = ana.node.admit(&request).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forbidden, "{err}");
    assert_eq!(ana.member_names(&group).await, ["Ana"]);
    // A replayed nonce is refused; the real link still works.
    join(&ana, &bo, &link).await.expect("the real link admits");
}

#[tokio::test]
async fn a_removed_inviters_invites_are_revoked_and_any_member_admits() {
    let (mut ana, mut bo, mut cy, group) = three().await;
    let by_bo = bo.invite(&group, 3, None).await;
    let by_bo_2 = bo.invite(&group, 3, None).await;
    sync_all(&mut [&mut ana, &mut bo, &mut cy]).await;
    // Cy admits with Bo's invite: the inviter need not be the admitter.
    let di = Device::new("Di");
    join(&cy, &di, &by_bo)
        .await
        .expect("Cy admits Di with Bo's invite");
    ana.call(Request::MemberRemove {
        group: group.to_string(),
        member: "Bo".into(),
    })
    .await
    .unwrap();
    let err = join(&ana, &Device::new("Eve"), &by_bo_2).await.unwrap_err();
    assert!(err.message.contains("revoked"), "{err}");
}

#[tokio::test]
async fn roles_the_last_admin_and_who_may_remove() {
    let (ana, bo, _cy, group) = three().await;
    let g = group.to_string();
    let err = bo
        .call(Request::MemberRemove {
            group: g.clone(),
            member: "Cy".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forbidden, "{err}");
    let err = ana
        .call(Request::MemberRole {
            group: g.clone(),
            member: "Ana".into(),
            role: Role::Member,
        })
        .await
        .unwrap_err();
    assert!(err.message.contains("last admin"), "{err}");
    let mut ana = ana;
    ana.call(Request::MemberRole {
        group: g.clone(),
        member: "Bo".into(),
        role: Role::Admin,
    })
    .await
    .unwrap();
    let sent = ana.take_sent();
    bo.receive_all(&sent).await;
    assert_eq!(bo.summary(&group).await.role, Role::Admin);
    bo.call(Request::MemberRemove {
        group: g,
        member: "Cy".into(),
    })
    .await
    .expect("an admin now");
}

#[tokio::test]
async fn leaving_tells_the_others_and_wipes_the_group_from_the_device() {
    let (mut ana, mut bo, _cy, group) = three().await;
    bo.send(&group, "secret plans of the tenants")
        .await
        .unwrap();
    sync_all(&mut [&mut ana, &mut bo]).await;
    bo.call(Request::GroupLeave {
        group: group.to_string(),
    })
    .await
    .unwrap();
    let Ok(Response::Groups(groups)) = bo.call(Request::GroupList).await else {
        panic!("group list")
    };
    assert!(groups.is_empty());
    deliver(&mut bo, &ana).await;
    assert_eq!(ana.member_names(&group).await, ["Ana", "Cy"]);
    // Ana's next write starts an epoch without Bo.
    let epochs_before = ana.node.lock().unwrap().groups[&group].state.epochs.len();
    ana.send(&group, "after Bo left").await.unwrap();
    let epochs_after = ana.node.lock().unwrap().groups[&group].state.epochs.len();
    assert_eq!(epochs_after, epochs_before + 1);
    // Nothing of the group is left in Bo's store.
    let bo = bo.restart();
    let state = bo.node.lock().unwrap();
    assert!(state.store.groups().unwrap().is_empty());
    assert!(state.store.docs_of(&group).unwrap().is_empty());
    drop(state);
    let _ = bo.data_dir();
}

#[tokio::test]
async fn from_join_history_hides_earlier_chat_but_not_pads() {
    let mut ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let g = group.to_string();
    ana.call(Request::GroupSetHistory {
        group: g.clone(),
        policy: HistoryPolicy::FromJoin,
    })
    .await
    .unwrap();
    ana.send(&group, "before Bo").await.unwrap();
    ana.call(Request::PadCreate {
        group: g.clone(),
        name: "Minutes".into(),
    })
    .await
    .unwrap();
    ana.call(Request::PadWrite {
        group: g.clone(),
        pad: "Minutes".into(),
        text: "# Minutes".into(),
    })
    .await
    .unwrap();
    let link = ana.invite(&group, 1, None).await;
    let bo = Device::new("Bo");
    join(&ana, &bo, &link).await.expect("join");
    assert!(
        bo.texts(&group).await.is_empty(),
        "no chat from before the join"
    );
    let Ok(Response::Pad(pad)) = bo
        .call(Request::PadGet {
            group: g.clone(),
            pad: "Minutes".into(),
        })
        .await
    else {
        panic!("pad")
    };
    assert_eq!(pad.text, "# Minutes");
    ana.take_sent();
    ana.send(&group, "after Bo").await.unwrap();
    deliver(&mut ana, &bo).await;
    assert_eq!(bo.texts(&group).await, ["after Bo"]);
}

#[tokio::test]
async fn an_admin_hides_a_members_content_from_every_view() {
    let (mut ana, mut bo, mut cy, group) = three().await;
    bo.send(&group, "spam spam spam").await.unwrap();
    cy.send(&group, "hello").await.unwrap();
    sync_all(&mut [&mut ana, &mut bo, &mut cy]).await;
    let err = cy
        .call(Request::MemberHide {
            group: group.to_string(),
            member: "Bo".into(),
            hidden: true,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Forbidden);
    ana.call(Request::MemberHide {
        group: group.to_string(),
        member: "Bo".into(),
        hidden: true,
    })
    .await
    .unwrap();
    deliver(&mut ana, &cy).await;
    let messages = cy.messages(&group).await;
    let spam = messages.iter().find(|m| m.author_name == "Bo").unwrap();
    assert!(spam.hidden && spam.message.text.is_empty());
    let hello = messages.iter().find(|m| m.author_name == "Cy").unwrap();
    assert!(!hello.hidden && hello.message.text == "hello");
    // Removed members keep their name on what they wrote.
    ana.call(Request::MemberRemove {
        group: group.to_string(),
        member: "Cy".into(),
    })
    .await
    .unwrap();
    let names: Vec<String> = ana
        .messages(&group)
        .await
        .into_iter()
        .map(|m| m.author_name)
        .collect();
    assert!(names.contains(&"Cy (left)".to_owned()), "{names:?}");
}

#[tokio::test]
async fn a_new_member_receives_a_long_history_whole() {
    let ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let bo = Device::new("Bo");
    // Bo's live allowance is far smaller than Ana's history.
    bo.node.lock().unwrap().quotas.limits = super::ingest::Limits {
        burst: 10.0,
        per_second: 0.001,
        bytes_per_hour: 1 << 30,
        docs_per_hour: 100,
    };
    let n = 60;
    for i in 0..n {
        ana.send(&group, &format!("message {i}")).await.unwrap();
    }
    let link = ana.invite(&group, 1, None).await;
    join(&ana, &bo, &link).await.expect("join");
    assert_eq!(bo.texts(&group).await.len(), n);
}

#[tokio::test]
async fn a_member_sent_a_key_that_does_not_open_rotates_before_it_writes() {
    use crate::group::OpKind;
    let (mut ana, mut bo, cy, group) = three().await;
    // Ana's device rotates with garbage wrapped to Bo.
    let bo_id = bo.node.lock().unwrap().groups[&group].secrets.member.id();
    let (written, durable) = ana
        .node
        .apply_with(|state, tx, now| {
            let me = state.me(&group)?.id();
            let log = state.log(&group)?;
            let (op, key) = crate::group::rotation(log.state(), me, log.heads(), now)
                .map_err(super::membership::group_error)?;
            let OpKind::Rotate { mut keys } = op.kind else {
                unreachable!()
            };
            keys.get_mut(&bo_id).unwrap().sealed[30] ^= 1;
            let epoch = crate::group::Op {
                kind: OpKind::Rotate { keys: keys.clone() },
                ..op
            }
            .hash();
            state
                .groups
                .get_mut(&group)
                .unwrap()
                .secrets
                .add_epoch(epoch, &key);
            state.write_op(tx, &group, OpKind::Rotate { keys }, now)
        })
        .unwrap();
    super::wait_durable(durable.unwrap()).await.unwrap();
    let _ = written;
    ana.send(&group, "under the bad epoch").await.unwrap();
    let sent = ana.take_sent();
    cy.receive_all(&sent).await;
    assert_eq!(cy.texts(&group).await, ["under the bad epoch"]);
    // Bo holds what it cannot open yet (the key may still reach it), refusing nothing.
    let outcomes = bo.receive_all(&sent).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert!(bo.texts(&group).await.is_empty(), "Bo cannot open it");
    // Bo's next message goes out under a fresh epoch that everyone can open.
    bo.send(&group, "from Bo").await.unwrap();
    let from_bo = bo.take_sent();
    for d in [&ana, &cy] {
        d.receive_all(&from_bo).await;
        assert!(d.texts(&group).await.contains(&"from Bo".to_owned()));
    }
    let epochs = |d: &Device| d.node.lock().unwrap().groups[&group].state.epochs.clone();
    assert_eq!(epochs(&ana), epochs(&bo));
    assert_eq!(
        epochs(&ana).len(),
        3,
        "epoch 0, the bad rotation, Bo's repair"
    );
}

#[tokio::test]
async fn what_a_leaver_wrote_before_leaving_counts_when_it_arrives_after_the_leave() {
    let (ana, mut bo, _cy, group) = three().await;
    bo.send(&group, "bye all").await.unwrap();
    bo.call(Request::GroupLeave {
        group: group.to_string(),
    })
    .await
    .unwrap();
    // The leave reaches Ana before the goodbye.
    let mut sent = bo.take_sent();
    sent.sort_by_key(|e| Envelope::decode(e).unwrap().header().kind != Kind::Membership);
    let outcomes = ana.receive_all(&sent).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(ana.member_names(&group).await, ["Ana", "Cy"]);
    assert_eq!(ana.texts(&group).await, ["bye all"]);
}

#[tokio::test]
async fn muting_is_this_devices_alone_and_survives_a_restart() {
    let (ana, bo, _cy, group) = three().await;
    assert!(!ana.summary(&group).await.muted);
    let Ok(Response::Group(muted)) = ana
        .call(Request::GroupMute {
            group: group.to_string(),
            muted: true,
        })
        .await
    else {
        panic!("group mute")
    };
    assert!(muted.muted);
    assert!(
        !bo.summary(&group).await.muted,
        "another member's device is not muted"
    );
    let ana = ana.restart();
    assert!(ana.summary(&group).await.muted, "the setting is on disk");
    ana.call(Request::GroupMute {
        group: group.to_string(),
        muted: false,
    })
    .await
    .expect("unmute");
    assert!(!ana.restart().summary(&group).await.muted);
}

#[tokio::test]
async fn admins_set_the_groups_relays_members_get_them_and_they_survive_a_restart() {
    let relay = "/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    let (mut ana, mut bo, _cy, group) = three().await;
    let g = group.to_string();
    let refused = bo
        .call(Request::GroupSetRelays {
            group: g.clone(),
            relays: vec![relay.into()],
        })
        .await
        .expect_err("Bo is no admin");
    assert!(refused.message.contains("admin"), "{refused:?}");
    for bad in ["/ip4/192.0.2.7/tcp/4001", "not an address"] {
        let refused = ana
            .call(Request::GroupSetRelays {
                group: g.clone(),
                relays: vec![bad.into()],
            })
            .await
            .expect_err("no relay id");
        assert_eq!(refused.kind, ErrorKind::Invalid, "{bad}: {refused:?}");
    }
    ana.call(Request::GroupSetRelays {
        group: g.clone(),
        relays: vec![relay.into()],
    })
    .await
    .expect("Ana is an admin");
    assert_eq!(ana.summary(&group).await.relays, vec![relay.to_owned()]);
    sync_all(&mut [&mut ana, &mut bo]).await;
    assert_eq!(bo.summary(&group).await.relays, vec![relay.to_owned()]);
    let link = ana.invite(&group, 1, None).await;
    let parsed = crate::invite::InviteLink::parse(&link).unwrap();
    let first = libp2p::Multiaddr::try_from(parsed.addresses[0].clone()).unwrap();
    assert_eq!(first.to_string(), relay, "links lead to the group's relay");
    let bo = bo.restart();
    assert_eq!(bo.summary(&group).await.relays, vec![relay.to_owned()]);
}

#[tokio::test]
async fn a_group_record_written_before_relays_existed_still_reads() {
    let ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let mut record = ana.node.lock().unwrap().groups[&group].clone();
    record.state.relays = vec![vec![1, 2, 3]];
    // Schema 2 wrote the record alone; the tail with the relays comes after it.
    let old = super::engine::encode(&record);
    assert!(
        super::engine::GroupRecord::decode(&old)
            .unwrap()
            .state
            .relays
            .is_empty()
    );
    let new = record.encode();
    assert_eq!(
        super::engine::GroupRecord::decode(&new)
            .unwrap()
            .state
            .relays,
        vec![vec![1, 2, 3]]
    );
    // A tail that promises five relays and holds part of one.
    let mut damaged = old;
    damaged.extend([5, 3, 1]);
    assert!(super::engine::GroupRecord::decode(&damaged).is_err());
}
