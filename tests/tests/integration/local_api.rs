//! `plenum up` and the local API: node.json, commands attaching to the running node,
//! the token / Host / Origin checks, the ordered WebSocket with events, Ctrl-C, stale
//! node.json files, locked and empty profiles.

use futures_util::{SinkExt, StreamExt};
use plenum_tests::{Profile, RunningNode, WAIT, assert_one_line_error, http};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const PASSPHRASE: &str = "correct horse battery staple";

#[test]
fn node_json_is_private_and_says_where_the_api_is() {
    let p = Profile::new("Ana");
    let node = p.up(&[]);
    let path = p.data.join("node.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("node.json")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "node.json holds the token");
    }
    let file = node.node_file();
    assert_eq!(file["pid"], node.pid());
    assert_eq!(file["api"], node.api.as_str());
    let token = file["token"].as_str().expect("token");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    let listen = file["listen"].as_array().expect("listen addresses");
    assert_eq!(listen.len(), 1, "one per --listen: {listen:?}");
    let address = listen[0].as_str().expect("a multiaddr");
    assert!(
        address.starts_with("/ip4/127.0.0.1/tcp/") && address.contains("/p2p/12D3"),
        "the network's address with its PeerId: {address}"
    );

    let health = node.request("GET", "/api/health", None);
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(
        health.json(),
        json!({"state": "running", "pid": node.pid()})
    );
    assert_eq!(health.header("cache-control"), Some("no-store"));
}

#[test]
fn commands_attach_to_the_running_node_and_the_data_stays() {
    let p = Profile::new("Ana");
    let mut node = p.up(&[]);
    // The node holds the store: these only work because they go through its API.
    let group = p
        .ok(&["group", "create", "Tenants union"])
        .trim()
        .to_owned();
    assert_eq!(group.len(), 64, "prints the id as offline: {group}");
    let id = p
        .ok(&["chat", "send", "Tenants union", "Meeting Thursday 7pm"])
        .trim()
        .to_owned();
    let log = p.json(&["chat", "log", "Tenants union"]);
    assert_eq!(log[0]["id"], id.as_str());
    assert_eq!(log[0]["text"], "Meeting Thursday 7pm");
    let human = p.ok(&["chat", "log", "Tenants union"]);
    assert!(human.contains("Ana: Meeting Thursday 7pm"), "{human}");
    // Errors read the same as offline, one line.
    let err = p.fails(&["chat", "log", "No such group"]);
    assert!(err.contains("No such group"), "{err}");

    assert_eq!(node.interrupt(), Some(0), "Ctrl-C is a clean stop");
    assert!(!p.data.join("node.json").exists(), "node.json is removed");
    // Offline again: the store opens directly and everything is there.
    let log = p.json(&["chat", "log", "Tenants union"]);
    assert_eq!(log[0]["text"], "Meeting Thursday 7pm");
}

