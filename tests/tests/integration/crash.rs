//! `plenum chat send` killed with SIGKILL at random moments across its write: every
//! send that reported success survives, and the profile always opens.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use plenum_tests::Profile;

const KILLS: usize = 200;

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("random");
    u64::from_le_bytes(b) % n.max(1)
}

fn logged_ids(p: &Profile) -> HashSet<String> {
    let log = p.json(&["chat", "log", "Tenants union"]);
    log.as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn sigkill_during_chat_send_loses_no_acknowledged_message() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants union"]);

    // How long an undisturbed send takes, so kills spread across the whole write.
    let mut timings = Vec::new();
    let mut acknowledged = HashSet::new();
    for i in 0..5 {
        let started = Instant::now();
        acknowledged.insert(
            p.ok(&["chat", "send", "Tenants union", &format!("warm-up {i}")])
                .trim()
                .to_owned(),
        );
        timings.push(started.elapsed());
    }
    // The slowest warm-up, times three: other tests share the machine, so a send
    // can take several times its quiet duration.
    let slowest = timings.iter().max().expect("timings").as_micros() as u64;

    let (mut killed, mut finished) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(300);
    for i in 0..KILLS {
        assert!(
            Instant::now() < deadline,
            "the kill loop ran out of time after {i} rounds"
        );
        let mut child = p
            .command(&["chat", "send", "Tenants union", &format!("message {i}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn plenum");
        std::thread::sleep(Duration::from_micros(random_below(slowest * 3)));
        let _ = child.kill(); // SIGKILL; fails only if it already exited
        let out = child.wait_with_output().expect("wait");
        match out.status.code() {
            Some(0) => {
                finished += 1;
                acknowledged.insert(String::from_utf8_lossy(&out.stdout).trim().to_owned());
            }
            None => killed += 1,
            Some(code) => panic!(
                "send {i} failed with {code}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
        if i % 20 == 19 {
            let present = logged_ids(&p);
            let lost: Vec<_> = acknowledged.difference(&present).collect();
            assert!(
                lost.is_empty(),
                "after {i} rounds, acknowledged messages are gone: {lost:?}"
            );
        }
    }
    let present = logged_ids(&p);
    assert!(
        acknowledged.is_subset(&present),
        "acknowledged messages lost"
    );
    // The kills really landed across the write: some sends died, some finished.
    assert!(
        killed >= 20 && finished >= 20,
        "kills were not spread: {killed} killed, {finished} finished"
    );
    // And the profile still takes new writes.
    let id = p
        .ok(&["chat", "send", "Tenants union", "after the storm"])
        .trim()
        .to_owned();
    assert!(logged_ids(&p).contains(&id));
}
