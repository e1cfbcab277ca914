//! `plenum import` and `plenum export` through the real binary: every fixture format,
//! idempotent re-imports, a round trip through the export, hostile files refused whole
//! with one clear line, and a large import through a running node's local API.

use std::io::Write;
use std::path::{Path, PathBuf};

use plenum_tests::Profile;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/import")
        .join(path)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// (original author, text) of a channel's messages, in display order.
fn log(p: &Profile, group: &str, channel: &str) -> Vec<(String, String)> {
    let log = p.json(&["chat", "log", group, "--channel", channel]);
    log.as_array()
        .expect("array")
        .iter()
        .map(|m| {
            let who = m["imported_author"]
                .as_str()
                .or(m["author_name"].as_str())
                .unwrap_or_default()
                .to_owned();
            (who, m["text"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, t)| ((*a).to_owned(), (*t).to_owned()))
        .collect()
}

fn channels(p: &Profile, group: &str) -> Vec<String> {
    p.json(&["channel", "list", group])
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A zip archive of `(name, bytes)` entries.
fn zip(path: &Path, entries: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).expect("create zip");
    let mut out = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        out.start_file(*name, options).expect("zip entry");
        out.write_all(bytes).expect("zip write");
    }
    out.finish().expect("zip finish");
}

#[test]
fn every_whatsapp_variant_imports_through_the_cli() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    // (fixture, messages) — each fixture's messages are checked one by one in the
    // core's unit tests; here each goes through the binary into its own channel.
    let expected = [
        ("android-us-24h.txt", 4),
        ("ios-de-bracketed.txt", 4),
        ("android-us-12h.txt", 4),
        ("android-es-pm.txt", 4),
        ("android-de-dotted.txt", 3),
        ("ambiguous-day-first.txt", 4),
        ("day-over-12.txt", 3),
        ("ios-en-12h.txt", 4),
        ("year-first.txt", 2),
        ("crlf-bom-duplicates.txt", 3),
        ("arabic-marks.txt", 2),
        ("edited-deleted.txt", 3),
    ];
    for (name, count) in expected {
        let file = fixture(&format!("whatsapp/{name}"));
        let out = p.ok(&[
            "import",
            "whatsapp",
            "Tenants",
            path_str(&file),
            "--utc-offset",
            "+00:00",
        ]);
        assert!(
            out.contains(&format!("Imported {count} messages")),
            "{name}: {out}"
        );
        let channel = name.trim_end_matches(".txt");
        assert_eq!(log(&p, "Tenants", channel).len(), count, "{name}");
    }
    assert_eq!(
        log(&p, "Tenants", "android-us-24h"),
        pairs(&[
            ("Ana", "Meeting on Thursday, 7pm"),
            ("Ben", "Agenda:\n1. rent strike\n2. repairs\n\nbring snacks"),
            ("Ben", "📎 (a file the export left out)"),
            ("+49 151 2345678", "Who is this?"),
        ])
    );
    assert_eq!(
        log(&p, "Tenants", "ios-de-bracketed"),
        pairs(&[
            ("Ana", "Frohes neues Jahr!"),
            ("Ben Müller", "📎 00000012-PHOTO-2022-01-01-00-01-10.jpg"),
            ("Ben Müller", "Das Foto vom Treffen\nund noch eine Zeile"),
            ("Ana", "📎 (a file the export left out)"),
        ])
    );
    // Original times, shown as such and ordering the channel (12:30 AM comes first),
    // and the author as imported (unverified).
    let log12 = p.json(&["chat", "log", "Tenants", "--channel", "android-us-12h"]);
    assert_eq!(log12[0]["sent_at"], "2022-01-02T00:30:00.000Z");
    let first = &log12[1];
    assert_eq!(first["sent_at"], "2022-01-02T15:04:00.000Z");
    assert_eq!(first["imported_author"], "Ana");
    assert_eq!(
        first["author_name"], "Ana",
        "the signer is the importing member"
    );
    // The offset given shifts the times: 15:04 at +02:00 is 13:04 UTC.
    p.ok(&["channel", "create", "Tenants", "shifted"]);
    p.ok(&[
        "import",
        "whatsapp",
        "Tenants",
        path_str(&fixture("whatsapp/android-us-12h.txt")),
        "--channel",
        "shifted",
        "--utc-offset",
        "+02:00",
    ]);
    let first = &p.json(&["chat", "log", "Tenants", "--channel", "shifted"])[1];
    assert_eq!(first["sent_at"], "2022-01-02T13:04:00.000Z");
}

