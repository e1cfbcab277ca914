//! Imports and exports through the whole engine: parsed, applied in one commit,
//! durable across a restart, accepted by another member's device, idempotent per
//! message, all or nothing, and all of it in the export.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::api::{ErrorKind, Event, ImportReport, Request, Response};
use crate::ids::GroupId;
use crate::import::ImportSource;

use super::test_devices::{Device, join, sync_all};

fn import(group: &GroupId, source: ImportSource, file_name: &str, bytes: &[u8]) -> Request {
    Request::Import {
        group: group.to_string(),
        source,
        file_name: file_name.into(),
        data: B64.encode(bytes),
        target: None,
        chat: None,
        utc_offset_minutes: None,
    }
}

async fn imported(device: &Device, request: Request) -> ImportReport {
    match device.call(request).await {
        Ok(Response::Imported(report)) => report,
        other => panic!("import: {other:?}"),
    }
}

/// (author shown, text) of each message of a channel, in display order.
async fn log(device: &Device, group: &GroupId, channel: &str) -> Vec<(String, String)> {
    match device
        .call(Request::ChatLog {
            group: group.to_string(),
            channel: Some(channel.into()),
            before: None,
            limit: None,
        })
        .await
    {
        Ok(Response::Messages(ms)) => ms
            .into_iter()
            .map(|m| {
                let who = m.message.imported_author.clone().unwrap_or(m.author_name);
                (who, m.message.text)
            })
            .collect(),
        other => panic!("chat log: {other:?}"),
    }
}

fn pair(who: &str, text: &str) -> (String, String) {
    (who.to_owned(), text.to_owned())
}

const FIRST: &str = "\
31/12/2021, 20:00 - Ana: ok
31/12/2021, 20:00 - Ana: ok
31/12/2021, 20:01 - Ben: two lines
second line
";
const LATER: &str = "\
31/12/2021, 20:00 - Ana: ok
31/12/2021, 20:00 - Ana: ok
31/12/2021, 20:01 - Ben: two lines
second line
31/12/2021, 20:01 - Ana: ok
01/01/2022, 09:30 - Ben: happy new year
";

#[tokio::test]
async fn a_chat_imports_once_per_message_keeps_its_order_and_reaches_other_members() {
    let mut ana = Device::new("Ana");
    let mut bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join(&ana, &bo, &link).await.expect("Bo joins");
    // A message sent live before the import: the import's older messages go before it.
    ana.send(&group, "hello from Plenum").await.unwrap();

    let file = "WhatsApp Chat with Kitchen.txt";
    let report = imported(
        &ana,
        import(&group, ImportSource::Whatsapp, file, FIRST.as_bytes()),
    )
    .await;
    assert_eq!(
        (report.name.as_str(), report.added, report.already),
        ("Kitchen", 3, 0)
    );
    let again = imported(
        &ana,
        import(&group, ImportSource::Whatsapp, file, FIRST.as_bytes()),
    )
    .await;
    assert_eq!((again.added, again.already), (0, 3));
    let later = imported(
        &ana,
        import(&group, ImportSource::Whatsapp, file, LATER.as_bytes()),
    )
    .await;
    assert_eq!((later.added, later.already), (2, 3));
    let expected = vec![
        pair("Ana", "ok"),
        pair("Ana", "ok"),
        pair("Ben", "two lines\nsecond line"),
        pair("Ana", "ok"),
        pair("Ben", "happy new year"),
    ];
    assert_eq!(log(&ana, &group, "Kitchen").await, expected);

    // Imported into a channel with live messages, the old ones go first.
    let mut into_general = import(&group, ImportSource::Whatsapp, file, FIRST.as_bytes());
    if let Request::Import { target, .. } = &mut into_general {
        *target = Some("general".into());
    }
    imported(&ana, into_general).await;
    let general = log(&ana, &group, "general").await;
    assert_eq!(general.last(), Some(&pair("Ana", "hello from Plenum")));
    assert_eq!(general.len(), 4);

    sync_all(&mut [&mut ana, &mut bo]).await;
    assert_eq!(log(&bo, &group, "Kitchen").await, expected);
    let ana = ana.restart();
    assert_eq!(log(&ana, &group, "Kitchen").await, expected);
}

