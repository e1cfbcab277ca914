//! Telegram Desktop's JSON export (`result.json`): one chat (`{"name", "messages"}`)
//! or a full export (`{"chats": {"list": [...]}}`), from which one chat is picked by
//! name. Text is a string or an array of strings and entities (`{"type": "bold",
//! "text": …}`); `date_unixtime` (seconds, as a string) is preferred over `date`,
//! which is local time without a zone. Service entries (joins, pins, calls) are
//! skipped.

use serde::Deserialize;
use serde_json::Value;

use super::{ImportError, ImportedChat, ImportedMessage, check_size, parse_iso};

#[derive(Deserialize)]
struct Export {
    #[serde(default)]
    chats: Option<ChatList>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    messages: Option<Vec<Message>>,
}

#[derive(Deserialize)]
struct ChatList {
    #[serde(default)]
    list: Vec<Chat>,
}

#[derive(Deserialize, Default)]
struct Chat {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    messages: Option<Vec<Message>>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    date_unixtime: Option<Value>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    text: Value,
    #[serde(default)]
    reply_to_message_id: Option<Value>,
    #[serde(default)]
    photo: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

/// Reads a Telegram export; `chat` picks one chat of a full export by name (any chat
/// in a single-chat export must match it too, when given). Times without a zone are
/// `offset_minutes` east of UTC.
pub fn parse(
    bytes: &[u8],
    chat: Option<&str>,
    offset_minutes: i32,
) -> Result<ImportedChat, ImportError> {
    check_size("Telegram export", bytes)?;
    let export: Export = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::Format(format!(
            "this is not a readable Telegram JSON export ({e}); export the chat from Telegram Desktop as \"Machine-readable JSON\""
        ))
    })?;
    let picked = pick(export, chat)?;
    let name = picked.name.clone();
    let chat_id = picked.id.as_ref().map(value_string);
    let mut messages = Vec::new();
    let mut skipped = 0;
    for (index, m) in picked.messages.unwrap_or_default().into_iter().enumerate() {
        if m.kind.as_deref().is_some_and(|k| k != "message") {
            skipped += 1;
            continue;
        }
        let time_ms = time(&m, offset_minutes).ok_or_else(|| {
            ImportError::Format(format!(
                "message {} (entry {index}) has no readable date",
                m.id.as_ref().map(value_string).unwrap_or_default()
            ))
        })?;
        let text = text(&m.text).ok_or_else(|| {
            ImportError::Format(format!(
                "message {} has text that is neither a string nor a list of parts",
                m.id.as_ref().map(value_string).unwrap_or_default()
            ))
        })?;
        let attachments: Vec<String> = [
            m.photo.as_deref(),
            m.file_name.as_deref().or(m.file.as_deref()),
        ]
        .into_iter()
        .flatten()
        .filter(|f| !f.is_empty())
        .map(|f| {
            if f.starts_with("(File not included") {
                "(a file the export left out)".to_owned()
            } else {
                f.rsplit('/').next().unwrap_or(f).to_owned()
            }
        })
        .collect();
        if text.trim().is_empty() && attachments.is_empty() {
            skipped += 1;
            continue;
        }
        messages.push(ImportedMessage {
            time_ms,
            author: m.from.unwrap_or_else(|| "Deleted Account".to_owned()),
            text,
            attachments,
            media_omitted: false,
            source_id: m.id.as_ref().map(|id| match &chat_id {
                Some(chat) => format!("{chat}/{}", value_string(id)),
                None => value_string(id),
            }),
            reply_to: m.reply_to_message_id.as_ref().map(|id| match &chat_id {
                Some(chat) => format!("{chat}/{}", value_string(id)),
                None => value_string(id),
            }),
        });
        if messages.len() > super::MAX_RECORDS {
            return Err(ImportError::TooLarge {
                what: "number of messages",
                len: messages.len() as u64,
                limit: super::MAX_RECORDS as u64,
            });
        }
    }
    if messages.is_empty() {
        return Err(ImportError::Empty(format!(
            "the Telegram chat {} holds no messages",
            name.as_deref().unwrap_or("")
        )));
    }
    Ok(ImportedChat {
        name,
        messages,
        skipped,
    })
}

