//! Behaviour of the store through its public API: slots, scans, deletion, reopening and
//! every way opening can fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::{ReadableDatabase, TableHandle};
use zeroize::Zeroizing;

use super::*;

fn passphrase(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.to_owned())
}

/// A passphrase protection that derives in milliseconds.
fn fast(text: &str) -> Protection {
    Protection::Passphrase {
        passphrase: passphrase(text),
        kdf_target: Duration::from_millis(1),
    }
}

fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    (tmp, dir)
}

fn put(store: &Store, slot: Slot<'_>, value: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.put(slot, value.to_vec());
    store.commit(&[batch]).unwrap();
}

fn sorted(mut values: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    values.sort();
    values
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
}

#[test]
fn every_slot_round_trips_and_deletes() {
    let (_tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    let (g, d, a) = (GroupId::random(), DocId::random(), MemberId::random());
    let slots = [
        Slot::Profile,
        Slot::Group(&g),
        Slot::Doc(&g, &d),
        Slot::Author(&g, &d, &a),
        Slot::Envelope(&g, &d, &a, 0),
        Slot::Envelope(&g, &d, &a, u64::MAX),
    ];
    for (i, slot) in slots.iter().enumerate() {
        assert_eq!(store.get(*slot).unwrap(), None);
        put(&store, *slot, format!("value {i}").as_bytes());
    }
    put(&store, Slot::Doc(&g, &DocId::random()), b"");
    for (i, slot) in slots.iter().enumerate() {
        assert_eq!(
            store.get(*slot).unwrap(),
            Some(format!("value {i}").into_bytes()),
            "{slot:?}"
        );
    }
    // Overwrite, then delete each slot in one batch.
    put(&store, Slot::Profile, b"newer");
    assert_eq!(store.get(Slot::Profile).unwrap(), Some(b"newer".to_vec()));
    let mut batch = WriteBatch::new();
    for slot in slots {
        batch.delete(slot);
    }
    store.commit(&[batch]).unwrap();
    for slot in slots {
        assert_eq!(store.get(slot).unwrap(), None, "{slot:?}");
    }
}

#[test]
fn later_batches_win_and_empty_commits_are_fine() {
    let (_tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    let g = GroupId::random();
    let mut first = WriteBatch::new();
    first.put(Slot::Group(&g), b"one".to_vec());
    let mut second = WriteBatch::new();
    second
        .put(Slot::Group(&g), b"two".to_vec())
        .delete_group(&g)
        .put(Slot::Group(&g), b"three".to_vec());
    store.commit(&[first, WriteBatch::new(), second]).unwrap();
    assert_eq!(store.get(Slot::Group(&g)).unwrap(), Some(b"three".to_vec()));
    store.commit(&[]).unwrap();
    store.commit(&[WriteBatch::default()]).unwrap();
}

/// Two groups with interleaved writes: documents, authors and envelopes of each.
struct TwoGroups {
    groups: [GroupId; 2],
    docs: [DocId; 3],
    authors: [MemberId; 2],
}

impl TwoGroups {
    fn write(store: &Store) -> TwoGroups {
        let fixture = TwoGroups {
            groups: [GroupId::random(), GroupId::random()],
            docs: [DocId::random(), DocId::random(), DocId::random()],
            authors: [MemberId::random(), MemberId::random()],
        };
        // Interleave the groups in every batch, and write sequence numbers out of order.
        for seq in [5u64, 1, 3, 2, 4, 256] {
            let mut batch = WriteBatch::new();
            for (gi, g) in fixture.groups.iter().enumerate() {
                batch.put(Slot::Group(g), format!("group {gi}").into_bytes());
                for (di, d) in fixture.docs.iter().enumerate() {
                    batch.put(Slot::Doc(g, d), format!("doc {gi}/{di}").into_bytes());
                    for (ai, a) in fixture.authors.iter().enumerate() {
                        batch.put(
                            Slot::Author(g, d, a),
                            format!("author {gi}/{di}/{ai}").into_bytes(),
                        );
                        batch.put(
                            Slot::Envelope(g, d, a, seq),
                            format!("env {gi}/{di}/{ai}/{seq}").into_bytes(),
                        );
                    }
                }
            }
            store.commit(&[batch]).unwrap();
        }
        fixture
    }

    fn assert_group_present(&self, store: &Store, gi: usize) {
        let g = &self.groups[gi];
        assert_eq!(
            store.get(Slot::Group(g)).unwrap(),
            Some(format!("group {gi}").into_bytes())
        );
        let docs: Vec<Vec<u8>> = (0..3)
            .map(|di| format!("doc {gi}/{di}").into_bytes())
            .collect();
        assert_eq!(sorted(store.docs_of(g).unwrap()), docs);
        for (di, d) in self.docs.iter().enumerate() {
            let authors: Vec<Vec<u8>> = (0..2)
                .map(|ai| format!("author {gi}/{di}/{ai}").into_bytes())
                .collect();
            assert_eq!(sorted(store.authors_of(g, d).unwrap()), authors);
            for (ai, a) in self.authors.iter().enumerate() {
                let env = |seq: u64| (seq, format!("env {gi}/{di}/{ai}/{seq}").into_bytes());
                assert_eq!(
                    store.envelopes(g, d, a, 0).unwrap(),
                    vec![env(1), env(2), env(3), env(4), env(5), env(256)]
                );
                assert_eq!(
                    store.envelopes(g, d, a, 2).unwrap(),
                    vec![env(3), env(4), env(5), env(256)]
                );
                assert_eq!(store.envelopes(g, d, a, 256).unwrap(), vec![]);
                assert_eq!(store.envelopes(g, d, a, u64::MAX).unwrap(), vec![]);
            }
        }
    }

    fn assert_group_gone(&self, store: &Store, gi: usize) {
        let g = &self.groups[gi];
        assert_eq!(store.get(Slot::Group(g)).unwrap(), None);
        assert!(store.docs_of(g).unwrap().is_empty());
        for d in &self.docs {
            assert_eq!(store.get(Slot::Doc(g, d)).unwrap(), None);
            assert!(store.authors_of(g, d).unwrap().is_empty());
            for a in &self.authors {
                assert_eq!(store.get(Slot::Author(g, d, a)).unwrap(), None);
                assert!(store.envelopes(g, d, a, 0).unwrap().is_empty());
                assert_eq!(store.get(Slot::Envelope(g, d, a, 3)).unwrap(), None);
            }
        }
    }
}

#[test]
fn scans_return_exactly_the_groups_rows_in_order() {
    let (_tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    let fixture = TwoGroups::write(&store);
    fixture.assert_group_present(&store, 0);
    fixture.assert_group_present(&store, 1);
    assert_eq!(
        sorted(store.groups().unwrap()),
        vec![b"group 0".to_vec(), b"group 1".to_vec()]
    );
    // An unknown document or author has nothing.
    let g = &fixture.groups[0];
    assert!(store.authors_of(g, &DocId::random()).unwrap().is_empty());
    assert!(
        store
            .envelopes(g, &fixture.docs[0], &MemberId::random(), 0)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn delete_group_removes_that_group_only() {
    let (_tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    put(&store, Slot::Profile, b"profile");
    let fixture = TwoGroups::write(&store);
    let mut batch = WriteBatch::new();
    batch.delete_group(&fixture.groups[0]);
    store.commit(&[batch]).unwrap();
    fixture.assert_group_gone(&store, 0);
    fixture.assert_group_present(&store, 1);
    assert_eq!(store.groups().unwrap(), vec![b"group 1".to_vec()]);
    assert_eq!(store.get(Slot::Profile).unwrap(), Some(b"profile".to_vec()));
}

#[test]
fn reopening_keeps_everything() {
    let (tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("open sesame")).unwrap();
    put(&store, Slot::Profile, b"profile");
    let fixture = TwoGroups::write(&store);
    drop(store);
    assert_eq!(
        Store::unlock_method(&dir).unwrap(),
        UnlockMethod::Passphrase
    );
    let store = Store::open(&dir, Unlock::Passphrase(passphrase("open sesame"))).unwrap();
    assert_eq!(store.get(Slot::Profile).unwrap(), Some(b"profile".to_vec()));
    fixture.assert_group_present(&store, 0);
    fixture.assert_group_present(&store, 1);
    drop(store);

    // The same with a key file.
    let dir2 = tmp.path().join("data2");
    let key_file = tmp.path().join("plenum.key");
    let store = Store::init(&dir2, Protection::KeyFile(key_file.clone())).unwrap();
    put(&store, Slot::Profile, b"profile 2");
    drop(store);
    let recorded = key_file.canonicalize().unwrap();
    assert_eq!(
        Store::unlock_method(&dir2).unwrap(),
        UnlockMethod::KeyFile(recorded)
    );
    let store = Store::open(&dir2, Unlock::Auto).unwrap();
    assert_eq!(
        store.get(Slot::Profile).unwrap(),
        Some(b"profile 2".to_vec())
    );
    drop(store);
    // A moved key file is found through the override.
    let moved = tmp.path().join("moved.key");
    fs::rename(&key_file, &moved).unwrap();
    let store = Store::open(&dir2, Unlock::KeyFile(moved)).unwrap();
    assert_eq!(
        store.get(Slot::Profile).unwrap(),
        Some(b"profile 2".to_vec())
    );
}

#[cfg(unix)]
#[test]
fn files_are_private_and_the_header_is_as_documented() {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, dir) = data_dir();
    drop(Store::init(&dir, fast("pw")).unwrap());
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("unlock.json")), 0o600);
    assert_eq!(mode(&dir.join("plenum.redb")), 0o600);
    let header: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("unlock.json")).unwrap()).unwrap();
    assert_eq!(header["format"], 1);
    assert_eq!(header["method"], "passphrase");
    assert_eq!(header["kdf"]["algorithm"], "argon2id");
    assert!(header["kdf"]["m_cost"].as_u64().unwrap() >= 8 * 1024);
    assert!(header["kdf"]["salt"].is_string());
    assert!(header["wrapped_key"].is_string());
    assert!(!dir.join("unlock.json.tmp").exists());

    let dir2 = tmp.path().join("data2");
    let key_file = tmp.path().join("k");
    drop(Store::init(&dir2, Protection::KeyFile(key_file.clone())).unwrap());
    assert_eq!(mode(&key_file), 0o600);
    let header: serde_json::Value =
        serde_json::from_slice(&fs::read(dir2.join("unlock.json")).unwrap()).unwrap();
    assert_eq!(header["method"], "key-file");
    assert_eq!(
        header["key_file"],
        key_file.canonicalize().unwrap().to_str().unwrap()
    );
    assert!(header["key_check"].is_string());
}

#[test]
fn wrong_passphrase_is_refused() {
    let (_tmp, dir) = data_dir();
    drop(Store::init(&dir, fast("right")).unwrap());
    let err = Store::open(&dir, Unlock::Passphrase(passphrase("wrong"))).unwrap_err();
    assert!(matches!(err, StoreError::WrongPassphrase(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("wrong passphrase for {}; try again", dir.display())
    );
    let err = Store::open(&dir, Unlock::Auto).unwrap_err();
    assert!(matches!(err, StoreError::PassphraseRequired(_)), "{err:?}");
    Store::open(&dir, Unlock::Passphrase(passphrase("right"))).unwrap();
}

#[test]
fn wrong_and_missing_key_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, key_a) = (tmp.path().join("a"), tmp.path().join("a.key"));
    let (dir_b, key_b) = (tmp.path().join("b"), tmp.path().join("b.key"));
    drop(Store::init(&dir_a, Protection::KeyFile(key_a.clone())).unwrap());
    drop(Store::init(&dir_b, Protection::KeyFile(key_b.clone())).unwrap());

    let err = Store::open(&dir_a, Unlock::KeyFile(key_b.clone())).unwrap_err();
    assert!(
        matches!(err, StoreError::WrongKeyFile(ref p) if *p == key_b),
        "{err:?}"
    );
    let garbage = tmp.path().join("garbage.key");
    fs::write(&garbage, "# comment\nnot base64 at all\n").unwrap();
    let err = Store::open(&dir_a, Unlock::KeyFile(garbage)).unwrap_err();
    assert!(matches!(err, StoreError::WrongKeyFile(_)), "{err:?}");
    let err = Store::open(&dir_a, Unlock::Passphrase(passphrase("x"))).unwrap_err();
    assert!(matches!(err, StoreError::KeyFileRequired { .. }), "{err:?}");

    fs::remove_file(&key_a).unwrap();
    let err = Store::open(&dir_a, Unlock::Auto).unwrap_err();
    let recorded = tmp.path().canonicalize().unwrap().join("a.key");
    assert!(
        matches!(err, StoreError::KeyFileMissing(ref p) if *p == recorded),
        "{err:?}"
    );
    assert!(err.to_string().contains("a.key"));
    Store::open(&dir_b, Unlock::Auto).unwrap();
}

#[test]
fn key_file_inside_the_data_directory_is_refused() {
    let (tmp, dir) = data_dir();
    for inside in [dir.join("plenum.key"), dir.join("sub").join("plenum.key")] {
        let err = Store::init(&dir, Protection::KeyFile(inside.clone())).unwrap_err();
        assert!(
            matches!(err, StoreError::KeyFileInsideDataDir { .. }),
            "{err:?}"
        );
        assert!(!inside.exists());
        // Nothing is left behind: init can be retried.
        assert!(!dir.join("unlock.json").exists());
        assert!(!dir.join("plenum.redb").exists());
    }
    // A path that reaches into the directory through `..` is refused too.
    fs::create_dir_all(tmp.path().join("other")).unwrap();
    let sneaky = tmp.path().join("other").join("..").join("data").join("k");
    let err = Store::init(&dir, Protection::KeyFile(sneaky)).unwrap_err();
    assert!(
        matches!(err, StoreError::KeyFileInsideDataDir { .. }),
        "{err:?}"
    );
    // An override at open is refused the same way.
    let outside = tmp.path().join("ok.key");
    drop(Store::init(&dir, Protection::KeyFile(outside.clone())).unwrap());
    let copy = dir.join("copy.key");
    fs::copy(&outside, &copy).unwrap();
    let err = Store::open(&dir, Unlock::KeyFile(copy)).unwrap_err();
    assert!(
        matches!(err, StoreError::KeyFileInsideDataDir { .. }),
        "{err:?}"
    );
}

#[test]
fn init_refuses_an_existing_profile_and_key_file() {
    let (tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    put(&store, Slot::Profile, b"keep me");
    drop(store);
    let err = Store::init(&dir, fast("other")).unwrap_err();
    assert!(matches!(err, StoreError::AlreadyInitialized(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("a Plenum profile already exists in")
    );
    let store = Store::open(&dir, Unlock::Passphrase(passphrase("pw"))).unwrap();
    assert_eq!(store.get(Slot::Profile).unwrap(), Some(b"keep me".to_vec()));

    let existing = tmp.path().join("existing.key");
    fs::write(&existing, "something precious").unwrap();
    let dir2 = tmp.path().join("data2");
    let err = Store::init(&dir2, Protection::KeyFile(existing.clone())).unwrap_err();
    assert!(matches!(err, StoreError::KeyFileExists(_)), "{err:?}");
    assert_eq!(fs::read(&existing).unwrap(), b"something precious");
    assert!(!dir2.join("plenum.redb").exists());
}

#[test]
fn an_uninitialised_directory_is_reported() {
    let (tmp, dir) = data_dir();
    let err = Store::open(&dir, Unlock::Auto).unwrap_err();
    assert!(matches!(err, StoreError::NotInitialized(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "no Plenum profile in {}; create one with `plenum init --name NAME`",
            dir.display()
        )
    );
    let err = Store::unlock_method(tmp.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotInitialized(_)), "{err:?}");
}

#[test]
fn a_second_open_reports_the_directory_in_use() {
    let (_tmp, dir) = data_dir();
    let first = Store::init(&dir, fast("pw")).unwrap();
    let err = Store::open(&dir, Unlock::Passphrase(passphrase("pw"))).unwrap_err();
    assert!(
        matches!(err, StoreError::InUse(ref d) if *d == dir),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the data directory {} is in use by another Plenum process; stop it or use --data to pick another directory",
            dir.display()
        )
    );
    drop(first);
    Store::open(&dir, Unlock::Passphrase(passphrase("pw"))).unwrap();
}

#[test]
fn a_newer_schema_is_refused() {
    let (_tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    schema::force_version(&store.db, &store.keys, &store.path, 7).unwrap();
    drop(store);
    let err = Store::open(&dir, Unlock::Passphrase(passphrase("pw"))).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 7, known: 2 }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "this data directory was written by a newer Plenum (schema 7, this build knows 2); upgrade Plenum"
    );
}

fn table_names(path: &Path) -> Vec<String> {
    let db = Builder::new().open_read_only(path).unwrap();
    let txn = db.begin_read().unwrap();
    let mut names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_older_schema_is_migrated() {
    let (_tmp, dir) = data_dir();
    drop(Store::init(&dir, fast("pw")).unwrap());
    // Replace the database with one at schema version 0: only `meta`, recording 0.
    let key = unlock::unlock(&dir, Unlock::Passphrase(passphrase("pw"))).unwrap();
    let keys = Keys::new(&key);
    let path = dir.join(DB_FILE);
    fs::remove_file(&path).unwrap();
    let db = Database::create(&path).unwrap();
    schema::force_version(&db, &keys, &path, 0).unwrap();
    assert_eq!(schema::read_version(&db, &keys, &path).unwrap(), 0);
    drop(db);
    assert_eq!(table_names(&path), vec!["meta".to_owned()]);

    let store = Store::open(&dir, Unlock::Passphrase(passphrase("pw"))).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    put(&store, Slot::Profile, b"after the upgrade");
    assert_eq!(
        store.get(Slot::Profile).unwrap(),
        Some(b"after the upgrade".to_vec())
    );
    drop(store);
    let mut all: Vec<String> = Table::ALL.iter().map(|t| t.name().to_owned()).collect();
    all.sort();
    assert_eq!(table_names(&path), all);
}

/// Writes enough to span many pages, and returns the database file's bytes.
fn populated_database(dir: &Path) -> Vec<u8> {
    let store = Store::init(dir, fast("pw")).unwrap();
    let g = GroupId::random();
    let (d, a) = (DocId::random(), MemberId::random());
    let mut batch = WriteBatch::new();
    for seq in 0..200u64 {
        batch.put(Slot::Envelope(&g, &d, &a, seq), vec![seq as u8; 1000]);
    }
    store.commit(&[batch]).unwrap();
    drop(store);
    fs::read(dir.join(DB_FILE)).unwrap()
}

fn open_damaged(dir: &Path, bytes: &[u8]) -> StoreError {
    fs::write(dir.join(DB_FILE), bytes).unwrap();
    match Store::open(dir, Unlock::Passphrase(passphrase("pw"))) {
        Ok(store) => panic!("a damaged database opened: {store:?}"),
        Err(err) => err,
    }
}

#[test]
fn truncated_database_files_are_reported_as_damaged() {
    let (_tmp, dir) = data_dir();
    let original = populated_database(&dir);
    assert!(original.len() > 64 * 1024, "{}", original.len());
    for len in [0, 10, 100, 4096, original.len() / 3, original.len() / 2] {
        let err = open_damaged(&dir, &original[..len]);
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "truncated to {len}: {err:?}"
        );
        assert!(err.to_string().contains("is damaged"), "{err}");
        assert!(err.to_string().contains("plenum.redb"), "{err}");
    }
    // The intact file still opens: the errors came from the damage.
    fs::write(dir.join(DB_FILE), &original).unwrap();
    Store::open(&dir, Unlock::Passphrase(passphrase("pw"))).unwrap();
}

#[test]
fn garbage_database_files_are_reported_as_damaged() {
    let (_tmp, dir) = data_dir();
    let original = populated_database(&dir);
    let mut garbage = vec![0u8; 64 * 1024];
    for (i, byte) in garbage.iter_mut().enumerate() {
        *byte = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    let err = open_damaged(&dir, &garbage);
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    // redb's header kept, everything after it overwritten.
    let mut tail_garbage = original.clone();
    tail_garbage[4096..].copy_from_slice(
        &garbage.repeat(original.len() / garbage.len() + 1)[..original.len() - 4096],
    );
    let err = open_damaged(&dir, &tail_garbage);
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    // One flipped byte in the middle of the data.
    let mut flipped = original.clone();
    let middle = original.len() / 2;
    flipped[middle] ^= 0x55;
    let err = open_damaged(&dir, &flipped);
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_value_moved_to_another_row_does_not_open() {
    let (_tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    let (g1, g2) = (GroupId::random(), GroupId::random());
    put(&store, Slot::Group(&g1), b"group one");
    put(&store, Slot::Group(&g2), b"group two");
    // Copy g1's sealed value into g2's row behind the store's back.
    let (_, k1) = store.keys.row(Slot::Group(&g1));
    let (_, k2) = store.keys.row(Slot::Group(&g2));
    let txn = store.db.begin_write().unwrap();
    {
        let mut groups = txn.open_table(Table::Groups.def()).unwrap();
        let sealed = groups.get(k1.as_slice()).unwrap().unwrap().value().to_vec();
        groups.insert(k2.as_slice(), sealed.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    let err = store.get(Slot::Group(&g2)).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(matches!(store.groups(), Err(StoreError::Corrupt { .. })));
    assert_eq!(
        store.get(Slot::Group(&g1)).unwrap(),
        Some(b"group one".to_vec())
    );
}

#[test]
fn envelopes_between_reads_a_bounded_page_for_sync() {
    let (_tmp, dir) = data_dir();
    let store = Store::init(&dir, fast("pw")).unwrap();
    let (g, d, a) = (GroupId::random(), DocId::random(), MemberId::random());
    let other = MemberId::random();
    let mut batch = WriteBatch::new();
    for seq in 1..=10u64 {
        batch.put(Slot::Envelope(&g, &d, &a, seq), vec![seq as u8; 10]);
        batch.put(Slot::Envelope(&g, &d, &other, seq), vec![0; 10]);
    }
    batch.put(Slot::Envelope(&g, &d, &a, u64::MAX), vec![0xff; 3]);
    store.commit(&[batch]).unwrap();
    let seqs = |page: &[(u64, Vec<u8>)]| page.iter().map(|(s, _)| *s).collect::<Vec<_>>();

    // The range is inclusive of `until_seq` and excludes `after_seq`.
    let EnvelopePage {
        envelopes: page,
        truncated: cut,
    } = store
        .envelopes_between(&g, &d, &a, 2, 5, usize::MAX)
        .unwrap();
    assert_eq!(seqs(&page), [3, 4, 5]);
    assert_eq!(page[0].1, vec![3; 10]);
    assert!(!cut);
    // The byte limit stops before the page would exceed it…
    let EnvelopePage {
        envelopes: page,
        truncated: cut,
    } = store.envelopes_between(&g, &d, &a, 0, 10, 35).unwrap();
    assert_eq!(seqs(&page), [1, 2, 3]);
    assert!(cut);
    let EnvelopePage {
        envelopes: page,
        truncated: cut,
    } = store.envelopes_between(&g, &d, &a, 0, 3, 30).unwrap();
    assert_eq!(seqs(&page), [1, 2, 3]);
    assert!(!cut, "nothing in the range was left out");
    // …but always lets the first through.
    let EnvelopePage {
        envelopes: page,
        truncated: cut,
    } = store.envelopes_between(&g, &d, &a, 7, 10, 1).unwrap();
    assert_eq!(seqs(&page), [8]);
    assert!(cut);
    // Beyond what is held, empty ranges, and the extremes.
    let EnvelopePage {
        envelopes: page,
        truncated: cut,
    } = store
        .envelopes_between(&g, &d, &a, 9, 20, usize::MAX)
        .unwrap();
    assert_eq!(seqs(&page), [10]);
    assert!(!cut);
    assert!(
        store
            .envelopes_between(&g, &d, &a, 5, 5, usize::MAX)
            .unwrap()
            .envelopes
            .is_empty()
    );
    assert!(
        store
            .envelopes_between(&g, &d, &a, 6, 5, usize::MAX)
            .unwrap()
            .envelopes
            .is_empty()
    );
    let page = store
        .envelopes_between(&g, &d, &a, 10, u64::MAX, usize::MAX)
        .unwrap()
        .envelopes;
    assert_eq!(seqs(&page), [u64::MAX]);
    assert!(
        store
            .envelopes_between(&g, &d, &a, u64::MAX, u64::MAX, 1)
            .unwrap()
            .envelopes
            .is_empty()
    );
    let page = store
        .envelopes_between(&g, &d, &MemberId::random(), 0, 10, usize::MAX)
        .unwrap()
        .envelopes;
    assert!(page.is_empty());
}