#[tokio::test]
async fn a_bad_message_anywhere_imports_nothing() {
    let ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let long = "x".repeat(crate::docs::chat::MAX_MESSAGE_LEN + 1);
    let text = format!("31/12/2021, 20:00 - Ana: fine\n31/12/2021, 20:01 - Ben: {long}\n");
    let err = ana
        .call(import(
            &group,
            ImportSource::Whatsapp,
            "WhatsApp Chat with Big.txt",
            text.as_bytes(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("message 2 (by Ben"), "{}", err.message);
    assert!(
        err.message.contains("nothing was imported"),
        "{}",
        err.message
    );
    let Ok(Response::Channels(channels)) = ana
        .call(Request::ChannelList {
            group: group.to_string(),
        })
        .await
    else {
        panic!("channel list")
    };
    assert_eq!(channels.len(), 1, "no channel was made: {channels:?}");

    let mut missing = import(&group, ImportSource::Whatsapp, "x.txt", FIRST.as_bytes());
    if let Request::Import { target, .. } = &mut missing {
        *target = Some("nope".into());
    }
    let err = ana.call(missing).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(
        err.message.contains("plenum channel create"),
        "{}",
        err.message
    );
}

/// A Trello board of `cards` cards with checklists: thousands of Automerge changes.
fn big_board(cards: usize) -> String {
    let mut card_json = Vec::new();
    let mut checklists = Vec::new();
    for i in 0..cards {
        card_json.push(format!(
            r#"{{"id": "c{i}", "name": "card {i}", "desc": "about {i}", "idList": "l1", "pos": {i}, "idLabels": []}}"#
        ));
        checklists.push(format!(
            r#"{{"id": "k{i}", "idCard": "c{i}", "name": "Checklist", "pos": 1, "checkItems": [
                {{"name": "a", "state": "complete", "pos": 1}}, {{"name": "b", "state": "complete", "pos": 2}},
                {{"name": "c", "state": "complete", "pos": 3}}]}}"#
        ));
    }
    format!(
        r#"{{"name": "Big", "lists": [{{"id": "l1", "name": "To do", "pos": 1}}], "cards": [{}], "checklists": [{}]}}"#,
        card_json.join(","),
        checklists.join(",")
    )
}

#[test]
fn a_burst_is_sealed_in_envelopes_of_at_most_4096_changes_and_about_512_kib() {
    use automerge::transaction::Transactable;
    let mut doc = crate::docs::new_doc(automerge::ActorId::random());
    for i in 0..5000u64 {
        doc.put(automerge::ROOT, "n", i).unwrap();
        doc.commit();
    }
    let mut changes = doc.get_changes(&[]);
    let sizes: Vec<usize> = super::engine::bursts(&mut changes)
        .iter()
        .map(|b| b.len())
        .collect();
    assert_eq!(sizes, [4096, 904]);
    let mut doc = crate::docs::new_doc(automerge::ActorId::random());
    for i in 0..4u64 {
        doc.put(automerge::ROOT, "text", noise(300 * 1024, i))
            .unwrap();
        doc.commit();
    }
    let mut changes = doc.get_changes(&[]);
    let sizes: Vec<usize> = super::engine::bursts(&mut changes)
        .iter()
        .map(|b| b.len())
        .collect();
    assert_eq!(sizes, [1, 1, 1, 1]);
}

/// `len` letters that do not compress, from a seed.
fn noise(len: usize, seed: u64) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'a' + ((x >> 33) % 26) as u8)
        })
        .collect()
}

#[tokio::test]
async fn megabytes_of_imported_text_travel_in_several_envelopes_that_load_and_sync() {
    let mut ana = Device::new("Ana");
    let mut bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join(&ana, &bo, &link).await.expect("Bo joins");
    let mut text = String::new();
    for i in 0..64u64 {
        text.push_str(&format!(
            "01/02/2022, 10:{:02} - Ana: {}\n",
            i % 60,
            noise(60_000, i)
        ));
    }
    ana.take_sent();
    let report = imported(
        &ana,
        import(
            &group,
            ImportSource::Whatsapp,
            "WhatsApp Chat with Big.txt",
            text.as_bytes(),
        ),
    )
    .await;
    assert_eq!(report.added, 64);
    // 3.8 MB of text that does not compress: over 512 KiB per envelope would be
    // fewer than 7 envelopes (the segment's and the directory's included).
    let sealed = ana.take_sent().len();
    assert!(sealed >= 9, "only {sealed} envelopes");
    sync_all(&mut [&mut ana, &mut bo]).await;
    let ana = ana.restart();
    assert_eq!(log(&ana, &group, "Big").await.len(), 64);
    assert_eq!(
        log(&bo, &group, "Big").await,
        log(&ana, &group, "Big").await
    );
}

#[tokio::test]
async fn a_board_of_600_cards_with_checklists_loads_after_a_restart_and_syncs() {
    let mut ana = Device::new("Ana");
    let mut bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join(&ana, &bo, &link).await.expect("Bo joins");
    let board = big_board(600);
    let report = imported(
        &ana,
        import(&group, ImportSource::Trello, "big.json", board.as_bytes()),
    )
    .await;
    assert_eq!(report.added, 600);
    sync_all(&mut [&mut ana, &mut bo]).await;
    let ana = ana.restart();
    for device in [&ana, &bo] {
        let Ok(Response::Board(view)) = device
            .call(Request::BoardShow {
                group: group.to_string(),
                board: "Big".into(),
            })
            .await
        else {
            panic!("board show")
        };
        let cards = &view.board.columns[0].cards;
        assert_eq!(cards.len(), 600);
        assert_eq!(cards[599].title, "card 599");
        assert!(
            cards
                .iter()
                .all(|c| c.checklist.len() == 3 && c.checklist.iter().all(|i| i.done))
        );
    }
}

