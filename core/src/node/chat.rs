//! Chat requests. A channel is a chain of segment documents, one per key epoch and
//! calendar month (DESIGN §3, history policy): every device computes the same segment
//! id, so devices that start a month's segment concurrently write into one document.

use std::sync::Arc;

use crate::api::{ApiError, Event, MessageView, Response};
use automerge::AutoCommit;

use crate::docs::{self, ChatMessage, DocError};
use crate::group::directory_doc;
use crate::ids::{DocId, GroupId, Hash, ItemId, MemberId};
use crate::time::Timestamp;

use super::engine::{State, Tx, doc_error};
use super::groups::DEFAULT_CHANNEL;
use super::resolve::resolve;

/// The segment of `channel` for `epoch` and `month` (`YYYY-MM`).
pub(super) fn segment_id(group: &GroupId, channel: &ItemId, epoch: &Hash, month: &str) -> DocId {
    let name = [
        b"chat segment".as_slice(),
        channel.as_bytes(),
        epoch.as_bytes(),
        month.as_bytes(),
    ]
    .concat();
    DocId::derived(group, &name)
}

/// Where a message lives.
struct Located {
    group: GroupId,
    channel: ItemId,
    segment: DocId,
    id: ItemId,
}

impl State {
    pub(super) fn chat_send(
        &mut self,
        tx: &mut Tx,
        group: &str,
        channel: Option<&str>,
        text: &str,
        reply_to: Option<&str>,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let group = self.resolve_group(group)?;
        let channel = self.channel(&group, channel.unwrap_or(DEFAULT_CHANNEL))?.id;
        let reply_to = match reply_to {
            Some(query) => Some(self.locate(&group, query)?.id),
            None => None,
        };
        let epoch = self.group(&group)?.state.current_epoch();
        let month = now.month();
        let segment = segment_id(&group, &channel, &epoch, &month);
        if !self.has_doc(&group, &segment)? {
            self.create_doc(tx, &group, segment)?;
            self.edit(tx, &group, &segment, |doc| {
                docs::chat::init_segment(doc, channel)
            })?;
            let epoch_hex = epoch.to_string();
            self.edit(tx, &group, &directory_doc(&group), |doc| {
                docs::directory::add_segment(doc, channel, segment, &epoch_hex, &month)
            })?;
        }
        let author = self.me(&group)?.id();
        if self.doc(&group, &segment)?.chat_tail.is_none() {
            // First send into this segment since it was loaded: learn its clock and
            // its last message once, then keep both up to date.
            let messages = self.segment_messages(&group, &segment)?;
            let order = docs::chat::display_order(&messages.iter().collect::<Vec<_>>());
            let last = order.last().map(|&i| (messages[i].hlc, messages[i].id));
            self.doc(&group, &segment)?.chat_tail = Some(last);
        }
        let tail = self.doc(&group, &segment)?.chat_tail.flatten();
        if let Some((hlc, _)) = tail {
            self.clock.observe(hlc, now);
        }
        let hlc = self.clock.tick(now);
        let id = ItemId::random();
        let after = tail.map(|(_, id)| id);
        self.edit(tx, &group, &segment, |doc| {
            docs::chat::send(doc, id, author, text, reply_to, hlc, after, now)
        })?;
        self.doc(&group, &segment)?.chat_tail = Some(Some((hlc, id)));
        self.message_changed(
            tx,
            Located {
                group,
                channel,
                segment,
                id,
            },
        )
    }

