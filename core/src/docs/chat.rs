//! A chat segment: one document of a channel's chain (DESIGN §3, history policy).
//!
//! Every message is a map at the root key of its id, created whole by its author, so
//! devices that start the same segment concurrently never lose each other's messages.
//! What never changes after sending (author, time, clock, `after` — the last message
//! its author saw —, reply-to, imported author) is one JSON value, `meta`: Automerge
//! charges per operation, and one value instead of eight makes sending about three
//! times cheaper. What changes has its own field: `text`, `edited_at`, `deleted` and
//! `reactions` (keys `emoji \u{1f} member` → true, so concurrent reactions never
//! conflict).

use std::collections::{BTreeMap, HashMap};

use automerge::transaction::Transactable;
use automerge::{
    AutoCommit, ChangeHash, ObjId, ObjType, PatchAction, Prop, ROOT, ReadDoc, ScalarValue, hydrate,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::fields;
use super::{DocError, Hlc, check_text};
use crate::ids::{ItemId, MemberId};
use crate::time::Timestamp;

/// Longest message, in bytes.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;
/// Longest reaction, in bytes.
pub const MAX_EMOJI_LEN: usize = 32;
pub(super) const REACTION_SEPARATOR: char = '\u{1f}';

/// A chat message as people see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatMessage {
    /// The message id.
    pub id: ItemId,
    /// The author's member id (the envelope's signer).
    pub author: MemberId,
    /// The text; empty once deleted for everyone.
    pub text: String,
    /// When the author sent it, by the author's clock.
    pub sent_at: Timestamp,
    /// The hybrid-logical-clock reading that orders it.
    pub hlc: Hlc,
    /// The last message the author saw when sending.
    pub after: Option<ItemId>,
    /// The message this replies to.
    pub reply_to: Option<ItemId>,
    /// Whether the author edited it.
    pub edited: bool,
    /// When it was last edited.
    pub edited_at: Option<Timestamp>,
    /// Whether it was deleted for everyone.
    pub deleted: bool,
    /// Reactions: emoji → who reacted.
    pub reactions: BTreeMap<String, Vec<MemberId>>,
    /// For imported messages, the original author's name (unverified).
    pub imported_author: Option<String>,
}

/// The fields fixed when a message is sent.
#[derive(Serialize, Deserialize)]
struct Meta {
    #[serde(rename = "a")]
    author: MemberId,
    #[serde(rename = "t")]
    sent_at: u64,
    #[serde(rename = "h")]
    hlc: (u64, u32),
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    after: Option<ItemId>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    reply_to: Option<ItemId>,
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    imported_author: Option<String>,
}

fn message_obj(doc: &AutoCommit, id: ItemId) -> Result<ObjId, DocError> {
    fields::object(doc, &ROOT, &id.to_string(), ObjType::Map).ok_or(DocError::UnknownMessage(id))
}

/// Marks a new segment with its channel. Every device that starts the segment writes
/// the same value at the same key, so concurrent starts agree; it lets a segment that
/// arrives before the directory entry naming it still be placed in its channel.
pub fn init_segment(doc: &mut AutoCommit, channel: ItemId) -> Result<(), DocError> {
    doc.put(ROOT, "channel", channel.to_string())?;
    doc.commit();
    Ok(())
}

/// The channel a segment belongs to, if it says.
pub fn segment_channel(doc: &AutoCommit) -> Option<ItemId> {
    fields::string(doc, &ROOT, "channel")?.parse().ok()
}

/// Sends a message. `after` is the last message in display order the author sees.
#[allow(clippy::too_many_arguments)]
pub fn send(
    doc: &mut AutoCommit,
    id: ItemId,
    author: MemberId,
    text: &str,
    reply_to: Option<ItemId>,
    hlc: Hlc,
    after: Option<ItemId>,
    now: Timestamp,
) -> Result<(), DocError> {
    check_text("a message", text, MAX_MESSAGE_LEN)?;
    if message_obj(doc, id).is_ok() {
        return Err(DocError::Exists(format!("message {id}")));
    }
    let meta = Meta {
        author,
        sent_at: now.as_millis(),
        hlc: (hlc.time, hlc.counter),
        after,
        reply_to,
        imported_author: None,
    };
    let meta = serde_json::to_string(&meta).map_err(|e| DocError::Malformed(e.to_string()))?;
    let m = doc.put_object(ROOT, id.to_string(), ObjType::Map)?;
    doc.put(&m, "meta", meta)?;
    doc.put(&m, "text", text)?;
    doc.put_object(&m, "reactions", ObjType::Map)?;
    doc.commit();
    Ok(())
}

