//! Reading other tools' exports: WhatsApp and Telegram chats, Trello boards, Etherpad
//! pads. Pure: bytes in, typed records out, no I/O, every size bounded.
//!
//! A parser either returns the whole file's records or an error that says what is
//! wrong and where; the node then applies the records in one commit, so an import is
//! all or nothing.
//!
//! ```
//! use plenum_core::import::whatsapp;
//!
//! let chat = whatsapp::parse(b"31/12/2021, 23:59 - Ana: Happy new year!\n", "chat.txt").unwrap();
//! assert_eq!(chat.messages[0].author, "Ana");
//! assert_eq!(chat.messages[0].text, "Happy new year!");
//! ```

use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod archive;
#[cfg(test)]
pub(crate) use archive::tests as archive_tests;
pub mod etherpad;
pub mod telegram;
pub mod trello;
pub mod whatsapp;

/// The largest file an import takes, in bytes. A chat exported "without media" is far
/// smaller; media are not imported yet, so there is no reason to send them.
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;
/// The longest line a text export may have, in bytes.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The most messages (or cards) one import may bring.
pub const MAX_RECORDS: usize = 1_000_000;

/// Where an import comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImportSource {
    /// A WhatsApp chat export (`.txt`, or the `.zip` WhatsApp makes).
    Whatsapp,
    /// A Telegram Desktop JSON export (`result.json`).
    Telegram,
    /// A Trello board's JSON export.
    Trello,
    /// An Etherpad export (`.etherpad`), or plain text or Markdown.
    Etherpad,
}

impl ImportSource {
    /// The name people know the source by.
    pub fn label(self) -> &'static str {
        match self {
            ImportSource::Whatsapp => "WhatsApp",
            ImportSource::Telegram => "Telegram",
            ImportSource::Trello => "Trello",
            ImportSource::Etherpad => "Etherpad",
        }
    }
}

/// One message of an imported chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedMessage {
    /// When it was sent, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The original author's name as the export gives it (unverified).
    pub author: String,
    /// The text, without attachment markers.
    pub text: String,
    /// Names of attached files the export mentions.
    pub attachments: Vec<String>,
    /// The export says a file was attached but left it out ("<Media omitted>").
    pub media_omitted: bool,
    /// The message's id in the source, where it has one (Telegram).
    pub source_id: Option<String>,
    /// The source id of the message this replies to.
    pub reply_to: Option<String>,
}

impl ImportedMessage {
    /// The text as it is stored: the message, then a line per attachment.
    pub fn display_text(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        if !self.text.trim().is_empty() {
            lines.push(self.text.clone());
        }
        for name in &self.attachments {
            lines.push(format!("📎 {name}"));
        }
        if self.media_omitted {
            lines.push("📎 (a file the export left out)".to_owned());
        }
        lines.join("\n")
    }
}

/// An imported chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedChat {
    /// The chat's name, where the export says it.
    pub name: Option<String>,
    /// Messages in the export's order.
    pub messages: Vec<ImportedMessage>,
    /// Lines or entries that were not messages (joins, leaves, encryption notices) or
    /// were messages deleted before the export.
    pub skipped: usize,
}

/// Why an export could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportError {
    /// The file is over a size limit.
    #[error(
        "the {what} is {len} bytes; imports take at most {limit} bytes (export the chat without media, or split it)"
    )]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size (or how much was read before stopping).
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A line over [`MAX_LINE_BYTES`].
    #[error(
        "line {line} is longer than {limit} bytes; this is not a chat export (or it is damaged)"
    )]
    LineTooLong {
        /// The line number (1-based).
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// Text that is not UTF-8.
    #[error("line {line} is not UTF-8 text; re-export the file, or convert it to UTF-8 first")]
    NotUtf8 {
        /// The line number (1-based).
        line: usize,
    },
    /// A zip archive that cannot be read safely.
    #[error("the zip archive {0}")]
    Zip(String),
    /// The file is not in the expected format.
    #[error("{0}")]
    Format(String),
    /// Nothing to import.
    #[error("{0}")]
    Empty(String),
}