    pub(super) fn chat_log(
        &mut self,
        group: &str,
        channel: Option<&str>,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Response, ApiError> {
        let group = self.resolve_group(group)?;
        let channel = self.channel(&group, channel.unwrap_or(DEFAULT_CHANNEL))?;
        let mut segments = Vec::new();
        for segment in &channel.segments {
            segments.push((segment.doc, self.segment_messages(&group, &segment.doc)?));
        }
        let all: Vec<(&ChatMessage, DocId)> = segments
            .iter()
            .flat_map(|(doc, messages)| messages.iter().map(move |m| (m, *doc)))
            .collect();
        let mut ordered =
            docs::chat::display_order(&all.iter().map(|(m, _)| *m).collect::<Vec<_>>());
        if let Some(before) = before {
            let end = page_end(ordered.iter().map(|&i| all[i].0), before)?;
            ordered.truncate(end);
        }
        if let Some(limit) = limit {
            let start = ordered.len().saturating_sub(limit as usize);
            ordered.drain(..start);
        }
        let views = ordered
            .into_iter()
            .map(|i| {
                let (message, segment) = all[i];
                self.view(&group, channel.id, segment, message.clone())
            })
            .collect();
        Ok(Response::Messages(views))
    }

    pub(super) fn chat_edit(
        &mut self,
        tx: &mut Tx,
        group: &str,
        message: &str,
        text: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        self.change_message(tx, group, message, |doc, id, me, _| {
            docs::chat::edit(doc, id, me, text, now)
        })
    }

    pub(super) fn chat_delete(
        &mut self,
        tx: &mut Tx,
        group: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        self.change_message(tx, group, message, |doc, id, me, admin| {
            docs::chat::delete(doc, id, me, admin, now)
        })
    }

    pub(super) fn chat_react(
        &mut self,
        tx: &mut Tx,
        group: &str,
        message: &str,
        emoji: &str,
        on: bool,
    ) -> Result<Response, ApiError> {
        self.change_message(tx, group, message, |doc, id, me, _| {
            docs::chat::react(doc, id, me, emoji, on)
        })
    }

    /// Finds the message a request names and applies `change` to it, given this
    /// device's member id and whether it is an admin; answers with the message.
    fn change_message(
        &mut self,
        tx: &mut Tx,
        group: &str,
        message: &str,
        change: impl FnOnce(&mut AutoCommit, ItemId, MemberId, bool) -> Result<(), DocError>,
    ) -> Result<Response, ApiError> {
        let group = self.resolve_group(group)?;
        let at = self.locate(&group, message)?;
        let me = self.me(&group)?.id();
        let admin = self.group(&group)?.state.is_admin(&me);
        self.edit(tx, &group, &at.segment, |doc| change(doc, at.id, me, admin))?;
        self.message_changed(tx, at)
    }

    /// Emits the current view of each of `messages`, after a received change.
    pub(super) fn announce_messages(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        channel: ItemId,
        segment: DocId,
        messages: &[ItemId],
    ) -> Result<(), ApiError> {
        for &id in messages {
            self.message_changed(
                tx,
                Located {
                    group,
                    channel,
                    segment,
                    id,
                },
            )?;
        }
        Ok(())
    }

    fn message_changed(&mut self, tx: &mut Tx, at: Located) -> Result<Response, ApiError> {
        let loaded = self.doc(&at.group, &at.segment)?;
        let message = docs::chat::message(&loaded.doc, at.id).map_err(doc_error)?;
        let view = self.view(&at.group, at.channel, at.segment, message);
        tx.events.push(Event::Message {
            group: at.group,
            channel: at.channel,
            message: Box::new(view.clone()),
        });
        Ok(Response::Message(view))
    }

    /// A segment's messages, unordered: read once per change of the document (see
    /// `LoadedDoc::chat_read`), and none for a segment not here.
    pub(super) fn segment_messages(
        &mut self,
        group: &GroupId,
        segment: &DocId,
    ) -> Result<Arc<Vec<ChatMessage>>, ApiError> {
        if !self.has_doc(group, segment)? {
            // Not here yet, or from before this member joined a "from join" group.
            return Ok(Arc::default());
        }
        let loaded = self.doc(group, segment)?;
        let heads = loaded.doc.get_heads();
        if let Some((read_at, messages)) = &loaded.chat_read
            && *read_at == heads
        {
            return Ok(messages.clone());
        }
        let messages = Arc::new(docs::chat::messages(&loaded.doc).map_err(doc_error)?);
        loaded.chat_read = Some((heads, messages.clone()));
        Ok(messages)
    }

    /// Finds a message by id or unique id prefix in any channel of the group.
    fn locate(&mut self, group: &GroupId, query: &str) -> Result<Located, ApiError> {
        let channels = self.directory(group)?.channels.clone();
        let mut candidates = Vec::new();
        for channel in channels {
            for segment in channel.segments {
                for message in self.segment_messages(group, &segment.doc)?.iter() {
                    let at = Located {
                        group: *group,
                        channel: channel.id,
                        segment: segment.doc,
                        id: message.id,
                    };
                    candidates.push((message.id.to_string(), String::new(), at));
                }
            }
        }
        resolve(
            "message",
            query,
            candidates,
            "see `plenum chat log GROUP` for message ids",
        )
    }

    fn view(
        &self,
        group: &GroupId,
        channel: ItemId,
        segment: DocId,
        mut message: ChatMessage,
    ) -> MessageView {
        let state = self.groups.get(group).map(|g| &g.state);
        let author_name = state
            .and_then(|s| {
                s.members
                    .get(&message.author)
                    .map(|m| m.info.name.clone())
                    .or_else(|| s.former.get(&message.author).map(|n| format!("{n} (left)")))
            })
            .unwrap_or_else(|| format!("unknown member {}", message.author.short()));
        let hidden = state.is_some_and(|s| s.hidden.contains(&message.author));
        if hidden {
            message.text.clear();
        }
        MessageView {
            message,
            author_name,
            channel,
            segment,
            hidden,
        }
    }
}

/// Where a page that ends before the message `before` (an id or unique prefix) ends.
fn page_end<'a>(
    ordered: impl Iterator<Item = &'a ChatMessage>,
    before: &str,
) -> Result<usize, ApiError> {
    let candidates = ordered
        .enumerate()
        .map(|(index, m)| (m.id.to_string(), String::new(), index))
        .collect();
    resolve(
        "message",
        before,
        candidates,
        "see `plenum chat log GROUP` for message ids",
    )
}
