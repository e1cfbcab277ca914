//! The storage key in the operating system's keyring (`plenum init --keyring`), against
//! a real Secret Service: GNOME Keyring on a D-Bus session bus the test starts
//! (`dbus-run-session`), keeping its keyrings in the test's own directory.

use std::path::Path;
use std::process::Command;

use plenum_tests::{Run, plenum_bin};

/// Runs `script` with bash in a fresh D-Bus session whose keyrings live under `home`,
/// with `$P` the plenum binary and `$DATA` the data directory. With `unlock`, a GNOME
/// Keyring daemon is started there first with its login keyring unlocked.
fn in_session(home: &Path, data: &Path, unlock: bool, script: &str) -> Run {
    let start = if unlock {
        "eval \"$(printf 'login password' | gnome-keyring-daemon --unlock --components=secrets)\"\n"
    } else {
        ""
    };
    let output = Command::new("timeout")
        .args(["120", "dbus-run-session", "--", "bash", "-euc"])
        .arg(format!("{start}{script}"))
        .env("XDG_DATA_HOME", home.join("share"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_RUNTIME_DIR", home)
        .env("P", plenum_bin())
        .env("DATA", data)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("PLENUM_PASSPHRASE")
        .output()
        .expect("run dbus-run-session");
    Run::from(output)
}

/// Whether this machine has a D-Bus session launcher and GNOME Keyring; with CI=true a
/// missing one is a failure.
fn supported() -> bool {
    let has = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = has("dbus-run-session") && has("gnome-keyring-daemon");
    if !ok {
        let why = "keyring tests need dbus-run-session and gnome-keyring-daemon (apt-get install dbus-daemon gnome-keyring)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipping: {why}");
    }
    ok
}

#[test]
fn keyring_profile_opens_with_the_login_keyring_and_says_what_to_do_without_it() {
    if !supported() {
        return;
    }
    let home = tempfile::tempdir().expect("home");
    let data = home.path().join("data");
    let made = in_session(
        home.path(),
        &data,
        true,
        r#"$P --data "$DATA" init --name Ana --keyring
           $P --data "$DATA" group create Tenants
           $P --data "$DATA" chat send Tenants "kept behind the keyring""#,
    );
    assert_eq!(made.code, Some(0), "{}{}", made.stdout, made.stderr);
    // No key and no key file anywhere in the data directory: the header names the
    // keyring entry only.
    let header = std::fs::read_to_string(data.join("unlock.json")).expect("header");
    assert!(header.contains("\"method\": \"keyring\""), "{header}");
    assert!(!header.contains("key_file"), "{header}");

    // A later session: the running node opens by itself (no passphrase), and commands
    // attach to it.
    let later = in_session(
        home.path(),
        &data,
        true,
        r#"$P --data "$DATA" up --no-mdns --listen /ip4/127.0.0.1/tcp/0 --ui 127.0.0.1:0 > "$DATA/../up.out" 2>&1 &
           for _ in $(seq 1 100); do grep -q '^ui: ' "$DATA/../up.out" && break; sleep 0.1; done
           $P --data "$DATA" --json chat log Tenants
           kill -INT %1; wait %1"#,
    );
    assert_eq!(later.code, Some(0), "{}{}", later.stdout, later.stderr);
    assert!(
        later.stdout.contains("kept behind the keyring"),
        "{}{}",
        later.stdout,
        later.stderr
    );

    // The keyring locked (no daemon unlocked in this session): one clear line, and the
    // profile is untouched.
    let locked = in_session(
        home.path(),
        &data,
        false,
        r#"$P --data "$DATA" chat log Tenants"#,
    );
    assert_eq!(locked.code, Some(1), "{}{}", locked.stdout, locked.stderr);
    assert!(
        locked.stderr.contains("system keyring could not be used")
            && locked.stderr.contains("unlocked"),
        "{}",
        locked.stderr
    );
    let again = in_session(
        home.path(),
        &data,
        true,
        r#"$P --data "$DATA" chat log Tenants"#,
    );
    assert!(
        again.stdout.contains("kept behind the keyring"),
        "{}{}",
        again.stdout,
        again.stderr
    );
}
