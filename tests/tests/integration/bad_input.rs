//! Bad input gets one helpful line and exit code 1; nothing is lost and nothing panics.

use plenum_tests::{Profile, assert_one_line_error};

#[test]
fn unknown_things_and_empty_messages() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants union"]);
    p.ok(&["chat", "send", "Tenants union", "hello"]);

    let err = p.fails(&["chat", "send", "No such group", "hi"]);
    assert!(
        err.contains("no group `No such group`") && err.contains("plenum group list"),
        "{err}"
    );

    let err = p.fails(&["chat", "send", "Tenants union", "   "]);
    assert!(err.contains("empty"), "{err}");

    let err = p.fails(&["chat", "edit", "Tenants union", "0123456789abcdef", "x"]);
    assert!(err.contains("no message `0123456789abcdef`"), "{err}");
    let err = p.fails(&["chat", "delete", "Tenants union", "ffff"]);
    assert!(err.contains("no message"), "{err}");

    let err = p.fails(&["chat", "send", "Tenants union", "hi", "--channel", "nope"]);
    assert!(err.contains("no channel `nope`"), "{err}");
    let err = p.fails(&["pad", "cat", "Tenants union", "Nothing"]);
    assert!(err.contains("no pad `Nothing`"), "{err}");
    let err = p.fails(&["board", "show", "Tenants union", "Nothing"]);
    assert!(err.contains("no board `Nothing`"), "{err}");
    p.ok(&["board", "create", "Tenants union", "Actions"]);
    p.ok(&[
        "board",
        "column",
        "add",
        "Tenants union",
        "Actions",
        "To do",
    ]);
    p.ok(&[
        "board",
        "card",
        "add",
        "Tenants union",
        "Actions",
        "To do",
        "Flyers",
    ]);
    let err = p.fails(&[
        "board",
        "card",
        "edit",
        "Tenants union",
        "Actions",
        "Flyers",
        "--due",
        "next week",
    ]);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let err = p.fails(&["group", "create", ""]);
    assert!(err.contains("empty"), "{err}");

    // Nothing was lost along the way.
    let log = p.json(&["chat", "log", "Tenants union"]);
    assert_eq!(log[0]["text"], "hello");

    // Usage errors are clap's: exit code 2.
    assert_eq!(p.run(&["chat", "send"]).code, Some(2));
    assert_eq!(p.run(&["frobnicate"]).code, Some(2));
}

#[test]
fn init_twice_and_no_profile() {
    let p = Profile::new("Ana");
    let err = p.fails(&["init", "--name", "Ana", "--no-passphrase"]);
    assert!(err.contains("already exists"), "{err}");
    p.ok(&["group", "list"]);

    let empty = Profile::empty();
    let err = empty.fails(&["group", "list"]);
    assert!(err.contains("plenum init"), "{err}");
}

#[test]
fn wrong_passphrase() {
    let p = Profile::empty();
    let mut init = p.command(&["init", "--name", "Ana", "--kdf-ms", "50"]);
    init.env("PLENUM_PASSPHRASE", "right");
    assert!(init.output().expect("init").status.success());
    let mut list = p.command(&["group", "list"]);
    list.env("PLENUM_PASSPHRASE", "wrong");
    let run = list.output().expect("run").into();
    assert_one_line_error(&run, &["group", "list"]);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    // No terminal and no passphrase: say how to give one.
    let err = p.fails(&["group", "list"]);
    assert!(err.contains("--passphrase-fd"), "{err}");
}

#[test]
fn damaged_database_files() {
    for damage in ["truncate", "garbage", "empty"] {
        let p = Profile::new("Ana");
        p.ok(&["group", "create", "Tenants union"]);
        p.ok(&["chat", "send", "Tenants union", "hello"]);
        let db = p.data.join("plenum.redb");
        let bytes = std::fs::read(&db).expect("read db");
        let damaged = match damage {
            "truncate" => bytes[..bytes.len() / 3].to_vec(),
            "garbage" => bytes
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ (i as u8 | 1))
                .collect(),
            _ => Vec::new(),
        };
        std::fs::write(&db, damaged).expect("write db");
        let err = p.fails(&["chat", "log", "Tenants union"]);
        assert!(
            err.contains("damaged") || err.contains("corrupt"),
            "{damage}: {err}"
        );
    }
}
