//! What a seized disk reveals: nothing readable.

use plenum_tests::{Profile, files_under};
use redb::{ReadableDatabase, ReadableTable, TableHandle};

const MARKERS: [&str; 6] = [
    "MARKERGROUPNAME",
    "MARKERMESSAGE",
    "MARKERPADTEXT",
    "MARKERCARDTITLE",
    "MARKERPERSON",
    "MARKERBOARDNAME",
];

fn populated() -> Profile {
    let p = Profile::new("MARKERPERSON");
    p.ok(&["group", "create", "MARKERGROUPNAME"]);
    for i in 0..20 {
        p.ok(&[
            "chat",
            "send",
            "MARKERGROUPNAME",
            &format!("MARKERMESSAGE {i}"),
        ]);
    }
    p.ok(&["pad", "create", "MARKERGROUPNAME", "Minutes"]);
    p.run_with_stdin(
        &["pad", "write", "MARKERGROUPNAME", "Minutes"],
        "MARKERPADTEXT\n",
    );
    p.ok(&["board", "create", "MARKERGROUPNAME", "MARKERBOARDNAME"]);
    p.ok(&[
        "board",
        "column",
        "add",
        "MARKERGROUPNAME",
        "MARKERBOARDNAME",
        "To do",
    ]);
    p.ok(&[
        "board",
        "card",
        "add",
        "MARKERGROUPNAME",
        "MARKERBOARDNAME",
        "To do",
        "MARKERCARDTITLE",
    ]);
    p
}

#[test]
fn markers_appear_in_no_file_of_the_data_directory() {
    let p = populated();
    let files = files_under(&p.data);
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        for marker in MARKERS {
            let found = bytes.windows(marker.len()).any(|w| w == marker.as_bytes());
            assert!(!found, "{marker} is readable in {}", file.display());
        }
    }
    // And the data is really there, for whoever has the key.
    assert!(
        p.ok(&["chat", "log", "MARKERGROUPNAME"])
            .contains("MARKERMESSAGE 19")
    );
}

#[test]
fn every_stored_value_is_aead_framed() {
    let p = populated();
    let db = redb::Database::open(p.data.join("plenum.redb")).expect("open raw database");
    let read = db.begin_read().expect("read txn");
    let wrong = plenum_core::crypto::SecretKey::random();
    let mut values = 0;
    for handle in read.list_tables().expect("tables") {
        let def: redb::TableDefinition<'_, &[u8], &[u8]> =
            redb::TableDefinition::new(handle.name());
        let table = match read.open_table(def) {
            Ok(t) => t,
            // A table keyed by strings (metadata) is opened with its own key type.
            Err(_) => continue,
        };
        for row in table.iter().expect("iter") {
            let (key, value) = row.expect("row");
            let value = value.value();
            assert!(
                value.len() >= 24 + 16,
                "value in {} is not AEAD framed ({} bytes)",
                handle.name(),
                value.len()
            );
            assert!(
                wrong.open(key.value(), value).is_err(),
                "a value opened under a wrong key"
            );
            values += 1;
        }
    }
    assert!(values > 25, "expected the profile's rows, found {values}");
}
