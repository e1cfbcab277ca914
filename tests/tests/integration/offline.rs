//! One person using Plenum offline from the command line: everything made in one
//! process is there, intact, in the next.

use plenum_tests::Profile;

#[test]
fn chat_pad_and_board_survive_restarts() {
    let p = Profile::new("Ana");
    let group = p
        .ok(&["group", "create", "Tenants union"])
        .trim()
        .to_owned();
    assert_eq!(group.len(), 64, "group create prints the id: {group}");

    // Chat: send, reply, edit, react, delete, across separate processes.
    let first = p
        .ok(&["chat", "send", "Tenants union", "Meeting Thursday 7pm"])
        .trim()
        .to_owned();
    let second = p
        .ok(&[
            "chat",
            "send",
            &group,
            "Bring flyers",
            "--reply-to",
            &first[..8],
        ])
        .trim()
        .to_owned();
    p.ok(&[
        "chat",
        "edit",
        "tenants union",
        &second,
        "Bring flyers and tape",
    ]);
    p.ok(&["chat", "react", "Tenants union", &first, "👍"]);
    let third = p
        .ok(&["chat", "send", "Tenants union", "oops, wrong group"])
        .trim()
        .to_owned();
    p.ok(&["chat", "delete", "Tenants union", &third]);

    let log = p.json(&["chat", "log", "Tenants union"]);
    let messages = log.as_array().expect("array of messages");
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["id"], first.as_str());
    assert_eq!(messages[0]["text"], "Meeting Thursday 7pm");
    assert_eq!(messages[0]["author_name"], "Ana");
    assert!(
        messages[0]["sent_at"]
            .as_str()
            .expect("sent_at")
            .ends_with('Z'),
        "RFC 3339 UTC"
    );
    assert_eq!(
        messages[0]["reactions"]["👍"]
            .as_array()
            .expect("reactors")
            .len(),
        1
    );
    assert_eq!(messages[1]["reply_to"], first.as_str());
    assert_eq!(messages[1]["text"], "Bring flyers and tape");
    assert_eq!(messages[1]["edited"], true);
    assert_eq!(messages[2]["deleted"], true);
    assert_eq!(
        messages[2]["text"], "",
        "a message deleted for everyone keeps no text"
    );
    let human = p.ok(&["chat", "log", "Tenants union"]);
    assert!(
        human.contains("Ana") && human.contains("Bring flyers and tape (edited)"),
        "{human}"
    );

    // Channels.
    p.ok(&["channel", "create", "Tenants union", "logistics"]);
    p.ok(&[
        "chat",
        "send",
        "Tenants union",
        "Van booked",
        "--channel",
        "logistics",
    ]);
    let logistics = p.json(&["chat", "log", "Tenants union", "--channel", "logistics"]);
    assert_eq!(logistics.as_array().expect("messages").len(), 1);
    assert_eq!(
        p.json(&["chat", "log", "Tenants union"])
            .as_array()
            .expect("messages")
            .len(),
        3
    );

    // Pad: write from stdin, read back exactly.
    p.ok(&["pad", "create", "Tenants union", "Minutes"]);
    let text = "# Minutes\n\n- rent strike vote: yes\n- naïve café ✊🏽\n";
    let run = p.run_with_stdin(&["pad", "write", "Tenants union", "Minutes"], text);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(p.ok(&["pad", "cat", "Tenants union", "Minutes"]), text);
    let edited = text.replace("yes", "yes (12 for, 2 against)");
    p.run_with_stdin(&["pad", "write", "Tenants union", "minutes"], &edited);
    assert_eq!(p.ok(&["pad", "cat", "Tenants union", "Minutes"]), edited);

    // Board: columns, cards, moves, edits, comments, checklist, archive.
    p.ok(&["board", "create", "Tenants union", "Actions"]);
    p.ok(&[
        "board",
        "column",
        "add",
        "Tenants union",
        "Actions",
        "To do",
    ]);
    p.ok(&["board", "column", "add", "Tenants union", "Actions", "Done"]);
    p.ok(&[
        "board",
        "card",
        "add",
        "Tenants union",
        "Actions",
        "To do",
        "Print flyers",
    ]);
    p.ok(&[
        "board",
        "card",
        "add",
        "Tenants union",
        "Actions",
        "To do",
        "Book room",
    ]);
    p.ok(&[
        "board",
        "card",
        "add",
        "Tenants union",
        "Actions",
        "To do",
        "Call landlord",
    ]);
    p.ok(&[
        "board",
        "card",
        "move",
        "Tenants union",
        "Actions",
        "Call landlord",
        "To do",
        "--index",
        "0",
    ]);
    p.ok(&[
        "board",
        "card",
        "move",
        "Tenants union",
        "Actions",
        "Book room",
        "Done",
    ]);
    p.ok(&[
        "board",
        "card",
        "edit",
        "Tenants union",
        "Actions",
        "Print flyers",
        "--due",
        "2026-12-01",
        "--label",
        "outreach",
        "--assign",
        "Ana",
        "--description",
        "200 copies",
    ]);
    p.ok(&[
        "board",
        "card",
        "comment",
        "Tenants union",
        "Actions",
        "Print flyers",
        "Copy shop opens at 9",
    ]);
    p.ok(&[
        "board",
        "card",
        "checklist",
        "Tenants union",
        "Actions",
        "Print flyers",
        "Design",
    ]);
    p.ok(&[
        "board",
        "card",
        "check",
        "Tenants union",
        "Actions",
        "Print flyers",
        "Design",
    ]);
    p.ok(&[
        "board",
        "card",
        "add",
        "Tenants union",
        "Actions",
        "Done",
        "Old task",
    ]);
    p.ok(&[
        "board",
        "card",
        "archive",
        "Tenants union",
        "Actions",
        "Old task",
    ]);

    let board = p.json(&["board", "show", "Tenants union", "Actions"]);
    let columns = board["columns"].as_array().expect("columns");
    let titles = |i: usize| -> Vec<String> {
        columns[i]["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .map(|c| c["title"].as_str().expect("title").to_owned())
            .collect()
    };
    assert_eq!(columns[0]["title"], "To do");
    assert_eq!(titles(0), ["Call landlord", "Print flyers"]);
    assert_eq!(titles(1), ["Book room"]);
    let flyers = &columns[0]["cards"][1];
    assert_eq!(flyers["due"], "2026-12-01");
    assert_eq!(flyers["labels"][0], "outreach");
    assert_eq!(flyers["description"], "200 copies");
    assert_eq!(flyers["assignees"].as_array().expect("assignees").len(), 1);
    assert_eq!(flyers["comments"][0]["text"], "Copy shop opens at 9");
    assert_eq!(flyers["checklist"][0]["done"], true);
    assert_eq!(board["archived"][0]["title"], "Old task");

    // Listing.
    let groups = p.json(&["group", "list"]);
    assert_eq!(groups[0]["name"], "Tenants union");
    assert_eq!(groups[0]["id"], group.as_str());
    let members = p.json(&["member", "list", "Tenants union"]);
    assert_eq!(members[0]["name"], "Ana");
    assert_eq!(members[0]["role"], "admin");
}