#[tokio::test]
async fn progress_events_count_up_to_the_total() {
    let ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let mut events = Box::pin(ana.node.events());
    let mut text = String::new();
    for i in 0..2500 {
        text.push_str(&format!(
            "01/02/2022, 10:{:02} - Ana: message {i}\n",
            i % 60
        ));
    }
    imported(
        &ana,
        import(&group, ImportSource::Whatsapp, "big.txt", text.as_bytes()),
    )
    .await;
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        tokio_stream::StreamExt::next(&mut events),
    )
    .await
    {
        if let Event::ImportProgress { done, total, .. } = event {
            seen.push((done, total));
        }
    }
    assert_eq!(seen, [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]);
}

#[tokio::test]
async fn the_export_holds_every_message_card_comment_and_pad_text() {
    let ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    let g = group.to_string();
    imported(
        &ana,
        import(
            &group,
            ImportSource::Whatsapp,
            "WhatsApp Chat with Kitchen.txt",
            LATER.as_bytes(),
        ),
    )
    .await;
    let trello = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/import/trello/board.json"
    ))
    .unwrap();
    imported(
        &ana,
        import(&group, ImportSource::Trello, "board.json", &trello),
    )
    .await;
    let pad = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/import/etherpad/minutes.etherpad"
    ))
    .unwrap();
    imported(
        &ana,
        import(&group, ImportSource::Etherpad, "minutes.etherpad", &pad),
    )
    .await;
    ana.send(&group, "live message").await.unwrap();

    let Ok(Response::Export(export)) = ana.call(Request::Export { group: g.clone() }).await else {
        panic!("export")
    };
    let file = |path: &str| {
        export
            .files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| {
                panic!(
                    "no {path} in {:?}",
                    export.files.iter().map(|f| &f.path).collect::<Vec<_>>()
                )
            })
            .content
            .clone()
    };
    let kitchen = file("chat/Kitchen.md");
    for line in [
        "- [20:00] **Ana (imported, unverified)**: ok",
        "- [20:01] **Ben (imported, unverified)**: two lines\n  second line",
        "## 2022-01-01",
        "- [09:30] **Ben (imported, unverified)**: happy new year",
    ] {
        assert!(kitchen.contains(line), "{line:?} missing from\n{kitchen}");
    }
    assert!(file("chat/general.md").contains("**Ana**: live message"));
    let messages: serde_json::Value = serde_json::from_str(&file("chat/Kitchen.json")).unwrap();
    assert_eq!(messages.as_array().map(Vec::len), Some(5));
    let board = file("boards/Rent-strike.md");
    for line in [
        "## To do\n\n- [ ] Print flyers\n  due 2022-01-15 · labels: green, urgent",
        "  - [x] draft text\n  - [ ] get paper\n  - [ ] Later: distribute",
        "Ana Lima (imported from Trello, unverified): I can print 200",
        "## Archived",
        "- [ ] Old idea",
        "- [ ] Party",
        "Ms. Rivera, tel. 555-0100",
    ] {
        assert!(board.contains(line), "{line:?} missing from\n{board}");
    }
    assert_eq!(
        file("pads/assembly-minutes.md"),
        "Assembly minutes\n\n* rent strike: yes\n* next meeting: Thursday\n"
    );
    let members: serde_json::Value = serde_json::from_str(&file("members.json")).unwrap();
    assert_eq!(members[0]["name"], "Ana");
    let invites = file("invites.json");
    assert!(
        !invites.contains("plenum://"),
        "invite secrets stay out of exports"
    );
    assert!(file("README.md").contains("members.json"));
    let group_json: serde_json::Value = serde_json::from_str(&file("group.json")).unwrap();
    assert_eq!(group_json["name"], "Tenants");
}

#[tokio::test]
async fn a_chat_spanning_years_reaches_other_members() {
    let mut ana = Device::new("Ana");
    let mut bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join(&ana, &bo, &link).await.expect("Bo joins");
    // Twelve years of a monthly message: one segment per month would be 144 new
    // documents at once, past what a member's device accepts from one author in an
    // hour.
    let mut text = String::new();
    for i in 0..144 {
        text.push_str(&format!(
            "01/{:02}/{}, 10:00 - Ana: month {i}\n",
            1 + i % 12,
            2010 + i / 12
        ));
    }
    imported(
        &ana,
        import(
            &group,
            ImportSource::Whatsapp,
            "WhatsApp Chat with Old.txt",
            text.as_bytes(),
        ),
    )
    .await;
    sync_all(&mut [&mut ana, &mut bo]).await;
    assert_eq!(log(&bo, &group, "Old").await.len(), 144);
}