#[test]
fn reimports_add_only_what_is_new_and_keep_identical_messages() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let first = "31/12/2021, 20:00 - Ana: ok\n31/12/2021, 20:00 - Ana: ok\n31/12/2021, 20:01 - Ben: see you\n";
    let longer = format!("{first}02/01/2022, 09:00 - Ben: new one\n02/01/2022, 09:00 - Ana: ok\n");
    let txt = dir.path().join("WhatsApp Chat with Kitchen.txt");
    std::fs::write(&txt, first).expect("write");
    let out = p.ok(&[
        "import",
        "whatsapp",
        "Tenants",
        path_str(&txt),
        "--utc-offset",
        "+00:00",
    ]);
    assert!(out.contains("Imported 3 messages into #Kitchen"), "{out}");
    let out = p.ok(&[
        "import",
        "whatsapp",
        "Tenants",
        path_str(&txt),
        "--utc-offset",
        "+00:00",
    ]);
    assert!(
        out.contains("Imported 0 messages into #Kitchen (3 already imported before)"),
        "{out}"
    );
    // A later export, zipped as WhatsApp does: only the two new messages arrive.
    let archive = dir.path().join("WhatsApp Chat - Kitchen.zip");
    zip(
        &archive,
        &[("_chat.txt", longer.as_bytes()), ("IMG-1.jpg", b"\xff\xd8")],
    );
    let out = p.ok(&[
        "import",
        "whatsapp",
        "Tenants",
        path_str(&archive),
        "--utc-offset",
        "+00:00",
    ]);
    assert!(
        out.contains("Imported 2 messages into #Kitchen (3 already"),
        "{out}"
    );
    assert_eq!(
        log(&p, "Tenants", "Kitchen"),
        pairs(&[
            ("Ana", "ok"),
            ("Ana", "ok"),
            ("Ben", "see you"),
            ("Ben", "new one"),
            ("Ana", "ok"),
        ])
    );
    assert_eq!(channels(&p, "Tenants"), ["general", "Kitchen"]);
}

