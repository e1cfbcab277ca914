//! Who may change what: the rules every device applies to changes it receives, so a
//! member's device cannot rewrite what another member wrote (DESIGN §4).
//!
//! Local edits already obey these rules (see [`super::chat::edit`]); this module checks
//! changes that arrive from the network, after they were applied to the document, by
//! looking at what they changed: Automerge's patches from the heads before the
//! envelope to the heads after it. The rules:
//!
//! - chat: a message's `meta` (which names its author) is written only when the message
//!   is created, and must name the signer; `text` and `edited_at` only by the author,
//!   and by an admin only to delete the message; `deleted` by the author or an admin;
//!   under `reactions` a member adds or removes only its own key (`emoji \u{1f} member`);
//!   a message entry is never replaced or removed; a segment's `channel`, once set, never
//!   changes;
//! - boards: a comment is written only by its author (its `author` field, set when it is
//!   created, must name the signer) and never rewritten by anyone else; cards, the
//!   `cards` map and a card's `comments` map are never replaced or removed (cards are
//!   archived), because that would take other members' comments with them; everything
//!   else on a board is collaborative;
//! - directory and pads: any member may change anything.
//!
//! The rules go by where a change lands, not by what kind of document it is, so a
//! change cannot escape them by first disguising the document: only chat messages live
//! at root keys that are item ids, and only board comments under `cards/*/comments`.
//!
//! Patches describe the visible state. An operation that loses a conflict changes
//! nothing visible and can never surface later (anything that supersedes the winner has
//! a higher counter than both), so it passes unseen and harmless.

use std::collections::HashMap;

use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ObjId, PatchAction, Prop, ROOT, ReadDoc, Value,
};

use super::{DocError, chat, fields};
use crate::ids::{ItemId, MemberId};

/// Checks that `changes`, by `author`, already applied to `doc` on top of `before`,
/// change only what `author` may change. `is_admin` is the author's role in the group.
///
/// Costs what the changes changed, not the document's size, when `doc`'s diff cursor
/// was set at `before` ([`AutoCommit::update_diff_cursor`]) before applying them.
pub fn check_received(
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    changes: &[Change],
    author: MemberId,
    is_admin: bool,
) -> Result<(), DocError> {
    let after = doc.get_heads();
    let patches = doc.diff(before, &after);
    let mut made: HashMap<&ActorId, Vec<(u64, u64)>> = HashMap::new();
    for c in changes {
        let start = c.start_op().get();
        made.entry(c.actor_id())
            .or_default()
            .push((start, start + c.len() as u64));
    }
    for ranges in made.values_mut() {
        ranges.sort_unstable();
    }
    Check {
        doc,
        before,
        made: Made::Ranges(made),
        author,
        is_admin,
        messages: HashMap::new(),
    }
    .patches(&patches)
}

/// Checks a whole document whose every change is by `author`, as if they had all
/// arrived from it at once on an empty document: what a snapshot of a document with
/// one writer needs, without applying its changes one by one again. O(document).
pub fn check_whole(doc: &mut AutoCommit, author: MemberId, is_admin: bool) -> Result<(), DocError> {
    let heads = doc.get_heads();
    let patches = doc.diff(&[], &heads);
    Check {
        doc,
        before: &[],
        made: Made::All,
        author,
        is_admin,
        messages: HashMap::new(),
    }
    .patches(&patches)
}

/// Which objects the changes under check made.
enum Made<'a> {
    /// All of them: the document was empty before.
    All,
    /// Per actor, the op counter ranges (`start..end`, ascending) of the changes under
    /// check: looked up once per patch, so a burst of thousands of changes (a snapshot's
    /// replay, a long group commit) costs O(log n) a patch, not O(n).
    Ranges(HashMap<&'a ActorId, Vec<(u64, u64)>>),
}

struct Check<'a> {
    doc: &'a AutoCommit,
    before: &'a [ChangeHash],
    made: Made<'a>,
    author: MemberId,
    is_admin: bool,
    /// Messages read so far, by id.
    messages: HashMap<ItemId, Option<chat::ChatMessage>>,
}

/// The map key a patch writes in its own object, if it writes one.
fn action_key(action: &PatchAction) -> Option<&str> {
    match action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key),
        PatchAction::Conflict {
            prop: Prop::Map(key),
        }
        | PatchAction::Increment {
            prop: Prop::Map(key),
            ..
        } => Some(key),
        _ => None,
    }
}

