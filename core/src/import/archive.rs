//! Reading one file out of a zip archive without trusting the archive: a bounded
//! number of entries, no entry name that climbs out of the archive or is absolute,
//! and the chosen entry's size checked both as declared and while it is inflated (a
//! zip bomb declares a small size and inflates to gigabytes).

use std::io::{Cursor, Read};

use super::ImportError;

/// The most entries an archive may have.
pub(crate) const MAX_ENTRIES: usize = 65_536;
/// The largest entry, inflated, that is read.
pub(crate) const MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;

/// Whether an entry name stays inside the archive: relative, no `..`, no drive.
fn safe_name(name: &str) -> bool {
    let absolute = name.starts_with(['/', '\\']) || (name.len() >= 2 && name.as_bytes()[1] == b':');
    let climbs = name.split(['/', '\\']).any(|part| part == "..");
    !(absolute || climbs || name.contains('\0'))
}

/// Reads the archive's entry names, lets `pick` choose one of them by index, and
/// returns the names and that entry's bytes.
pub(crate) fn read_one(
    bytes: &[u8],
    pick: impl FnOnce(&[String]) -> Result<usize, ImportError>,
) -> Result<(Vec<String>, Vec<u8>), ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError::Zip(format!("cannot be read ({e})")))?;
    if archive.len() > MAX_ENTRIES {
        return Err(ImportError::Zip(format!(
            "has {} entries; at most {MAX_ENTRIES} are accepted",
            archive.len()
        )));
    }
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let name = archive
            .name_for_index(i)
            .ok_or_else(|| ImportError::Zip(format!("lists entry {i} but it is missing")))?
            .map_err(|e| ImportError::Zip(format!("has an unreadable entry name ({e})")))?
            .into_owned();
        if !safe_name(&name) {
            return Err(ImportError::Zip(format!(
                "has an entry `{name}` that points outside the archive; refusing the whole archive"
            )));
        }
        names.push(name);
    }
    let index = pick(&names)?;
    let mut entry = archive
        .by_index(index)
        .map_err(|e| ImportError::Zip(format!("cannot open `{}` ({e})", names[index])))?;
    if entry.size() > MAX_ENTRY_BYTES {
        return Err(ImportError::TooLarge {
            what: "file inside the zip archive",
            len: entry.size(),
            limit: MAX_ENTRY_BYTES,
        });
    }
    let mut data = Vec::new();
    (&mut entry)
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| ImportError::Zip(format!("entry `{}` is damaged ({e})", names[index])))?;
    if data.len() as u64 > MAX_ENTRY_BYTES {
        return Err(ImportError::TooLarge {
            what: "file inside the zip archive (it inflates past its declared size)",
            len: data.len() as u64,
            limit: MAX_ENTRY_BYTES,
        });
    }
    Ok((names, data))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A zip archive of `(name, bytes)` entries, deflated.
    pub(crate) fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn picks_an_entry_and_refuses_paths_out_of_the_archive() {
        let zip = make_zip(&[("a.txt", b"hello"), ("media/b.jpg", b"\xff\xd8")]);
        let (names, data) = read_one(&zip, |_| Ok(0)).unwrap();
        assert_eq!(names, ["a.txt", "media/b.jpg"]);
        assert_eq!(data, b"hello");
        for evil in ["../../etc/passwd", "/etc/passwd", "media/../../x", "C:\\x"] {
            let zip = make_zip(&[("a.txt", b"hello"), (evil, b"x")]);
            let err = read_one(&zip, |_| Ok(0)).unwrap_err();
            assert!(
                err.to_string().contains("outside the archive"),
                "{evil}: {err}"
            );
        }
        assert!(matches!(
            read_one(b"PK\x03\x04 truncated", |_| Ok(0)),
            Err(ImportError::Zip(_))
        ));
    }

    #[test]
    fn an_entry_that_lies_about_its_size_is_refused() {
        // 80 MiB of zeros whose headers claim 1,000 bytes: reading stops where the
        // claim ends and the checksum no longer matches, or at the limit.
        let mut zip = make_zip(&[("_chat.txt", &vec![0u8; 80 * 1024 * 1024])]);
        let patch = |zip: &mut Vec<u8>, signature: u32, size_at: usize| {
            let at = (0..zip.len() - 4)
                .find(|&i| zip[i..i + 4] == signature.to_le_bytes())
                .unwrap();
            zip[at + size_at..at + size_at + 4].copy_from_slice(&1000u32.to_le_bytes());
        };
        patch(&mut zip, 0x0403_4b50, 22);
        patch(&mut zip, 0x0201_4b50, 24);
        let err = read_one(&zip, |_| Ok(0)).unwrap_err();
        assert!(
            matches!(err, ImportError::Zip(_) | ImportError::TooLarge { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_zip_bomb_stops_at_the_limit() {
        // 80 MiB of zeros deflates to about 80 KiB.
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        out.start_file("_chat.txt", options).unwrap();
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..80 {
            out.write_all(&chunk).unwrap();
        }
        let zip = out.finish().unwrap().into_inner();
        assert!(zip.len() < 1024 * 1024);
        let err = read_one(&zip, |_| Ok(0)).unwrap_err();
        assert!(matches!(err, ImportError::TooLarge { .. }), "{err}");
    }
}