#[test]
fn telegram_trello_and_etherpad_import_through_the_cli() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    let out = p.ok(&[
        "import",
        "telegram",
        "Tenants",
        path_str(&fixture("telegram/single-chat.json")),
    ]);
    assert!(
        out.contains(
            "Imported 4 messages into #Tenants Union (2 skipped: system lines and deleted messages)"
        ),
        "{out}"
    );
    let messages = p.json(&["chat", "log", "Tenants", "--channel", "Tenants Union"]);
    assert_eq!(
        messages[1]["text"],
        "Agenda: rent strike and repairs, see https://example.org"
    );
    assert_eq!(
        messages[1]["reply_to"], messages[0]["id"],
        "replies keep their target"
    );
    assert_eq!(
        messages[2]["text"],
        "the flyer\n📎 photo_1@01-01-2022_00-01-00.jpg"
    );
    assert_eq!(messages[0]["sent_at"], "2021-12-31T23:59:59.000Z");

    let full = fixture("telegram/full-export.json");
    let err = p.fails(&["import", "telegram", "Tenants", path_str(&full)]);
    assert!(
        err.contains("--chat") && err.contains("Kitchen crew"),
        "{err}"
    );
    p.ok(&[
        "import",
        "telegram",
        "Tenants",
        path_str(&full),
        "--chat",
        "Kitchen crew",
    ]);
    assert_eq!(
        log(&p, "Tenants", "Kitchen crew"),
        pairs(&[("Ben", "who cooks on Friday?"), ("Carla", "I do, again")])
    );

    let out = p.ok(&[
        "import",
        "trello",
        "Tenants",
        path_str(&fixture("trello/board.json")),
    ]);
    assert!(
        out.contains("Imported board Rent strike with 6 cards"),
        "{out}"
    );
    let board = p.json(&["board", "show", "Tenants", "Rent strike"]);
    let columns: Vec<&str> = board["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["title"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(columns, ["To do", "Doing", "Done"]);
    let flyers = &board["columns"][0]["cards"][0];
    assert_eq!(flyers["title"], "Print flyers");
    assert_eq!(flyers["due"], "2022-01-15");
    assert_eq!(flyers["labels"], serde_json::json!(["green", "urgent"]));
    assert_eq!(flyers["checklist"][0]["done"], true);
    assert_eq!(flyers["comments"][0]["at"], "2022-01-10T09:00:00.000Z");
    let archived: Vec<&str> = board["archived"]
        .as_array()
        .expect("archived")
        .iter()
        .map(|c| c["title"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(archived.len(), 2, "{archived:?}");
    p.ok(&[
        "import",
        "trello",
        "Tenants",
        path_str(&fixture("trello/board.json")),
        "--name",
        "Copy",
    ]);
    p.ok(&["board", "show", "Tenants", "Copy"]);

    p.ok(&[
        "import",
        "etherpad",
        "Tenants",
        path_str(&fixture("etherpad/minutes.etherpad")),
    ]);
    assert_eq!(
        p.ok(&["pad", "cat", "Tenants", "assembly-minutes"]),
        "Assembly minutes\n\n* rent strike: yes\n* next meeting: Thursday\n"
    );
    p.ok(&[
        "import",
        "etherpad",
        "Tenants",
        path_str(&fixture("etherpad/demands.md")),
    ]);
    assert!(
        p.ok(&["pad", "cat", "Tenants", "demands"])
            .starts_with("# Our demands\n")
    );
}

#[test]
fn the_export_holds_every_message_card_comment_and_pad() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    p.ok(&["chat", "send", "Tenants", "live hello"]);
    p.ok(&[
        "import",
        "whatsapp",
        "Tenants",
        path_str(&fixture("whatsapp/android-us-24h.txt")),
        "--utc-offset",
        "+00:00",
    ]);
    p.ok(&[
        "import",
        "telegram",
        "Tenants",
        path_str(&fixture("telegram/single-chat.json")),
    ]);
    p.ok(&[
        "import",
        "trello",
        "Tenants",
        path_str(&fixture("trello/board.json")),
    ]);
    p.ok(&[
        "import",
        "etherpad",
        "Tenants",
        path_str(&fixture("etherpad/minutes.etherpad")),
    ]);
    p.ok(&["invite", "create", "Tenants"]);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let dir = out_dir.path().join("export");
    let out = p.ok(&["export", "Tenants", path_str(&dir)]);
    assert!(out.starts_with("Exported "), "{out}");
    let read =
        |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    // Every message of every channel, from the JSON the API gives, is in the
    // transcripts, line by line.
    for channel in channels(&p, "Tenants") {
        let transcript = read(&format!("chat/{}.md", channel.replace(' ', "-")));
        for (_, text) in log(&p, "Tenants", &channel) {
            for line in text.lines() {
                assert!(
                    transcript.contains(line),
                    "{line:?} missing from #{channel}:\n{transcript}"
                );
            }
        }
    }
    assert!(read("chat/general.md").contains("**Ana**: live hello"));
    assert!(
        read("chat/android-us-24h.md")
            .contains("**+49 151 2345678 (imported, unverified)**: Who is this?")
    );
    let board = p.json(&["board", "show", "Tenants", "Rent strike"]);
    let markdown = read("boards/Rent-strike.md");
    let cards = board["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .flat_map(|c| c["cards"].as_array().cloned().unwrap_or_default())
        .chain(board["archived"].as_array().cloned().unwrap_or_default());
    let mut seen = 0;
    for card in cards {
        seen += 1;
        assert!(markdown.contains(&format!(
            "- [ ] {}",
            card["title"].as_str().unwrap_or_default()
        )));
        for comment in card["comments"].as_array().expect("comments") {
            assert!(markdown.contains(comment["text"].as_str().unwrap_or_default()));
        }
        for item in card["checklist"].as_array().expect("checklist") {
            assert!(markdown.contains(item["text"].as_str().unwrap_or_default()));
        }
    }
    assert_eq!(seen, 6);
    assert!(markdown.contains("## To do\n"));
    let board_json: serde_json::Value =
        serde_json::from_str(&read("boards/Rent-strike.json")).expect("json");
    assert_eq!(board_json, {
        let mut b = board.clone();
        if let Some(map) = b.as_object_mut() {
            map.remove("id");
            map.remove("changed");
        }
        b
    });
    assert_eq!(
        read("pads/assembly-minutes.md"),
        p.ok(&["pad", "cat", "Tenants", "assembly-minutes"])
    );
    let members: serde_json::Value = serde_json::from_str(&read("members.json")).expect("json");
    assert_eq!(members[0]["name"], "Ana");
    let invites: serde_json::Value = serde_json::from_str(&read("invites.json")).expect("json");
    assert_eq!(invites.as_array().map(Vec::len), Some(1));
    assert!(
        invites[0]["link"].is_null(),
        "no invite secret in the export"
    );
    assert!(read("README.md").contains("boards/NAME.md"));
    let group: serde_json::Value = serde_json::from_str(&read("group.json")).expect("json");
    assert_eq!(group["name"], "Tenants");
}

/// Asserts an import failed with one clear line containing `needle`, and that it left
/// the group as it was.
fn refused(p: &Profile, args: &[&str], needle: &str) {
    let before = (
        channels(p, "Tenants"),
        p.json(&["board", "list", "Tenants"]),
        p.json(&["pad", "list", "Tenants"]),
    );
    let err = p.fails(args);
    assert!(err.contains(needle), "{args:?}: {err}");
    let after = (
        channels(p, "Tenants"),
        p.json(&["board", "list", "Tenants"]),
        p.json(&["pad", "list", "Tenants"]),
    );
    assert_eq!(before, after, "{args:?} left something behind");
}

#[test]
fn hostile_files_are_refused_whole_with_one_clear_line() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name);

    // Truncated JSON.
    for (kind, file) in [
        ("telegram", "telegram/single-chat.json"),
        ("trello", "trello/board.json"),
    ] {
        let bytes = std::fs::read(fixture(file)).expect("fixture");
        let cut = at(&format!("cut-{kind}.json"));
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
        refused(
            &p,
            &["import", kind, "Tenants", path_str(&cut)],
            "EOF while parsing",
        );
    }

    // A 1 GB line: a sparse file, refused by its size before it is read.
    let huge = at("WhatsApp Chat with Huge.txt");
    {
        let mut f = std::fs::File::create(&huge).expect("create");
        f.write_all(b"31/12/2021, 20:00 - Ana: ").expect("write");
        f.set_len(1 << 30).expect("sparse 1 GB");
    }
    refused(
        &p,
        &["import", "whatsapp", "Tenants", path_str(&huge)],
        "imports take at most",
    );
    // A 2 MiB line inside the size limit: refused by the line limit.
    let long = at("WhatsApp Chat with Long.txt");
    let mut text = b"31/12/2021, 20:00 - Ana: ok\n31/12/2021, 20:01 - Ana: ".to_vec();
    text.resize(text.len() + 2 * 1024 * 1024, b'a');
    std::fs::write(&long, &text).expect("write");
    refused(
        &p,
        &["import", "whatsapp", "Tenants", path_str(&long)],
        "line 2 is longer than",
    );

    // A zip bomb: 200 MiB of zeros in a small archive, written as it is deflated.
    let bomb = at("bomb.zip");
    {
        let file = std::fs::File::create(&bomb).expect("create");
        let mut out = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        out.start_file("_chat.txt", options).expect("entry");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..200 {
            out.write_all(&chunk).expect("write");
        }
        out.finish().expect("finish");
    }
    assert!(std::fs::metadata(&bomb).expect("bomb").len() < 1 << 20);
    refused(
        &p,
        &["import", "whatsapp", "Tenants", path_str(&bomb)],
        "file inside the zip archive",
    );

    // Zip slip: an entry that climbs out of the archive, next to a good chat.
    let chat = std::fs::read(fixture("whatsapp/ios-en-12h.txt")).expect("fixture");
    for evil in ["../../evil.sh", "/etc/cron.d/evil"] {
        let slip = at("slip.zip");
        zip(&slip, &[("_chat.txt", &chat), (evil, b"#!/bin/sh\n")]);
        refused(
            &p,
            &["import", "whatsapp", "Tenants", path_str(&slip)],
            "outside the archive",
        );
    }
    assert!(!dir.path().join("../../evil.sh").exists());

    // Invalid UTF-8, in a text export and in a pad.
    let latin1 = at("WhatsApp Chat with Latin.txt");
    std::fs::write(
        &latin1,
        b"31/12/2021, 20:00 - Ana: ok\n31/12/2021, 20:01 - Jos\xe9: ol\xe1\n",
    )
    .expect("write");
    refused(
        &p,
        &["import", "whatsapp", "Tenants", path_str(&latin1)],
        "line 2 is not UTF-8",
    );
    let pad = at("notes.md");
    std::fs::write(&pad, b"# Notes\n\xff\xfe\n").expect("write");
    refused(
        &p,
        &["import", "etherpad", "Tenants", path_str(&pad)],
        "line 2 is not UTF-8",
    );

    // A message over the message limit anywhere: nothing of the file is imported.
    let big = at("WhatsApp Chat with Big.txt");
    let mut text = b"31/12/2021, 20:00 - Ana: fine\n31/12/2021, 20:01 - Ben: ".to_vec();
    text.resize(text.len() + 70 * 1024, b'b');
    std::fs::write(&big, &text).expect("write");
    refused(
        &p,
        &["import", "whatsapp", "Tenants", path_str(&big)],
        "nothing was imported",
    );

    // Not an export at all, a missing group, a missing channel.
    refused(
        &p,
        &[
            "import",
            "trello",
            "Tenants",
            path_str(&fixture("whatsapp/year-first.txt")),
        ],
        "not a readable Trello",
    );
    let err = p.fails(&[
        "import",
        "whatsapp",
        "Nope",
        path_str(&fixture("whatsapp/year-first.txt")),
    ]);
    assert!(err.contains("no group `Nope`"), "{err}");
    refused(
        &p,
        &[
            "import",
            "whatsapp",
            "Tenants",
            path_str(&fixture("whatsapp/year-first.txt")),
            "--channel",
            "nope",
        ],
        "plenum channel create",
    );
    assert_eq!(
        p.json(&["chat", "log", "Tenants"]).as_array().map(Vec::len),
        Some(0)
    );
}