/// Checks a message's text as [`send`] and [`import`] do.
pub fn check_message(text: &str) -> Result<(), DocError> {
    check_text("a message", text, MAX_MESSAGE_LEN)
}

/// A message brought in from another tool's export.
#[derive(Clone, Debug)]
pub struct Imported<'a> {
    /// Its id (derived from the export, so importing again finds it).
    pub id: ItemId,
    /// The text.
    pub text: &'a str,
    /// When it was originally sent.
    pub sent_at: Timestamp,
    /// The clock reading that orders it: its original time.
    pub hlc: Hlc,
    /// The message it replies to.
    pub reply_to: Option<ItemId>,
    /// The original author's name, as the export gives it (unverified).
    pub imported_author: &'a str,
}

/// Adds imported messages in one change, all written (and signed) by `importer`, each
/// keeping its original time and its original author's name as `imported_author`.
/// Messages whose id is already in the segment are left alone; answers how many were
/// added. Checks every message before writing any, so it adds all or none.
pub fn import(
    doc: &mut AutoCommit,
    importer: MemberId,
    messages: &[Imported<'_>],
) -> Result<usize, DocError> {
    for m in messages {
        check_message(m.text)?;
    }
    let mut added = 0;
    for m in messages {
        if message_obj(doc, m.id).is_ok() {
            continue;
        }
        let meta = Meta {
            author: importer,
            sent_at: m.sent_at.as_millis(),
            hlc: (m.hlc.time, m.hlc.counter),
            after: None,
            reply_to: m.reply_to,
            imported_author: Some(m.imported_author.to_owned()),
        };
        let meta = serde_json::to_string(&meta).map_err(|e| DocError::Malformed(e.to_string()))?;
        let obj = doc.put_object(ROOT, m.id.to_string(), ObjType::Map)?;
        doc.put(&obj, "meta", meta)?;
        doc.put(&obj, "text", m.text)?;
        doc.put_object(&obj, "reactions", ObjType::Map)?;
        added += 1;
    }
    doc.commit();
    Ok(added)
}

/// Edits a message: only its author may.
pub fn edit(
    doc: &mut AutoCommit,
    id: ItemId,
    editor: MemberId,
    text: &str,
    now: Timestamp,
) -> Result<(), DocError> {
    let current = message(doc, id)?;
    if current.author != editor {
        return Err(DocError::NotAuthor);
    }
    if current.deleted {
        return Err(DocError::Deleted);
    }
    check_text("a message", text, MAX_MESSAGE_LEN)?;
    let m = message_obj(doc, id)?;
    doc.put(&m, "text", text)?;
    doc.put(&m, "edited_at", ScalarValue::Uint(now.as_millis()))?;
    doc.commit();
    Ok(())
}

/// Deletes a message for everyone: its author or an admin may. The text leaves the
/// document's current state (it stays in the history until the segment is compacted).
pub fn delete(
    doc: &mut AutoCommit,
    id: ItemId,
    by: MemberId,
    is_admin: bool,
    now: Timestamp,
) -> Result<(), DocError> {
    let current = message(doc, id)?;
    if current.author != by && !is_admin {
        return Err(DocError::NotAuthorOrAdmin);
    }
    let m = message_obj(doc, id)?;
    doc.put(&m, "deleted", true)?;
    doc.put(&m, "text", "")?;
    doc.put(&m, "edited_at", ScalarValue::Uint(now.as_millis()))?;
    doc.commit();
    Ok(())
}

/// Adds (`on`) or takes back a reaction.
pub fn react(
    doc: &mut AutoCommit,
    id: ItemId,
    member: MemberId,
    emoji: &str,
    on: bool,
) -> Result<(), DocError> {
    check_text("a reaction", emoji, MAX_EMOJI_LEN)?;
    if emoji.contains(REACTION_SEPARATOR) || emoji.chars().any(char::is_whitespace) {
        return Err(DocError::Malformed(
            "a reaction is a single emoji or word".into(),
        ));
    }
    if message(doc, id)?.deleted {
        return Err(DocError::Deleted);
    }
    let m = message_obj(doc, id)?;
    let reactions = fields::object(doc, &m, "reactions", ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("message {id} has no reactions map")))?;
    let key = format!("{emoji}{REACTION_SEPARATOR}{member}");
    if on {
        doc.put(&reactions, key, true)?;
    } else if fields::boolean(doc, &reactions, &key).is_some() {
        doc.delete(&reactions, key)?;
    }
    doc.commit();
    Ok(())
}