#[test]
fn requests_need_the_token_and_this_host() {
    let p = Profile::new("Ana");
    let node = p.up(&[]);
    let host = node.api.clone();
    let list = r#"{"type":"group_list"}"#;

    let none = http(
        &node.api,
        "POST",
        "/api/call",
        &[("Host", &host)],
        Some(list),
    );
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(none.json()["error"]["kind"], "unauthorized");
    assert_eq!(none.header("cache-control"), Some("no-store"));

    let wrong = format!("Bearer {}", "0".repeat(64));
    let bad = http(
        &node.api,
        "POST",
        "/api/call",
        &[("Host", &host), ("Authorization", &wrong)],
        Some(list),
    );
    assert_eq!(bad.status, 401, "{bad:?}");

    // A page at evil.example rebinding its name to 127.0.0.1 sends its own Host.
    let auth = format!("Bearer {}", node.token());
    let port = node.api.rsplit(':').next().expect("port");
    let rebound = format!("evil.example:{port}");
    let rebind = http(
        &node.api,
        "POST",
        "/api/call",
        &[("Host", &rebound), ("Authorization", &auth)],
        Some(list),
    );
    assert_eq!(rebind.status, 403, "{rebind:?}");
    assert_eq!(rebind.header("cache-control"), Some("no-store"));

    let localhost = format!("localhost:{port}");
    let good = http(
        &node.api,
        "POST",
        "/api/call",
        &[("Host", &localhost), ("Authorization", &auth)],
        Some(r#"{"type":"group_create","name":"Food not bombs"}"#),
    );
    assert_eq!(good.status, 200, "{good:?}");
    assert_eq!(good.json()["type"], "group");
    assert_eq!(good.json()["data"]["name"], "Food not bombs");
    assert_eq!(good.header("cache-control"), Some("no-store"));

    // Bad JSON and a failing request: tagged errors, and the node keeps running.
    let garbage = node.request("POST", "/api/call", Some(r#"{"type":"#));
    assert_eq!(garbage.status, 400, "{garbage:?}");
    assert_eq!(garbage.json()["error"]["kind"], "bad_request");
    let missing = node.request(
        "POST",
        "/api/call",
        Some(r#"{"type":"chat_log","group":"nope","channel":null}"#),
    );
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.json()["error"]["kind"], "not_found");
    assert!(p.ok(&["group", "list"]).contains("Food not bombs"));
}

fn ws_request(
    node: &RunningNode,
    origin: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("ws://{}/api/ws?token={}", node.api, node.token());
    let mut request = url.into_client_request().expect("ws request");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).expect("origin"));
    }
    request
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a WebSocket message within the wait")
            .expect("the socket stays open")
            .expect("a readable message");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON message");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_answers_in_order_and_pushes_events() {
    let p = Profile::new("Ana");
    let mut node = p.up(&[]);

    // A page from elsewhere may not open the socket.
    let refused = tokio_tungstenite::connect_async(ws_request(&node, Some("http://evil.example")))
        .await
        .expect_err("a foreign Origin is refused");
    match refused {
        WsError::Http(response) => assert_eq!(response.status().as_u16(), 403),
        other => panic!("expected a 403, got {other}"),
    }
    // Without the token neither.
    let url = format!("ws://{}/api/ws", node.api);
    match tokio_tungstenite::connect_async(url).await {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }

    let origin = format!("http://{}", node.api);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_request(&node, Some(&origin)))
        .await
        .expect("this server's own Origin is accepted");

    // Pipelined: each depends on the one before being applied first.
    let burst = [
        json!({"id": 1, "request": {"type": "group_create", "name": "Tenants union"}}),
        json!({"id": 2, "request": {"type": "chat_send", "group": "Tenants union", "channel": null, "text": "one", "reply_to": null}}),
        json!({"id": 3, "request": {"type": "no_such_request"}}),
        json!({"id": 4, "request": {"type": "chat_send", "group": "Tenants union", "channel": null, "text": "two", "reply_to": null}}),
        json!({"id": 5, "request": {"type": "chat_log", "group": "Tenants union", "channel": null}}),
    ];
    for message in &burst {
        socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }
    let mut answers = Vec::new();
    while answers.len() < burst.len() {
        let message = next_json(&mut socket).await;
        if message.get("id").is_some() {
            answers.push(message);
        }
    }
    let ids: Vec<_> = answers.iter().map(|a| a["id"].as_u64()).collect();
    assert_eq!(
        ids,
        [Some(1), Some(2), Some(3), Some(4), Some(5)],
        "{answers:#?}"
    );
    assert_eq!(answers[0]["response"]["data"]["name"], "Tenants union");
    assert_eq!(answers[1]["response"]["data"]["text"], "one");
    assert_eq!(answers[2]["error"]["kind"], "bad_request", "{}", answers[2]);
    let log = answers[4]["response"]["data"].as_array().expect("messages");
    let texts: Vec<_> = log.iter().map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, [Some("one"), Some("two")]);

    // Another client (the CLI) sends a message: the socket hears of it.
    let mut command = p.command(&["chat", "send", "Tenants union", "from the CLI"]);
    let cli = tokio::task::spawn_blocking(move || command.output().expect("run plenum"));
    let out = cli.await.expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    loop {
        let message = next_json(&mut socket).await;
        let event = &message["event"];
        if event["type"] == "message" && event["message"]["text"] == "from the CLI" {
            assert_eq!(event["message"]["author_name"], "Ana");
            break;
        }
    }

    // The socket is still good after all that.
    socket
        .send(Message::text(
            json!({"id": 6, "request": {"type": "group_list"}}).to_string(),
        ))
        .await
        .expect("send");
    loop {
        let message = next_json(&mut socket).await;
        if message["id"] == 6 {
            assert_eq!(message["response"]["type"], "groups");
            break;
        }
    }

    // Ctrl-C with a client connected: the node still stops cleanly and closes it.
    let code = tokio::task::spawn_blocking(move || {
        let code = node.interrupt();
        (code, node)
    })
    .await
    .expect("join");
    assert_eq!(code.0, Some(0), "stderr: {}", code.1.stderr());
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(Ok(message)) = socket.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket is closed when the node stops");
    assert!(!p.data.join("node.json").exists());
}