#[test]
fn a_long_chat_pages_back_from_the_latest_messages() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants union"]);
    let ids: Vec<String> = (1..=7)
        .map(|n| {
            p.ok(&["chat", "send", "Tenants union", &format!("message {n}")])
                .trim()
                .to_owned()
        })
        .collect();
    let texts = |log: serde_json::Value| -> Vec<String> {
        log.as_array()
            .expect("messages")
            .iter()
            .map(|m| m["text"].as_str().expect("text").to_owned())
            .collect()
    };
    let latest = p.json(&["chat", "log", "Tenants union", "--last", "3"]);
    assert_eq!(texts(latest), ["message 5", "message 6", "message 7"]);
    // The page before the oldest one shown, by an id prefix.
    let earlier = p.json(&[
        "chat",
        "log",
        "Tenants union",
        "--last",
        "3",
        "--before",
        &ids[4][..8],
    ]);
    assert_eq!(texts(earlier), ["message 2", "message 3", "message 4"]);
    let first = p.json(&["chat", "log", "Tenants union", "--before", &ids[1]]);
    assert_eq!(texts(first), ["message 1"]);
    let err = p.fails(&["chat", "log", "Tenants union", "--before", "ffffffff"]);
    assert!(err.contains("no message"), "{err}");
}

#[test]
fn groups_channels_pads_and_boards_can_be_renamed() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants union"]);
    p.ok(&["pad", "create", "Tenants union", "Minutes"]);
    p.ok(&["board", "create", "Tenants union", "Actions"]);
    p.ok(&["channel", "create", "Tenants union", "flyers"]);
    assert_eq!(
        p.ok(&[
            "group",
            "rename",
            "Tenants union",
            "Tenants union of Elm St"
        ])
        .trim(),
        "Renamed."
    );
    p.ok(&[
        "channel",
        "rename",
        "Tenants union of Elm St",
        "flyers",
        "print",
    ]);
    p.ok(&[
        "pad",
        "rename",
        "Tenants union of Elm St",
        "Minutes",
        "Notes",
    ]);
    p.ok(&[
        "board",
        "rename",
        "Tenants union of Elm St",
        "Actions",
        "To do",
    ]);
    let names = |args: &[&str]| -> Vec<String> {
        p.json(args)
            .as_array()
            .expect("a list")
            .iter()
            .map(|item| item["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(names(&["group", "list"]), ["Tenants union of Elm St"]);
    assert_eq!(
        names(&["channel", "list", "Tenants union of Elm St"]),
        ["general", "print"]
    );
    assert_eq!(
        names(&["pad", "list", "Tenants union of Elm St"]),
        ["Notes"]
    );
    assert_eq!(
        names(&["board", "list", "Tenants union of Elm St"]),
        ["To do"]
    );
    let err = p.fails(&[
        "channel",
        "rename",
        "Tenants union of Elm St",
        "print",
        "General",
    ]);
    assert!(err.contains("already exists"), "{err}");
    let err = p.fails(&["pad", "rename", "Tenants union of Elm St", "Minutes", "x"]);
    assert!(err.contains("no pad"), "{err}");
}

#[test]
fn a_passphrase_profile_unlocks_from_env_and_fd() {
    let p = Profile::empty();
    let mut init = p.command(&["init", "--name", "Bo", "--kdf-ms", "50"]);
    init.env("PLENUM_PASSPHRASE", "correct horse battery staple");
    let out = init.output().expect("run init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut create = p.command(&["group", "create", "Food not bombs"]);
    create.env("PLENUM_PASSPHRASE", "correct horse battery staple");
    assert!(create.output().expect("run").status.success());

    // --passphrase-fd: the passphrase arrives on file descriptor 0 (stdin).
    let run = p.run_with_stdin(
        &["--passphrase-fd", "0", "group", "list"],
        "correct horse battery staple\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("Food not bombs"));
}