/// One message.
pub fn message(doc: &AutoCommit, id: ItemId) -> Result<ChatMessage, DocError> {
    let obj = message_obj(doc, id)?;
    let value = doc.hydrate(&obj, None)?;
    hydrated_message(&id.to_string(), &value).ok_or(DocError::UnknownMessage(id))
}

/// Every well-formed message of this segment, unordered (see [`order_messages`]).
///
/// Reads the segment in one pass (Automerge's hydrate) rather than one lookup per
/// field: a 10k-message segment reads in a fraction of the time.
pub fn messages(doc: &AutoCommit) -> Result<Vec<ChatMessage>, DocError> {
    let hydrate::Value::Map(root) = doc.hydrate(ROOT, None)? else {
        return Err(DocError::Malformed(
            "a chat segment's root is not a map".into(),
        ));
    };
    Ok(root
        .iter()
        .filter_map(|(key, entry)| hydrated_message(key, &entry.value))
        .collect())
}

/// A message from its hydrated map; `None` for anything that is not one.
fn hydrated_message(key: &str, value: &hydrate::Value) -> Option<ChatMessage> {
    let hydrate::Value::Map(m) = value else {
        return None;
    };
    let scalar = |field: &str| match m.get(field) {
        Some(hydrate::Value::Scalar(s)) => Some(s),
        _ => None,
    };
    let string = |field: &str| match m.get(field) {
        Some(hydrate::Value::Scalar(ScalarValue::Str(s))) => Some(s.to_string()),
        Some(hydrate::Value::Text(t)) => Some(t.to_string()),
        _ => None,
    };
    let meta: Meta = serde_json::from_str(&string("meta")?).ok()?;
    let deleted = matches!(scalar("deleted"), Some(ScalarValue::Boolean(true)));
    let edited_at = match scalar("edited_at") {
        Some(ScalarValue::Uint(u)) => Some(Timestamp(*u)),
        Some(ScalarValue::Int(i)) => u64::try_from(*i).ok().map(Timestamp),
        _ => None,
    };
    let mut reactions: BTreeMap<String, Vec<MemberId>> = BTreeMap::new();
    if let Some(hydrate::Value::Map(r)) = m.get("reactions") {
        for (key, entry) in r.iter() {
            if matches!(
                entry.value,
                hydrate::Value::Scalar(ScalarValue::Boolean(true))
            ) && let Some((emoji, member)) = key.split_once(REACTION_SEPARATOR)
                && let Ok(member) = member.parse()
            {
                reactions.entry(emoji.to_owned()).or_default().push(member);
            }
        }
    }
    for who in reactions.values_mut() {
        who.sort();
    }
    Some(ChatMessage {
        id: key.parse().ok()?,
        author: meta.author,
        text: if deleted {
            String::new()
        } else {
            string("text").unwrap_or_default()
        },
        sent_at: Timestamp(meta.sent_at),
        hlc: Hlc {
            time: meta.hlc.0,
            counter: meta.hlc.1,
        },
        after: meta.after,
        reply_to: meta.reply_to,
        edited: edited_at.is_some() && !deleted,
        edited_at,
        deleted,
        reactions,
        imported_author: meta.imported_author,
    })
}