#[test]
fn a_stale_node_json_is_ignored() {
    let p = Profile::new("Ana");
    // A node that crashed: its process is gone.
    let mut gone = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let dead = gone.id();
    gone.wait().expect("wait");
    let stale = json!({"pid": dead, "api": "127.0.0.1:9", "token": "0".repeat(64), "listen": []});
    std::fs::write(p.data.join("node.json"), stale.to_string()).expect("write node.json");
    p.ok(&["group", "create", "Tenants union"]);
    // A live process that does not answer (this test): also stale.
    let stale = json!({"pid": std::process::id(), "api": "127.0.0.1:9", "token": "0".repeat(64), "listen": []});
    std::fs::write(p.data.join("node.json"), stale.to_string()).expect("write node.json");
    assert!(p.ok(&["group", "list"]).contains("Tenants union"));
    // And `up` replaces it.
    let node = p.up(&[]);
    assert_eq!(node.node_file()["pid"], node.pid());
    assert!(p.ok(&["group", "list"]).contains("Tenants union"));
}

#[test]
fn a_locked_node_waits_for_plenum_unlock() {
    let p = Profile::empty();
    let mut init = p.command(&["init", "--name", "Bo", "--kdf-ms", "50"]);
    init.env("PLENUM_PASSPHRASE", PASSPHRASE);
    assert!(init.output().expect("run init").status.success());

    let node = p.up(&[]);
    let health = node.request("GET", "/api/health", None);
    assert_eq!(health.json()["state"], "locked");
    let err = p.fails(&["group", "list"]);
    assert!(
        err.contains("the running node is locked: run `plenum unlock`"),
        "{err}"
    );

    let wrong = p.run_with_stdin(&["--passphrase-fd", "0", "unlock"], "wrong\n");
    assert_one_line_error(&wrong, &["unlock"]);
    assert!(
        wrong.stderr.contains("wrong passphrase"),
        "{}",
        wrong.stderr
    );
    assert!(p.fails(&["group", "list"]).contains("locked"));

    let right = p.run_with_stdin(
        &["--passphrase-fd", "0", "unlock"],
        &format!("{PASSPHRASE}\n"),
    );
    assert_eq!(right.code, Some(0), "{}", right.stderr);
    assert_eq!(
        node.request("GET", "/api/health", None).json()["state"],
        "running"
    );
    p.ok(&["group", "create", "Food not bombs"]);
    assert!(p.ok(&["group", "list"]).contains("Food not bombs"));
    assert!(p.ok(&["unlock"]).contains("already unlocked"));
}

#[test]
fn a_passphrase_from_the_environment_unlocks_at_start() {
    let p = Profile::empty();
    let mut init = p.command(&["init", "--name", "Bo", "--kdf-ms", "50"]);
    init.env("PLENUM_PASSPHRASE", PASSPHRASE);
    assert!(init.output().expect("run init").status.success());
    let node = p.up_with(&[], |cmd| {
        cmd.env("PLENUM_PASSPHRASE", PASSPHRASE);
    });
    assert_eq!(
        node.request("GET", "/api/health", None).json()["state"],
        "running"
    );
    p.ok(&["group", "create", "Food not bombs"]);
}