fn map_prop(prop: &Prop) -> Option<&str> {
    match prop {
        Prop::Map(key) => Some(key),
        Prop::Seq(_) => None,
    }
}

impl Check<'_> {
    fn patches(&mut self, patches: &[automerge::Patch]) -> Result<(), DocError> {
        for patch in patches {
            self.patch(&patch.obj, &patch.path, &patch.action)?;
        }
        Ok(())
    }

    fn refuse(&self, what: String) -> DocError {
        DocError::EditsOthersContent {
            by: self.author,
            what,
        }
    }

    /// Whether `obj` was made by the changes under check.
    fn made_here(&self, obj: &ObjId) -> bool {
        let ObjId::Id(counter, actor, _) = obj else {
            return false;
        };
        let ranges = match &self.made {
            Made::All => return true,
            Made::Ranges(ranges) => ranges,
        };
        let Some(ranges) = ranges.get(actor) else {
            return false;
        };
        // The last range starting at or before `counter` is the only one that can hold it.
        let at = ranges.partition_point(|(start, _)| start <= counter);
        at > 0 && *counter < ranges[at - 1].1
    }

    /// Whether `key` of `obj` held a value before the changes.
    fn existed(&self, obj: &ObjId, key: &str) -> Result<bool, DocError> {
        if self.before.is_empty() {
            return Ok(false);
        }
        Ok(!self.doc.get_all_at(obj, key, self.before)?.is_empty())
    }

    fn patch(
        &mut self,
        obj: &ObjId,
        path: &[(ObjId, Prop)],
        action: &PatchAction,
    ) -> Result<(), DocError> {
        let key = action_key(action);
        let Some(((_, first), rest)) = path.split_first() else {
            // At the root: `obj` is the root.
            return match key {
                Some(key) => self.root_entry(key, action),
                None => Ok(()),
            };
        };
        let Some(first) = map_prop(first) else {
            return Ok(());
        };
        if let Ok(id) = first.parse::<ItemId>() {
            return self.in_message(id, obj, rest, key);
        }
        if first == "cards" {
            return self.in_cards(obj, path, key, action);
        }
        Ok(())
    }

    /// A root key written or removed.
    fn root_entry(&mut self, key: &str, action: &PatchAction) -> Result<(), DocError> {
        if let Ok(id) = key.parse::<ItemId>() {
            if matches!(action, PatchAction::DeleteMap { .. }) || self.existed(&ROOT, key)? {
                return Err(self.refuse(format!("replace or remove message {id}")));
            }
            let PatchAction::PutMap {
                value: (Value::Object(_), made),
                ..
            } = action
            else {
                return Err(self.refuse(format!("write a message {id} that is not a message")));
            };
            if !self.made_here(made) {
                return Err(self.refuse(format!("move an existing object into message {id}")));
            }
            return match self.message(id) {
                Some(message) if message.author == self.author => Ok(()),
                Some(message) => Err(self.refuse(format!(
                    "send message {id} in the name of {}",
                    message.author
                ))),
                None => Err(self.refuse(format!(
                    "send message {id} without the author and time every message records"
                ))),
            };
        }
        match key {
            "channel" => {
                if matches!(action, PatchAction::DeleteMap { .. }) {
                    return Err(self.refuse("remove a chat segment's channel".into()));
                }
                let was = self
                    .doc
                    .get_at(ROOT, "channel", self.before)?
                    .and_then(|(v, _)| v.into_string().ok());
                let now = fields::string(self.doc, &ROOT, "channel");
                match was {
                    Some(was) if Some(&was) != now.as_ref() => {
                        Err(self.refuse("move a chat segment to another channel".into()))
                    }
                    _ => Ok(()),
                }
            }
            "cards" if self.existed(&ROOT, key)? => {
                Err(self.refuse("replace or remove a board's cards".into()))
            }
            _ => Ok(()),
        }
    }

    fn message(&mut self, id: ItemId) -> Option<chat::ChatMessage> {
        let doc = self.doc;
        self.messages
            .entry(id)
            .or_insert_with(|| chat::message(doc, id).ok())
            .clone()
    }

    /// A change inside message `id`. `rest` is the path below the message entry.
    fn in_message(
        &mut self,
        id: ItemId,
        obj: &ObjId,
        rest: &[(ObjId, Prop)],
        key: Option<&str>,
    ) -> Result<(), DocError> {
        let message_obj = rest.first().map_or(obj, |(o, _)| o);
        if self.made_here(message_obj) {
            // Created by these very changes: checked where it was put at the root.
            return Ok(());
        }
        let field = match rest.first() {
            Some((_, prop)) => map_prop(prop),
            None => key,
        };
        let Some(message) = self.message(id) else {
            // Not a readable message (no valid `meta`, which can only be written when an
            // entry is made): nobody sees it, and nobody can make it one.
            return Ok(());
        };
        let own = message.author == self.author;
        let by = message.author;
        match field {
            Some("meta") => Err(self.refuse(format!(
                "change who wrote message {id} or when: that is fixed when it is sent"
            ))),
            Some("reactions") => {
                let reaction = match rest.len() {
                    0 => None,
                    1 => key,
                    _ => None,
                };
                let mine = reaction
                    .and_then(|k| k.split_once(chat::REACTION_SEPARATOR))
                    .is_some_and(|(_, member)| {
                        member.parse::<MemberId>().ok() == Some(self.author)
                    });
                if mine {
                    Ok(())
                } else {
                    Err(self.refuse(format!("change another member's reaction to message {id}")))
                }
            }
            _ if own => Ok(()),
            Some("text" | "edited_at" | "deleted") if self.is_admin && message.deleted => Ok(()),
            Some("text" | "edited_at") => Err(self.refuse(format!(
                "edit message {id}, written by {by}: only its author can"
            ))),
            Some("deleted") => Err(self.refuse(format!(
                "delete message {id}, written by {by}: only its author or an admin can"
            ))),
            _ => Err(self.refuse(format!(
                "change message {id}, written by {by}: only its author can"
            ))),
        }
    }

    /// A change under a board's `cards`. `path` is the whole path, starting at
    /// `(root, "cards")`: below come `(cards, card id)`, `(card, "comments")`,
    /// `(comments, comment id)` and `(comment, field)`.
    fn in_cards(
        &mut self,
        obj: &ObjId,
        path: &[(ObjId, Prop)],
        key: Option<&str>,
        action: &PatchAction,
    ) -> Result<(), DocError> {
        // The object named by path element `i`: the parent of element `i + 1`, or the
        // patch's own object at the end of the path.
        let named = |i: usize| path.get(i + 1).map_or(obj, |(o, _)| o);
        let prop = |i: usize| path.get(i).and_then(|(_, p)| map_prop(p)).or(key);
        let removes = matches!(action, PatchAction::DeleteMap { .. });
        let card = prop(1).unwrap_or("?");
        match path.len() {
            // In the cards map: a card added, replaced or removed.
            1 => {
                if removes || self.existed(obj, card)? {
                    return Err(self.refuse(format!(
                        "replace or remove card {card}: cards are archived, and a card \
                         carries other members' comments"
                    )));
                }
                Ok(())
            }
            _ if self.made_here(named(1)) => Ok(()),
            // A field of the card.
            2 if key == Some("comments") => {
                Err(self.refuse(format!("replace or remove the comments of card {card}")))
            }
            2 => Ok(()),
            _ if prop(2) != Some("comments") => Ok(()),
            // In the comments map: a comment added, replaced or removed.
            3 => {
                let comment = key.unwrap_or("?");
                if removes || self.existed(obj, comment)? {
                    return Err(self.refuse(format!("replace or remove comment {comment}")));
                }
                let PatchAction::PutMap {
                    value: (Value::Object(_), made),
                    ..
                } = action
                else {
                    return Err(self.refuse(format!("write a comment {comment} that is not one")));
                };
                let author = fields::string(self.doc, made, "author");
                if self.made_here(made) && author == Some(self.author.to_string()) {
                    return Ok(());
                }
                Err(self.refuse(format!("write comment {comment} in another member's name")))
            }
            // Inside a comment.
            _ => {
                let comment_obj = named(3);
                if self.made_here(comment_obj) {
                    return Ok(());
                }
                let author = fields::string(self.doc, comment_obj, "author");
                if prop(4) != Some("author") && author == Some(self.author.to_string()) {
                    return Ok(());
                }
                Err(self.refuse(format!(
                    "edit comment {}, written by {}: only its author can",
                    prop(3).unwrap_or("?"),
                    author.unwrap_or_else(|| "someone else".into())
                )))
            }
        }
    }
}
