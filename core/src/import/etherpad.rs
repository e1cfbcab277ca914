//! A pad from Etherpad: its `.etherpad` export (JSON whose `pad:NAME` record holds the
//! current text in `atext.text`), or any plain text or Markdown file.

use serde_json::Value;

use super::{ImportError, check_size};
use crate::docs::pad::MAX_PAD_LEN;

/// An imported pad.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedPad {
    /// The pad's name: Etherpad's, or the file's name without its extension.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// Reads an `.etherpad` export or a text file called `file_name`.
pub fn parse(bytes: &[u8], file_name: &str) -> Result<ImportedPad, ImportError> {
    check_size("pad file", bytes)?;
    let stem = file_name
        .rsplit(['/', '\\'])
        .next()
        .map(|b| b.rsplit_once('.').map_or(b, |(s, _)| s))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("Imported pad")
        .to_owned();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let etherpad = file_name.to_lowercase().ends_with(".etherpad");
    let (name, text) = if etherpad || bytes.trim_ascii_start().starts_with(b"{\"pad:") {
        from_etherpad(bytes)?
    } else {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            ImportError::NotUtf8 { line }
        })?;
        (stem, text.replace("\r\n", "\n"))
    };
    if text.len() > MAX_PAD_LEN {
        return Err(ImportError::TooLarge {
            what: "pad text",
            len: text.len() as u64,
            limit: MAX_PAD_LEN as u64,
        });
    }
    if text.trim().is_empty() {
        return Err(ImportError::Empty("the pad file is empty".into()));
    }
    Ok(ImportedPad { name, text })
}

fn from_etherpad(bytes: &[u8]) -> Result<(String, String), ImportError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::Format(format!(
            "this is not a readable .etherpad export ({e}); export the pad from Etherpad again, or as plain text"
        ))
    })?;
    let Value::Object(records) = value else {
        return Err(ImportError::Format(
            "an .etherpad export is a JSON object of `pad:…` records".into(),
        ));
    };
    for (key, record) in &records {
        let Some(name) = key.strip_prefix("pad:") else {
            continue;
        };
        if name.contains(':') {
            continue; // revisions, chat, authors
        }
        let text = record
            .get("atext")
            .and_then(|a| a.get("text"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ImportError::Format(format!("the record `{key}` has no text (atext.text)"))
            })?;
        return Ok((name.to_owned(), text.to_owned()));
    }
    Err(ImportError::Format(
        "the .etherpad export has no `pad:NAME` record".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/import/etherpad/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn an_etherpad_export_gives_its_name_and_current_text() {
        let pad = parse(&fixture("minutes.etherpad"), "minutes.etherpad").unwrap();
        assert_eq!(pad.name, "assembly-minutes");
        assert_eq!(
            pad.text,
            "Assembly minutes\n\n* rent strike: yes\n* next meeting: Thursday\n"
        );
    }

    #[test]
    fn markdown_and_text_files_are_pads_named_after_the_file() {
        let pad = parse(&fixture("demands.md"), "/home/ana/demands.md").unwrap();
        assert_eq!(pad.name, "demands");
        assert!(pad.text.starts_with("# Our demands\n\n1. Fix the heating"));
        assert!(!pad.text.contains('\r'));
    }

    #[test]
    fn bad_pads_are_refused() {
        let bytes = fixture("minutes.etherpad");
        let err = parse(&bytes[..bytes.len() / 2], "minutes.etherpad").unwrap_err();
        assert!(err.to_string().contains(".etherpad"), "{err}");
        let err = parse(b"ok\n\xff", "x.txt").unwrap_err();
        assert_eq!(err, ImportError::NotUtf8 { line: 2 });
        let err = parse(b"  \n", "x.txt").unwrap_err();
        assert!(matches!(err, ImportError::Empty(_)));
        let big = vec![b'a'; MAX_PAD_LEN + 1];
        assert!(matches!(
            parse(&big, "x.txt"),
            Err(ImportError::TooLarge { .. })
        ));
    }
}
