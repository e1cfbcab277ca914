//! WhatsApp's "Export chat": a text file (Android names it `WhatsApp Chat with X.txt`,
//! iOS `_chat.txt`), alone or in a zip with the media.
//!
//! A message starts with a line that begins with its date and time, in one of two
//! shapes — `31/12/21, 23:59 - Name: text` (Android) or `[31.12.21, 23:59:59] Name:
//! text` (iOS) — and goes on over the following lines until the next such line. The
//! date's order (day or month first) follows the phone's locale and the file never
//! says it, so it is inferred from the whole file: the order in which every date is a
//! real date and the dates run forward. Clocks are 24-hour or 12-hour, with markers
//! such as `PM`, `p. m.` or `a.m.`, often after a narrow no-break space (U+202F).
//! Lines without an author (joins, leaves, the encryption notice) are system lines and
//! are skipped; so are iOS's author lines whose text starts with U+200E and is no
//! attachment. Attachments appear as `<Media omitted>` and its translations when the
//! export left them out, or by file name (`IMG-….jpg (file attached)`, `<attached:
//! 00000012-PHOTO-….jpg>`) when it kept them.

use super::archive;
use super::{
    ImportError, ImportedChat, ImportedMessage, check_size, is_mark, is_zip, lines, strip_marks,
    to_millis, valid_date,
};

/// A line that starts a message or a system line.
struct Header<'a> {
    line: usize,
    date: [u32; 3],
    /// The first date part had four digits: year first.
    year_first: bool,
    separator: char,
    hour: u32,
    minute: u32,
    second: u32,
    /// `Some(true)` for PM, `Some(false)` for AM, `None` on a 24-hour clock.
    pm: Option<bool>,
    bracketed: bool,
    rest: &'a str,
}

/// A header with the lines that follow it.
struct Entry<'a> {
    header: Header<'a>,
    more: Vec<&'a str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DateOrder {
    DayMonthYear,
    MonthDayYear,
    YearMonthDay,
}

/// Reads a WhatsApp export (text or zip) with times taken as UTC.
pub fn parse(bytes: &[u8], file_name: &str) -> Result<ImportedChat, ImportError> {
    parse_at_offset(bytes, file_name, 0)
}

/// Reads a WhatsApp export whose times are wall-clock times `offset_minutes` east of
/// UTC (WhatsApp writes the phone's local time and no zone).
pub fn parse_at_offset(
    bytes: &[u8],
    file_name: &str,
    offset_minutes: i32,
) -> Result<ImportedChat, ImportError> {
    check_size("WhatsApp export", bytes)?;
    let mut name = chat_name(file_name);
    let text;
    let bytes = if is_zip(bytes) {
        let (names, data) = archive::read_one(bytes, pick_chat)?;
        if name.is_none() {
            name = names.iter().find_map(|n| chat_name(n));
        }
        text = data;
        &text[..]
    } else {
        bytes
    };
    let entries = entries(bytes)?;
    let order = date_order(&entries)?;
    let mut messages = Vec::new();
    let mut skipped = 0;
    for entry in &entries {
        match message(entry, order, offset_minutes)? {
            Some(m) => messages.push(m),
            None => skipped += 1,
        }
        if messages.len() > super::MAX_RECORDS {
            return Err(ImportError::TooLarge {
                what: "number of messages",
                len: messages.len() as u64,
                limit: super::MAX_RECORDS as u64,
            });
        }
    }
    if messages.is_empty() {
        return Err(ImportError::Empty(
            "the WhatsApp export holds no messages (only system lines)".into(),
        ));
    }
    Ok(ImportedChat {
        name,
        messages,
        skipped,
    })
}

/// The chat text inside a WhatsApp zip: `_chat.txt`, or its one `.txt` file.
fn pick_chat(names: &[String]) -> Result<usize, ImportError> {
    if let Some(i) = names
        .iter()
        .position(|n| n.rsplit('/').next() == Some("_chat.txt"))
    {
        return Ok(i);
    }
    let texts: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].to_lowercase().ends_with(".txt"))
        .collect();
    match texts.as_slice() {
        [one] => Ok(*one),
        [] => Err(ImportError::Format(
            "the zip archive holds no chat text (.txt); is it a WhatsApp export?".into(),
        )),
        _ => Err(ImportError::Format(format!(
            "the zip archive holds {} text files; import the chat's .txt file itself",
            texts.len()
        ))),
    }
}

