//! What the database file reveals to someone without the key: nothing but sizes.

use std::time::Duration;

use redb::{Builder, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use zeroize::Zeroizing;

use super::rows::{Table, aad};
use super::*;
use crate::crypto::{NONCE_LEN, TAG_LEN};

#[test]
fn the_file_holds_only_sealed_values_under_hashed_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::init(
        &dir,
        Protection::Passphrase {
            passphrase: Zeroizing::new("pw".to_owned()),
            kdf_target: Duration::from_millis(1),
        },
    )
    .unwrap();
    let value_key = store.keys.value_key().clone();
    let groups = [GroupId::random(), GroupId::random()];
    let (d, a) = (DocId::random(), MemberId::random());
    let mut markers = Vec::new();
    let mut marker = |what: String| {
        let text = format!("MARKER<{what}>MARKER");
        markers.push(text.clone());
        text.into_bytes()
    };
    let mut batch = WriteBatch::new();
    batch.put(Slot::Profile, marker("profile".into()));
    for (gi, g) in groups.iter().enumerate() {
        batch.put(Slot::Group(g), marker(format!("group {gi}")));
        batch.put(Slot::Doc(g, &d), marker(format!("doc {gi}")));
        batch.put(Slot::Author(g, &d, &a), marker(format!("author {gi}")));
        for seq in 0..20u64 {
            batch.put(
                Slot::Envelope(g, &d, &a, seq),
                marker(format!("env {gi}/{seq}")),
            );
        }
        // A value large enough to need overflow pages.
        let mut big = marker(format!("big {gi}"));
        big.extend(std::iter::repeat_n(b'x', 20_000));
        batch.put(Slot::Envelope(g, &d, &a, 1000), big);
    }
    store.commit(&[batch]).unwrap();
    drop(store);
    let path = dir.join(DB_FILE);

    // Every table and row, read with plain redb and no key.
    let db = Builder::new().open_read_only(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let mut names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = Table::ALL.iter().map(|t| t.name().to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);
    let wrong_key = SecretKey::random();
    let mut rows = 0;
    for table in Table::ALL {
        let def: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new(table.name());
        let opened = txn.open_table(def).unwrap();
        for entry in opened.iter().unwrap() {
            let (key, value) = entry.unwrap();
            let (key, value) = (key.value(), value.value());
            assert!(
                value.len() >= NONCE_LEN + TAG_LEN,
                "a {}-byte value in `{}` is not AEAD framed",
                value.len(),
                table.name()
            );
            assert!(wrong_key.open(&aad(table, key), value).is_err());
            // The right key opens it, but only for its own row.
            assert!(value_key.open(&aad(table, key), value).is_ok());
            assert!(value_key.open(&aad(table, b"another row"), value).is_err());
            rows += 1;
        }
    }
    // meta + profile + 2 × (group + doc + author + 21 envelopes)
    assert_eq!(rows, 1 + 1 + 2 * (3 + 21));
    drop(txn);
    drop(db);

    let bytes = fs::read(&path).unwrap();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(b"meta"),
        "table names should be visible: the search works"
    );
    for text in &markers {
        assert!(!contains(text.as_bytes()), "{text} is in the file");
    }
    assert!(!contains(b"MARKER"));
    for g in &groups {
        assert!(!contains(g.as_bytes()), "a raw group id is in the file");
    }
    assert!(!contains(d.as_bytes()), "a raw document id is in the file");
    assert!(!contains(a.as_bytes()), "a raw member id is in the file");
}