#[test]
fn init_goes_through_a_node_running_on_an_empty_directory() {
    let p = Profile::empty();
    let mut node = p.up(&[]);
    assert_eq!(
        node.request("GET", "/api/health", None).json()["state"],
        "empty"
    );
    let err = p.fails(&["group", "list"]);
    assert!(
        err.contains("no profile") && err.contains("plenum init"),
        "{err}"
    );

    let out = p.ok(&["init", "--name", "Ana", "--no-passphrase"]);
    assert!(out.contains("Created a profile for Ana"), "{out}");
    assert_eq!(
        node.request("GET", "/api/health", None).json()["state"],
        "running"
    );
    let again = p.fails(&["init", "--name", "Ana", "--no-passphrase"]);
    assert!(again.contains("already exists"), "{again}");
    p.ok(&["group", "create", "Tenants union"]);

    assert_eq!(node.interrupt(), Some(0));
    assert_eq!(p.json(&["profile"])["name"], "Ana");
    assert!(p.ok(&["group", "list"]).contains("Tenants union"));
}

#[test]
fn one_node_per_data_directory() {
    let p = Profile::new("Ana");
    let node = p.up(&[]);
    let second = p.run(&["up", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    assert_one_line_error(&second, &["up"]);
    assert!(
        second.stderr.contains(&format!("pid {}", node.pid())),
        "names the running node: {}",
        second.stderr
    );
    // The first one is unharmed.
    p.ok(&["group", "list"]);
}

#[test]
fn the_api_listens_on_loopback_only_and_unlock_needs_a_node() {
    let p = Profile::new("Ana");
    let run = p.run(&[
        "up",
        "--no-mdns",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--ui",
        "0.0.0.0:0",
    ]);
    assert_one_line_error(&run, &["up", "--ui"]);
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
    assert!(!p.data.join("node.json").exists());

    let err = p.fails(&["unlock"]);
    assert!(err.contains("nothing to unlock"), "{err}");
}

#[test]
fn the_ui_is_served_to_this_host_and_its_link_carries_the_token() {
    let p = Profile::new("Ana");
    let mut node = p.up(&[]);
    let ui = node.wait_for_line("ui: ");
    let token = node.token();
    assert_eq!(
        ui,
        format!("ui: http://{}/#token={token}", node.api),
        "the printed link opens the UI with the token"
    );
    assert_eq!(node.node_file()["ui"], ui["ui: ".len()..]);

    // The page and its scripts load without the token (a browser cannot send it
    // before the page has read it from the link), locked down by a CSP.
    let page = http(&node.api, "GET", "/", &[("Host", &node.api)], None);
    assert_eq!(
        page.status, 200,
        "the UI is embedded (build it with `npm --prefix ui run build` before cargo): {page:?}"
    );
    assert!(page.body.contains("<div id=\"app\">"), "{}", page.body);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let script = page
        .body
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page loads a script");
    let script = format!("/{}", script.trim_start_matches("./"));
    let js = http(&node.api, "GET", &script, &[("Host", &node.api)], None);
    assert_eq!(js.status, 200, "{script}: {js:?}");
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );

    // The API still needs the token, and nothing outside the UI's files is served.
    let health = http(
        &node.api,
        "GET",
        "/api/health",
        &[("Host", &node.api)],
        None,
    );
    assert_eq!(health.status, 401, "{health:?}");
    let outside = http(
        &node.api,
        "GET",
        "/../node.json",
        &[("Host", &node.api)],
        None,
    );
    assert_eq!(outside.status, 404, "{outside:?}");
    assert!(!outside.body.contains(&token));
    // A rebound name gets nothing, not even the page.
    let port = node.api.rsplit(':').next().expect("port");
    let rebound = format!("evil.example:{port}");
    let rebind = http(&node.api, "GET", "/", &[("Host", &rebound)], None);
    assert_eq!(rebind.status, 403, "{rebind:?}");
}

#[test]
fn the_ui_port_falls_back_to_a_free_one_when_7419_is_taken() {
    // Other tests' nodes come and go on 7419; hold it ourselves (bounded wait), so it
    // is surely taken while this node starts.
    let deadline = std::time::Instant::now() + WAIT;
    let _holder = loop {
        match std::net::TcpListener::bind("127.0.0.1:7419") {
            Ok(listener) => break listener,
            Err(e) if std::time::Instant::now() > deadline => panic!("7419 stays busy: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    let p = Profile::new("Ana");
    let node = p.up(&[]);
    assert!(node.api.starts_with("127.0.0.1:"), "{}", node.api);
    assert_ne!(node.api, "127.0.0.1:7419");
    let health = node.request("GET", "/api/health", None);
    assert_eq!(health.status, 200, "{health:?}");
}