/// The messages a set of changes touched (sent, edited, deleted or reacted to), from
/// the document at `before` to its current heads, for telling front ends what to redraw.
pub fn changed_messages(doc: &mut AutoCommit, before: &[ChangeHash]) -> Vec<ItemId> {
    let after = doc.get_heads();
    let mut ids: Vec<ItemId> = doc
        .diff(before, &after)
        .into_iter()
        .filter_map(|patch| match (patch.path.first(), &patch.action) {
            (Some((_, Prop::Map(key))), _) => key.parse().ok(),
            (None, PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key }) => {
                key.parse().ok()
            }
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The highest clock reading in this segment.
pub fn max_hlc(doc: &AutoCommit) -> Result<Option<Hlc>, DocError> {
    Ok(messages(doc)?.into_iter().map(|m| m.hlc).max())
}

/// Puts messages (of one or several segments of a channel) in display order.
///
/// The order depends only on the messages, so every device shows the same order. The
/// key is the hybrid-logical-clock reading, but a message may be no later than any
/// message by another author written after seeing it (whose `after` chain leads to
/// it): a message stamped far in the future drops back into place as soon as someone
/// answers it. Ties go to the message earlier in the `after` chain, then author, then
/// id.
pub fn order_messages(messages: Vec<ChatMessage>) -> Vec<ChatMessage> {
    let order = display_order(&messages.iter().collect::<Vec<_>>());
    let mut slots: Vec<Option<ChatMessage>> = messages.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// [`order_messages`] as positions in `messages`, which it leaves where they are (a
/// long channel's page is picked before anything is copied).
pub fn display_order(messages: &[&ChatMessage]) -> Vec<usize> {
    let index: HashMap<ItemId, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    let parent: Vec<Option<usize>> = messages
        .iter()
        .map(|m| m.after.and_then(|a| index.get(&a).copied()))
        .collect();

    // Depth along the `after` chain, iteratively (chains can be as long as the channel)
    // and safe against cycles, which only forged data can contain.
    const UNKNOWN: usize = usize::MAX;
    let mut depth = vec![UNKNOWN; messages.len()];
    // Which walk last passed each message: one still without a depth was passed by
    // this walk, so reaching it again closes a cycle.
    let mut walked_by = vec![UNKNOWN; messages.len()];
    let mut path = Vec::new();
    for start in 0..messages.len() {
        path.clear();
        let mut at = Some(start);
        let mut base = 0;
        while let Some(i) = at {
            if depth[i] != UNKNOWN {
                base = depth[i] + 1;
                break;
            }
            if walked_by[i] == start {
                break; // a cycle: treat where it closes as a root
            }
            walked_by[i] = start;
            path.push(i);
            at = parent[i];
        }
        for (offset, &i) in path.iter().rev().enumerate() {
            depth[i] = base + offset;
        }
    }

    // Effective key: children (deeper) first, each lowering its parent's key.
    let mut effective: Vec<Hlc> = messages.iter().map(|m| m.hlc).collect();
    let mut by_depth: Vec<usize> = (0..messages.len()).collect();
    by_depth.sort_by_key(|&i| (std::cmp::Reverse(depth[i]), messages[i].id));
    for &i in &by_depth {
        if let Some(p) = parent[i]
            && messages[p].author != messages[i].author
            && effective[i] < effective[p]
        {
            effective[p] = effective[i];
        }
    }

    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| (effective[i], depth[i], messages[i].author, messages[i].id));
    order
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;
    use crate::docs::new_doc;

    fn member(n: u8) -> MemberId {
        MemberId([n; 32])
    }

    fn hlc(time: u64) -> Hlc {
        Hlc { time, counter: 0 }
    }

    #[test]
    fn send_edit_react_delete() {
        let mut doc = new_doc(ActorId::random());
        let id = ItemId::random();
        send(
            &mut doc,
            id,
            member(1),
            "hello",
            None,
            hlc(10),
            None,
            Timestamp(10),
        )
        .unwrap();
        assert_eq!(
            send(
                &mut doc,
                ItemId::random(),
                member(1),
                "  ",
                None,
                hlc(11),
                None,
                Timestamp(11)
            ),
            Err(DocError::Empty("a message"))
        );
        let long = "x".repeat(MAX_MESSAGE_LEN + 1);
        assert!(matches!(
            send(
                &mut doc,
                ItemId::random(),
                member(1),
                &long,
                None,
                hlc(11),
                None,
                Timestamp(11)
            ),
            Err(DocError::TooLong { .. })
        ));

        assert_eq!(
            edit(&mut doc, id, member(2), "hijacked", Timestamp(12)),
            Err(DocError::NotAuthor)
        );
        edit(&mut doc, id, member(1), "hello all", Timestamp(12)).unwrap();
        react(&mut doc, id, member(2), "👍", true).unwrap();
        react(&mut doc, id, member(3), "👍", true).unwrap();
        react(&mut doc, id, member(3), "👍", false).unwrap();
        let m = message(&doc, id).unwrap();
        assert_eq!(m.text, "hello all");
        assert!(m.edited);
        assert_eq!(m.reactions["👍"], vec![member(2)]);

        assert_eq!(
            delete(&mut doc, id, member(2), false, Timestamp(13)),
            Err(DocError::NotAuthorOrAdmin)
        );
        delete(&mut doc, id, member(2), true, Timestamp(13)).unwrap();
        let m = message(&doc, id).unwrap();
        assert!(m.deleted && m.text.is_empty() && !m.edited);
        assert_eq!(
            edit(&mut doc, id, member(1), "back", Timestamp(14)),
            Err(DocError::Deleted)
        );
        let unknown = ItemId::random();
        assert_eq!(
            message(&doc, unknown),
            Err(DocError::UnknownMessage(unknown))
        );
    }

    #[test]
    fn imported_messages_keep_their_time_and_author_name_and_import_once() {
        let mut doc = new_doc(ActorId::random());
        let id = ItemId([7; 16]);
        let imported = Imported {
            id,
            text: "from WhatsApp",
            sent_at: Timestamp(1_000),
            hlc: hlc(1_000),
            reply_to: None,
            imported_author: "Ana",
        };
        assert_eq!(
            import(&mut doc, member(1), std::slice::from_ref(&imported)).unwrap(),
            1
        );
        assert_eq!(
            import(&mut doc, member(1), std::slice::from_ref(&imported)).unwrap(),
            0
        );
        let m = message(&doc, id).unwrap();
        assert_eq!(m.imported_author.as_deref(), Some("Ana"));
        assert_eq!(
            (m.sent_at, m.hlc, m.author),
            (Timestamp(1_000), hlc(1_000), member(1))
        );
        let empty = Imported {
            id: ItemId([8; 16]),
            text: " ",
            ..imported
        };
        let valid = Imported {
            id: ItemId([9; 16]),
            text: "ok",
            ..empty.clone()
        };
        assert!(import(&mut doc, member(1), &[valid, empty]).is_err());
        assert_eq!(
            messages(&doc).unwrap().len(),
            1,
            "nothing of a refused batch is added"
        );
    }

    #[test]
    fn hostile_shapes_are_skipped() {
        let mut doc = new_doc(ActorId::random());
        doc.put(ROOT, "not a message", 5).unwrap();
        let bogus = doc
            .put_object(ROOT, ItemId::random().to_string(), ObjType::Map)
            .unwrap();
        doc.put(&bogus, "meta", 17).unwrap();
        let broken = doc
            .put_object(ROOT, ItemId::random().to_string(), ObjType::Map)
            .unwrap();
        doc.put(&broken, "meta", "{not json").unwrap();
        doc.commit();
        assert!(messages(&doc).unwrap().is_empty());
    }

    fn msg(id: u8, author: u8, time: u64, after: Option<u8>) -> ChatMessage {
        ChatMessage {
            id: ItemId([id; 16]),
            author: member(author),
            text: format!("{id}"),
            sent_at: Timestamp(time),
            hlc: hlc(time),
            after: after.map(|a| ItemId([a; 16])),
            reply_to: None,
            edited: false,
            edited_at: None,
            deleted: false,
            reactions: BTreeMap::new(),
            imported_author: None,
        }
    }

    fn ids(ms: &[ChatMessage]) -> Vec<u8> {
        ms.iter().map(|m| m.id.0[0]).collect()
    }

    #[test]
    fn a_message_from_the_future_drops_into_place_once_answered() {
        let year = 365 * 24 * 3600 * 1000;
        // 1 at t=100; 2 claims a year ahead; 3 (another author) answers 2 at t=300;
        // 4 at t=400.
        let list = vec![
            msg(1, 1, 100, None),
            msg(2, 2, year, Some(1)),
            msg(3, 1, 300, Some(2)),
            msg(4, 1, 400, Some(3)),
        ];
        assert_eq!(ids(&order_messages(list.clone())), [1, 2, 3, 4]);
        // Unanswered, it stays where its clock puts it.
        assert_eq!(ids(&order_messages(list[..2].to_vec())), [1, 2]);
        // Only another author's answer counts: the future author can't vouch for itself.
        let self_answer = vec![
            msg(1, 1, 100, None),
            msg(2, 2, year, Some(1)),
            msg(3, 2, 300, Some(2)),
        ];
        assert_eq!(ids(&order_messages(self_answer)), [1, 3, 2]);
        // Order is independent of input order.
        let mut reversed = list;
        reversed.reverse();
        assert_eq!(ids(&order_messages(reversed)), [1, 2, 3, 4]);
    }

    #[test]
    fn cycles_in_forged_after_chains_do_not_hang() {
        let list = vec![msg(1, 1, 100, Some(2)), msg(2, 2, 200, Some(1))];
        assert_eq!(order_messages(list).len(), 2);
    }
}