/// The chat's name from a file name WhatsApp chose, in a few languages.
fn chat_name(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next()?;
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem).trim();
    const PREFIXES: [&str; 8] = [
        "WhatsApp Chat with ",
        "WhatsApp Chat mit ",
        "Chat de WhatsApp con ",
        "Discussion WhatsApp avec ",
        "Conversa do WhatsApp com ",
        "WhatsApp-chat met ",
        "WhatsApp Chat - ",
        "WhatsApp-Chat mit ",
    ];
    let name = PREFIXES.iter().find_map(|p| stem.strip_prefix(p))?.trim();
    (!name.is_empty()).then(|| strip_marks(name))
}

/// Splits the text into headers and their continuation lines.
fn entries(bytes: &[u8]) -> Result<Vec<Entry<'_>>, ImportError> {
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for line in lines(bytes) {
        let (number, line) = line?;
        if let Some(header) = header(number, line) {
            entries.push(Entry {
                header,
                more: Vec::new(),
            });
        } else if let Some(last) = entries.last_mut() {
            last.more.push(line);
        } else if !line.trim().is_empty() {
            return Err(not_whatsapp(number));
        }
    }
    if entries.is_empty() {
        return Err(not_whatsapp(1));
    }
    Ok(entries)
}

fn not_whatsapp(line: usize) -> ImportError {
    ImportError::Format(format!(
        "this does not look like a WhatsApp chat export: line {line} does not start with a date and time such as `31/12/21, 23:59 - Name: text` or `[31.12.21, 23:59:59] Name: text`"
    ))
}

/// Parses a line's date-and-time start, if it has one.
fn header(line_no: usize, line: &str) -> Option<Header<'_>> {
    let line = line.trim_start_matches(|c: char| is_mark(c) || c == ' ');
    let (stamp, rest, bracketed) = if let Some(inner) = line.strip_prefix('[') {
        let (stamp, rest) = inner.split_once(']')?;
        (stamp, rest.strip_prefix(' ').unwrap_or(rest), true)
    } else {
        let (stamp, rest) = line.split_once(" - ")?;
        (stamp, rest, false)
    };
    let stamp = stamp.trim_matches(is_mark);
    // Date, then (after a comma and/or space) the time.
    let split = stamp.find([',', ' '])?;
    let (date, time) = stamp.split_at(split);
    let time = time.trim_start_matches([',', ' ']);
    let separator = date.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = date
        .split(['/', '.', '-'])
        .filter(|p| !p.is_empty())
        .collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if ![a, b, c]
        .iter()
        .all(|p| p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let date = [a.parse().ok()?, b.parse().ok()?, c.parse().ok()?];
    let (hour, minute, second, pm) = clock(time)?;
    Some(Header {
        line: line_no,
        date,
        year_first: a.len() == 4,
        separator,
        hour,
        minute,
        second,
        pm,
        bracketed,
        rest,
    })
}

/// `23:59`, `23:59:59`, `3:04 PM`, `3:04\u{202f}p. m.` → (hour, minute, second, pm).
fn clock(time: &str) -> Option<(u32, u32, u32, Option<bool>)> {
    let digits_end = time
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(time.len());
    let (digits, marker) = time.split_at(digits_end);
    // Some locales write 23.59; only accept dots when there are no colons.
    let parts: Vec<&str> = if digits.contains(':') {
        digits.trim_end_matches('.').split(':').collect()
    } else {
        digits.trim_end_matches('.').split('.').collect()
    };
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] => (h.parse().ok()?, m.parse().ok()?, 0),
        [h, m, s] => (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?),
        _ => return None,
    };
    if minute > 59 || second > 59 {
        return None;
    }
    let marker: String = marker
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == '.' || is_mark(*c)))
        .flat_map(char::to_lowercase)
        .collect();
    let pm = match marker.as_str() {
        "" => None,
        "am" => Some(false),
        "pm" => Some(true),
        _ => return None,
    };
    match pm {
        None if hour > 23 => return None,
        Some(_) if !(1..=12).contains(&hour) => return None,
        _ => {}
    }
    Some((hour, minute, second, pm))
}

