//! A copied data directory run as a second device: two nodes with one identity write
//! under the same sequence numbers. A third node must report the fork.
//!
//! Both copies have the same PeerId. Run one after the other (a restored backup, a data
//! directory carried to another laptop), the third node meets each in turn; run at the
//! same time, libp2p sees one peer with two connections and reaches only one of them —
//! the fork is then found once the two chains meet through another path (the tests
//! below). A fork of equal length is the hard case for catch-up: the version vectors
//! have the same seq for the author and differ only in the head hash.

use std::time::Duration;

use super::net_harness::{TestNode, WAIT, copy_dir, found_group};

async fn setup() -> (TestNode, TestNode, String) {
    let a = TestNode::spawn("Ana").await;
    let t = TestNode::spawn("Tom").await;
    let (group, link) = found_group(&a).await;
    t.network
        .join(&link, WAIT, |_| {})
        .await
        .expect("Tom joins");
    a.send(&group, "before the copy").await;
    t.wait_for_text(&group, "before the copy").await;
    t.wait_in_sync(&group, 1).await;
    (a, t, group)
}

async fn wait_for_fork(t: &TestNode, group: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = t.group_status(group).await;
        if status.forks > 0 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let seen = t.texts(group).await;
            panic!(
                "Tom reports no fork within {WAIT:?} although both copies wrote; he sees \
                 {seen:?}; his status: {:#?}",
                status.peers
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = t.texts(group).await;
    let original = seen
        .iter()
        .filter(|s| s.starts_with("written by the original"))
        .count();
    let copy = seen
        .iter()
        .filter(|s| s.starts_with("written by the copy"))
        .count();
    assert!(
        original == 0 || copy == 0,
        "one chain stands, the forked one is kept as evidence, never both merged: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_copied_data_dir_is_reported_as_a_fork() {
    // The copy runs after the original (a restored backup, or the data directory
    // carried to a second laptop): one identity, one device at a time.
    let (a, t, group) = setup().await;
    let original = a.stop().await;
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(original.path(), copy.path());
    let first = TestNode::reopen(original).await;
    first.network.dial(t.addr()).await.expect("dial");
    first.wait_in_sync(&group, 1).await;
    first.send(&group, "written by the original").await;
    t.wait_for_text(&group, "written by the original").await;
    let _original = first.stop().await;

    let second = TestNode::reopen(copy).await;
    second.network.dial(t.addr()).await.expect("dial");
    second.send(&group, "written by the copy").await;
    wait_for_fork(&t, &group).await;
}

/// The copies reach Tom by different paths, so the one PeerId is never ambiguous. Tom
/// gets the original's chain; the copy, running while Tom and the original are
/// stopped, writes `copy_writes` messages that reach Ulla, another member; then Tom
/// meets Ulla, and the fork must be reported. Nodes restart on fresh ports, so each
/// meeting happens only by the dials below.
async fn copies_on_two_paths(copy_writes: usize) {
    let (a, t, group) = setup().await;
    let u = TestNode::spawn("Ulla").await;
    let link = t.invite(&group, 1).await;
    u.network.dial(t.addr()).await.expect("dial Tom");
    u.network
        .join(&link, WAIT, |_| {})
        .await
        .expect("Ulla joins");
    u.wait_for_text(&group, "before the copy").await;
    u.wait_in_sync(&group, 1).await;
    let u_dir = u.stop().await;

    let original = a.stop().await;
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(original.path(), copy.path());
    let first = TestNode::reopen(original).await;
    first.network.dial(t.addr()).await.expect("dial");
    first.send(&group, "written by the original").await;
    t.wait_for_text(&group, "written by the original").await;
    let _original = first.stop().await;
    let t_dir = t.stop().await;

    let u = TestNode::reopen(u_dir).await;
    let second = TestNode::reopen(copy).await;
    second.network.dial(u.addr()).await.expect("dial");
    for i in 0..copy_writes {
        second
            .send(&group, &format!("written by the copy {i}"))
            .await;
    }
    u.wait_for_text(&group, &format!("written by the copy {}", copy_writes - 1))
        .await;
    let _copy = second.stop().await;

    let t = TestNode::reopen(t_dir).await;
    t.network.dial(u.addr()).await.expect("dial Ulla");
    wait_for_fork(&t, &group).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_fork_of_equal_length_reaches_a_third_node_through_another_member() {
    copies_on_two_paths(1).await;
}

/// The copy's chain is longer than the original's: catch-up asks for what lies beyond
/// Tom's head, and its `prev` does not match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_longer_fork_reaches_a_third_node_through_another_member() {
    copies_on_two_paths(2).await;
}