#[test]
fn a_large_import_goes_through_a_running_node() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    let mut node = p.up(&[]);
    // 20 MB of JSON (mostly whitespace): over the 16 MiB of an ordinary request once
    // base64-encoded, under the import limit.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("result.json");
    let mut json = String::from(r#"{"name": "Big chat", "messages": ["#);
    for i in 0..200 {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            r#"{{"id": {i}, "type": "message", "date_unixtime": "{}", "from": "Ana", "text": "message {i}"}}"#,
            1_640_995_200 + i * 60
        ));
        json.push_str(&" ".repeat(100_000));
    }
    json.push_str("]}");
    std::fs::write(&file, &json).expect("write");
    let out = p.ok(&["import", "telegram", "Tenants", path_str(&file)]);
    assert!(
        out.contains("Imported 200 messages into #Big chat"),
        "{out}"
    );
    let log = log(&p, "Tenants", "Big chat");
    assert_eq!(log.len(), 200);
    assert_eq!(log[199].1, "message 199");
    // Ordinary requests keep the 16 MiB limit.
    let text = "x".repeat(17 * 1024 * 1024);
    let body = format!(r#"{{"type": "chat_send", "group": "Tenants", "text": "{text}"}}"#);
    let answer = node.request("POST", "/api/call", Some(&body));
    assert!(answer.body.contains("too_large"), "{}", answer.status);
    assert_eq!(node.interrupt(), Some(0));
}