fn pick(export: Export, chat: Option<&str>) -> Result<Chat, ImportError> {
    let chats: Vec<Chat> = match export.chats {
        Some(list) if !list.list.is_empty() => list.list,
        _ if export.messages.is_some() => vec![Chat {
            name: export.name,
            id: export.id,
            messages: export.messages,
        }],
        _ => {
            return Err(ImportError::Format(
                "this JSON has no `messages` and no `chats`; is it a Telegram Desktop export (result.json)?".into(),
            ));
        }
    };
    let names = || {
        chats
            .iter()
            .filter_map(|c| c.name.as_deref())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match chat {
        Some(wanted) => {
            let found: Vec<usize> = (0..chats.len())
                .filter(|&i| chats[i].name.as_deref().map(str::trim) == Some(wanted.trim()))
                .collect();
            match found.as_slice() {
                [one] => Ok(chats.into_iter().nth(*one).unwrap_or_default()),
                [] => Err(ImportError::Format(format!(
                    "the export has no chat named `{wanted}`; it has: {}",
                    names()
                ))),
                _ => Err(ImportError::Format(format!(
                    "the export has several chats named `{wanted}`"
                ))),
            }
        }
        None if chats.len() == 1 => Ok(chats.into_iter().next().unwrap_or_default()),
        None => Err(ImportError::Format(format!(
            "this is a full Telegram export with {} chats; say which one to import with --chat NAME (one of: {})",
            chats.len(),
            names()
        ))),
    }
}

fn value_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn time(m: &Message, offset_minutes: i32) -> Option<u64> {
    if let Some(unix) = &m.date_unixtime {
        let secs: u64 = match unix {
            Value::String(s) => s.trim().parse().ok()?,
            Value::Number(n) => n.as_u64()?,
            _ => return None,
        };
        return secs.checked_mul(1000);
    }
    parse_iso(m.date.as_deref()?, offset_minutes)
}

/// The plain text of a string or an array of strings and `{"text": …}` entities.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for part in parts {
                match part {
                    Value::String(s) => out.push_str(s),
                    Value::Object(entity) => match entity.get("text") {
                        Some(Value::String(s)) => out.push_str(s),
                        _ => return None,
                    },
                    _ => return None,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/import/telegram/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    type Row = (
        String,
        String,
        String,
        Vec<String>,
        Option<String>,
        Option<String>,
    );

    fn rows(chat: &ImportedChat) -> Vec<Row> {
        chat.messages
            .iter()
            .map(|m| {
                (
                    Timestamp(m.time_ms).to_string(),
                    m.author.clone(),
                    m.text.clone(),
                    m.attachments.clone(),
                    m.source_id.clone(),
                    m.reply_to.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn a_single_chat_with_entities_replies_and_files() {
        let chat = parse(&fixture("single-chat.json"), None, 0).unwrap();
        assert_eq!(chat.name.as_deref(), Some("Tenants Union"));
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            rows(&chat),
            [
                (
                    "2021-12-31T23:59:59.000Z".into(),
                    "Ana".into(),
                    "Meeting on Thursday".into(),
                    vec![],
                    s("4000000001/2"),
                    None
                ),
                (
                    "2022-01-01T00:00:30.000Z".into(),
                    "Ben".into(),
                    "Agenda: rent strike and repairs, see https://example.org".into(),
                    vec![],
                    s("4000000001/3"),
                    s("4000000001/2")
                ),
                (
                    "2022-01-01T00:01:00.000Z".into(),
                    "Ana".into(),
                    "the flyer".into(),
                    vec!["photo_1@01-01-2022_00-01-00.jpg".into()],
                    s("4000000001/4"),
                    None
                ),
                (
                    "2022-01-01T00:02:00.000Z".into(),
                    "Deleted Account".into(),
                    "line one\nline two".into(),
                    vec![],
                    s("4000000001/5"),
                    None
                ),
            ]
        );
        assert_eq!(chat.skipped, 2);
    }

    #[test]
    fn a_full_export_needs_the_chat_named() {
        let bytes = fixture("full-export.json");
        let err = parse(&bytes, None, 0).unwrap_err();
        assert!(err.to_string().contains("--chat"), "{err}");
        assert!(err.to_string().contains("Kitchen crew"), "{err}");
        let chat = parse(&bytes, Some("Kitchen crew"), 0).unwrap();
        assert_eq!(chat.messages.len(), 2);
        // No date_unixtime: `date` is local time at the given offset.
        assert_eq!(
            Timestamp(chat.messages[0].time_ms).to_string(),
            "2022-03-01T09:00:00.000Z"
        );
        let chat = parse(&bytes, Some("Kitchen crew"), 120).unwrap();
        assert_eq!(
            Timestamp(chat.messages[0].time_ms).to_string(),
            "2022-03-01T07:00:00.000Z"
        );
        let err = parse(&bytes, Some("nope"), 0).unwrap_err();
        assert!(err.to_string().contains("no chat named `nope`"), "{err}");
    }

    #[test]
    fn truncated_or_foreign_json_is_refused() {
        let bytes = fixture("single-chat.json");
        let err = parse(&bytes[..bytes.len() / 2], None, 0).unwrap_err();
        assert!(err.to_string().contains("not a readable Telegram"), "{err}");
        let err = parse(b"{\"hello\": 1}", None, 0).unwrap_err();
        assert!(err.to_string().contains("result.json"), "{err}");
        let err = parse(b"\xff\xfe{}", None, 0).unwrap_err();
        assert!(err.to_string().contains("not a readable"), "{err}");
    }
}