/// The date order that makes every date real and the dates run forward the most.
fn date_order(entries: &[Entry<'_>]) -> Result<DateOrder, ImportError> {
    if entries.iter().all(|e| e.header.year_first) {
        let order = DateOrder::YearMonthDay;
        if let Some(bad) = entries.iter().find(|e| ymd(&e.header, order).is_none()) {
            return Err(bad_date(&bad.header));
        }
        return Ok(order);
    }
    let backwards = |order| -> Option<usize> {
        let mut count = 0;
        let mut last = None;
        for entry in entries {
            let date = ymd(&entry.header, order)?;
            if last.is_some_and(|l| date < l) {
                count += 1;
            }
            last = Some(date);
        }
        Some(count)
    };
    let dmy = backwards(DateOrder::DayMonthYear);
    let mdy = backwards(DateOrder::MonthDayYear);
    match (dmy, mdy) {
        (Some(d), Some(m)) if d < m => Ok(DateOrder::DayMonthYear),
        (Some(d), Some(m)) if m < d => Ok(DateOrder::MonthDayYear),
        (Some(_), Some(_)) => {
            // Both fit equally well: the locale's habit decides (US phones write
            // month first with a 12-hour clock; dotted dates are day first).
            let first = &entries[0].header;
            Ok(if first.separator == '/' && first.pm.is_some() {
                DateOrder::MonthDayYear
            } else {
                DateOrder::DayMonthYear
            })
        }
        (Some(_), None) => Ok(DateOrder::DayMonthYear),
        (None, Some(_)) => Ok(DateOrder::MonthDayYear),
        (None, None) => {
            let bad = entries
                .iter()
                .find(|e| ymd(&e.header, DateOrder::DayMonthYear).is_none())
                .unwrap_or(&entries[0]);
            Err(bad_date(&bad.header))
        }
    }
}

fn bad_date(header: &Header<'_>) -> ImportError {
    ImportError::Format(format!(
        "line {}: `{}` is not a date in either day-month or month-day order",
        header.line,
        header
            .date
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(&header.separator.to_string())
    ))
}

/// (year, month, day) under `order`, if it is a real date.
fn ymd(header: &Header<'_>, order: DateOrder) -> Option<(i64, u32, u32)> {
    let [a, b, c] = header.date;
    let (y, m, d) = match order {
        DateOrder::DayMonthYear => (c, b, a),
        DateOrder::MonthDayYear => (c, a, b),
        DateOrder::YearMonthDay => (a, b, c),
    };
    let year = if y < 100 {
        2000 + i64::from(y)
    } else {
        i64::from(y)
    };
    valid_date(year, m, d).then_some((year, m, d))
}

/// The message an entry holds, or `None` for a system line.
fn message(
    entry: &Entry<'_>,
    order: DateOrder,
    offset_minutes: i32,
) -> Result<Option<ImportedMessage>, ImportError> {
    let h = &entry.header;
    let date = ymd(h, order).ok_or_else(|| bad_date(h))?;
    let hour = match h.pm {
        None => h.hour,
        Some(false) => h.hour % 12,
        Some(true) => h.hour % 12 + 12,
    };
    let time_ms = to_millis(date, (hour, h.minute, h.second), offset_minutes)
        .ok_or_else(|| ImportError::Format(format!("line {}: the date is before 1970", h.line)))?;
    let Some((author, first)) = h.rest.split_once(": ") else {
        // "Ana added Ben", "Messages and calls are end-to-end encrypted", …
        return Ok(None);
    };
    let author = strip_marks(author).trim().to_owned();
    if author.is_empty() {
        return Ok(None);
    }
    let marked = first.starts_with(is_mark);
    let first = first.trim_start_matches(is_mark);
    let mut attachments = Vec::new();
    let mut media_omitted = false;
    let mut body: Vec<String> = Vec::new();
    if is_omitted(first) {
        media_omitted = true;
    } else if let Some(name) = attached_name(first) {
        attachments.push(name);
    } else if h.bracketed && marked {
        // iOS marks system lines in a group with U+200E after the group's name.
        return Ok(None);
    } else {
        body.push(strip_marks(first));
    }
    body.extend(entry.more.iter().map(|l| strip_marks(l)));
    while body.last().is_some_and(|l| l.trim().is_empty()) {
        body.pop();
    }
    let mut text = body.join("\n");
    if let Some(kept) = strip_edited(&text) {
        text = kept;
    }
    if is_deleted(&text) {
        return Ok(None);
    }
    if text.trim().is_empty() && attachments.is_empty() && !media_omitted {
        return Ok(None);
    }
    Ok(Some(ImportedMessage {
        time_ms,
        author,
        text,
        attachments,
        media_omitted,
        source_id: None,
        reply_to: None,
    }))
}

/// The text without the marker newer exports append to edited messages.
fn strip_edited(text: &str) -> Option<String> {
    const EDITED: [&str; 5] = [
        "<This message was edited>",
        "<Diese Nachricht wurde bearbeitet>",
        "<Se editó este mensaje.>",
        "<Ce message a été modifié>",
        "<Essa mensagem foi editada>",
    ];
    let trimmed = text.trim_end();
    EDITED
        .iter()
        .find_map(|m| trimmed.strip_suffix(m))
        .map(|t| t.trim_end().to_owned())
}

/// What a message deleted for everyone leaves in an export: nothing to import.
fn is_deleted(text: &str) -> bool {
    const DELETED: [&str; 8] = [
        "this message was deleted",
        "you deleted this message",
        "diese nachricht wurde gelöscht.",
        "du hast diese nachricht gelöscht.",
        "se eliminó este mensaje.",
        "eliminaste este mensaje.",
        "ce message a été supprimé",
        "vous avez supprimé ce message",
    ];
    let text = text.trim().to_lowercase();
    let text = text.trim_end_matches('.');
    DELETED.iter().any(|d| d.trim_end_matches('.') == text)
}

/// "<Media omitted>" and its translations, Android and iOS.
fn is_omitted(text: &str) -> bool {
    const OMITTED: [&str; 30] = [
        "<media omitted>",
        "<medien ausgeschlossen>",
        "<multimedia omitido>",
        "<archivo omitido>",
        "<médias omis>",
        "<mídia oculta>",
        "<arquivo de mídia oculto>",
        "<media weggelaten>",
        "<media omessi>",
        "image omitted",
        "video omitted",
        "audio omitted",
        "sticker omitted",
        "gif omitted",
        "document omitted",
        "contact card omitted",
        "bild weggelassen",
        "video weggelassen",
        "audio weggelassen",
        "sticker weggelassen",
        "gif weggelassen",
        "dokument weggelassen",
        "imagen omitida",
        "video omitido",
        "audio omitido",
        "sticker omitido",
        "gif omitido",
        "documento omitido",
        "image absente",
        "vidéo absente",
    ];
    let text = strip_marks(text).trim().to_lowercase();
    OMITTED.contains(&text.as_str())
}

/// The file name in `IMG-….jpg (file attached)` or `<attached: 00000012-PHOTO….jpg>`
/// and their translations.
fn attached_name(text: &str) -> Option<String> {
    let text = strip_marks(text);
    let text = text.trim();
    const SUFFIXES: [&str; 7] = [
        " (file attached)",
        " (Datei angehängt)",
        " (archivo adjunto)",
        " (fichier joint)",
        " (arquivo anexado)",
        " (bestand bijgevoegd)",
        " (file allegato)",
    ];
    if let Some(name) = SUFFIXES.iter().find_map(|s| text.strip_suffix(s)) {
        return Some(name.trim().to_owned());
    }
    const PREFIXES: [&str; 7] = [
        "attached:",
        "anhang:",
        "adjunto:",
        "pièce jointe :",
        "pièce jointe:",
        "anexado:",
        "bijlage:",
    ];
    let inner = text.strip_prefix('<')?.strip_suffix('>')?;
    let lower = inner.to_lowercase();
    let prefix = PREFIXES.iter().find(|p| lower.starts_with(*p))?;
    // The prefixes are ASCII but for "pièce", whose lowercase has the same length.
    let name = inner.get(prefix.len()..)?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests;