/// Splits text into lines (`\n`, `\r\n`), each checked against [`MAX_LINE_BYTES`] and
/// for UTF-8, numbered from 1.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = Result<(usize, &str), ImportError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.split(|&b| b == b'\n').enumerate().map(|(i, line)| {
        let line_no = i + 1;
        if line.len() > MAX_LINE_BYTES {
            return Err(ImportError::LineTooLong {
                line: line_no,
                limit: MAX_LINE_BYTES,
            });
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        std::str::from_utf8(line)
            .map(|s| (line_no, s))
            .map_err(|_| ImportError::NotUtf8 { line: line_no })
    })
}

/// Checks the size of a whole file.
pub(crate) fn check_size(what: &'static str, bytes: &[u8]) -> Result<(), ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge {
            what,
            len: bytes.len() as u64,
            limit: MAX_IMPORT_BYTES as u64,
        });
    }
    Ok(())
}

/// Whether the bytes are a zip archive.
pub(crate) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Bidirectional-text marks WhatsApp and others sprinkle into exports.
pub(crate) fn is_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Text without bidirectional marks.
pub(crate) fn strip_marks(s: &str) -> String {
    s.chars().filter(|&c| !is_mark(c)).collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether a day exists in a month.
pub(crate) fn valid_date(year: i64, month: u32, day: u32) -> bool {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Milliseconds since the epoch of a wall-clock time `offset_minutes` east of UTC.
pub(crate) fn to_millis(
    (year, month, day): (i64, u32, u32),
    (hour, minute, second): (u32, u32, u32),
    offset_minutes: i32,
) -> Option<u64> {
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
        - i64::from(offset_minutes) * 60;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// Parses an ISO 8601 / RFC 3339 time (`2021-12-31T23:59:59`, with optional fraction
/// and `Z` or offset; none means `offset_minutes`).
pub(crate) fn parse_iso(s: &str, offset_minutes: i32) -> Option<u64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    if !valid_date(year, month, day) {
        return None;
    }
    let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (&time[..i], Some(&time[i..])),
        None => (time, None),
    };
    let clock = clock.split('.').next()?;
    let mut t = clock.split(':');
    let hour: u32 = t.next()?.parse().ok()?;
    let minute: u32 = t.next()?.parse().ok()?;
    let second: u32 = t.next().map_or(Some(0), |s| s.parse().ok())?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset = match zone {
        None => offset_minutes,
        Some("Z" | "z") => 0,
        Some(z) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            let h: i32 = digits[..2].parse().ok()?;
            let m: i32 = digits[2..].parse().ok()?;
            sign * (h * 60 + m)
        }
    };
    to_millis((year, month, day), (hour, minute, second), offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_iso_times() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            parse_iso("2021-12-31T23:59:59.123Z", 0),
            Some(1_640_995_199_000)
        );
        assert_eq!(
            parse_iso("2022-01-01T00:59:59+01:00", 0),
            Some(1_640_995_199_000)
        );
        assert_eq!(parse_iso("2021-12-31T23:59:59", 0), Some(1_640_995_199_000));
        assert_eq!(parse_iso("2021-02-30T00:00:00", 0), None);
        assert!(!valid_date(2021, 2, 29) && valid_date(2024, 2, 29));
    }

    #[test]
    fn lines_are_bounded_and_checked() {
        let text = b"one\r\ntwo\n\xff\n";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(got[0], Ok((1, "one")));
        assert_eq!(got[1], Ok((2, "two")));
        assert_eq!(got[2], Err(ImportError::NotUtf8 { line: 3 }));
        let long = vec![b'a'; MAX_LINE_BYTES + 1];
        assert!(matches!(
            lines(&long).next(),
            Some(Err(ImportError::LineTooLong { line: 1, .. }))
        ));
    }
}
