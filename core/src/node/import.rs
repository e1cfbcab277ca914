//! Import requests: another tool's export, read by [`crate::import`], then applied.
//!
//! All or nothing: the file is parsed and every record checked before the first
//! document changes, and everything lands in the request's one commit. A chat's
//! messages get ids derived from what they are (see [`message_id`]), so importing the
//! same chat again — or a later, longer export of it — adds only what is new.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::api::{ApiError, ErrorKind, Event, ImportReport, Response};
use crate::docs::{self, Hlc};
use crate::group::directory_doc;
use crate::identity::{MAX_NAME_LEN, check_name};
use crate::ids::{DocId, GroupId, ItemId};
use crate::import::{
    self, ImportError, ImportSource, ImportedChat, ImportedMessage, etherpad, telegram, trello,
    whatsapp,
};
use crate::time::Timestamp;

use super::chat::segment_id;
use super::engine::{State, Tx};
use super::groups::invalid;

/// Messages per Automerge change (and progress step).
const CHUNK_MESSAGES: usize = 1000;
/// Text bytes per Automerge change, so a change stays far below the envelope limit.
const CHUNK_BYTES: usize = 256 * 1024;
/// Cards per Automerge change (and progress step).
const CHUNK_CARDS: usize = 200;
/// Longest original author name kept.
const MAX_AUTHOR_LEN: usize = 256;
/// How far past this device's clock an imported time may be: an export is history.
const MAX_AHEAD_MS: u64 = 24 * 3600 * 1000;

/// New messages of one year up to which that year goes into one segment.
const YEAR_SEGMENT_MESSAGES: usize = 20_000;

/// Groups new messages into segments by their original time: one per year (`YYYY`),
/// or per month (`YYYY-MM`) in a year of more than [`YEAR_SEGMENT_MESSAGES`]. Live
/// chat has a segment per month; an import of years of history by month would make
/// hundreds of documents at once, and other members' devices accept at most 100 new
/// documents an hour from one author.
fn segments_of(fresh: Vec<Prepared>) -> BTreeMap<String, Vec<Prepared>> {
    let mut years: BTreeMap<String, Vec<Prepared>> = BTreeMap::new();
    for p in fresh {
        let month = Timestamp(p.time_ms).month();
        years.entry(month[..4].to_owned()).or_default().push(p);
    }
    let mut segments = BTreeMap::new();
    for (year, messages) in years {
        if messages.len() <= YEAR_SEGMENT_MESSAGES {
            segments.insert(year, messages);
            continue;
        }
        for p in messages {
            segments
                .entry(Timestamp(p.time_ms).month())
                .or_insert_with(Vec::new)
                .push(p);
        }
    }
    segments
}

/// What an import request carries.
pub(super) struct ImportArgs<'a> {
    pub(super) group: &'a str,
    pub(super) source: ImportSource,
    pub(super) file_name: &'a str,
    pub(super) data: &'a str,
    pub(super) target: Option<&'a str>,
    pub(super) chat: Option<&'a str>,
    pub(super) utc_offset_minutes: i32,
}

/// The id of an imported message: the same message of the same chat imported into the
/// same channel always gets the same id. A message with an id in its source (Telegram)
/// is known by it; one without (WhatsApp) by its minute, author and text, and how many
/// identical ones came before it in that minute — so two identical messages sent in
/// one minute stay two, and a later export that repeats them adds neither again.
pub(super) fn message_id(
    channel: &ItemId,
    source: ImportSource,
    message: &ImportedMessage,
    occurrence: u32,
) -> ItemId {
    let minute = (message.time_ms / 60_000).to_le_bytes();
    let occurrence = occurrence.to_le_bytes();
    let label = source.label().as_bytes();
    let h = match &message.source_id {
        Some(id) => crate::crypto::hash(
            "plenum imported message v1",
            &[channel.as_bytes(), label, b"id", id.as_bytes()],
        ),
        None => crate::crypto::hash(
            "plenum imported message v1",
            &[
                channel.as_bytes(),
                label,
                b"text",
                &minute,
                message.author.as_bytes(),
                message.text.as_bytes(),
                &message.attachments.join("\n").into_bytes(),
                &occurrence,
            ],
        ),
    };
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[..16]);
    ItemId(id)
}

/// A name cut to `limit` bytes at a character boundary, with control characters
/// replaced, so any export's names fit Plenum's.
fn fit(name: &str, limit: usize) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return "(untitled)".to_owned();
    }
    if clean.len() <= limit {
        return clean.to_owned();
    }
    let mut end = limit.saturating_sub('…'.len_utf8());
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &clean[..end])
}

fn import_error(file_name: &str, source: ImportSource, e: ImportError) -> ApiError {
    ApiError::new(
        ErrorKind::Invalid,
        format!(
            "cannot import {file_name} as a {} export; nothing was imported: {e}",
            source.label()
        ),
    )
}

/// Decodes the file's base64, refusing before decoding what would be too large.
fn decode(args: &ImportArgs<'_>) -> Result<Vec<u8>, ApiError> {
    let limit = import::MAX_IMPORT_BYTES;
    if args.data.len() / 4 * 3 > limit + 3 {
        return Err(import_error(
            args.file_name,
            args.source,
            ImportError::TooLarge {
                what: "file",
                len: (args.data.len() / 4 * 3) as u64,
                limit: limit as u64,
            },
        ));
    }
    B64.decode(args.data.trim()).map_err(|e| {
        invalid(format!(
            "the import's data is not base64 ({e}); front ends send the file's bytes base64-encoded"
        ))
    })
}

/// A message checked and ready to write.
struct Prepared {
    id: ItemId,
    text: String,
    author: String,
    time_ms: u64,
    hlc: Hlc,
    reply_to: Option<ItemId>,
}

impl State {
    pub(super) fn import(
        &mut self,
        tx: &mut Tx,
        args: &ImportArgs<'_>,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let group = self.resolve_group(args.group)?;
        let record = self.group(&group)?;
        if !record.state.is_member(&record.secrets.member.id()) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                "this device is no longer a member of the group; nothing can be imported into it",
            ));
        }
        let bytes = decode(args)?;
        let fail = |e| import_error(args.file_name, args.source, e);
        let offset = args.utc_offset_minutes;
        if offset.abs() > 18 * 60 {
            return Err(invalid(format!(
                "a UTC offset of {offset} minutes does not exist; offsets run from -18:00 to +18:00"
            )));
        }
        match args.source {
            ImportSource::Whatsapp => {
                let chat =
                    whatsapp::parse_at_offset(&bytes, args.file_name, offset).map_err(fail)?;
                self.import_chat(tx, group, args, chat, now)
            }
            ImportSource::Telegram => {
                let chat = telegram::parse(&bytes, args.chat, offset).map_err(fail)?;
                self.import_chat(tx, group, args, chat, now)
            }
            ImportSource::Trello => {
                let board = trello::parse(&bytes).map_err(fail)?;
                self.import_board(tx, group, args, board, now)
            }
            ImportSource::Etherpad => {
                let pad = etherpad::parse(&bytes, args.file_name).map_err(fail)?;
                self.import_pad(tx, group, args, pad, now)
            }
        }
    }

    fn import_chat(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        args: &ImportArgs<'_>,
        chat: ImportedChat,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        // Where to: a named channel must exist; otherwise the chat's own channel,
        // made if need be.
        let (channel, name, existing) = match args.target {
            Some(query) => {
                let info = self.channel(&group, query).map_err(|e| {
                    ApiError::new(
                        e.kind,
                        format!(
                            "{}; create it first (`plenum channel create GROUP {query}`), or leave out the channel to import into a new one named after the chat",
                            e.message
                        ),
                    )
                })?;
                (info.id, info.name.clone(), Some(info))
            }
            None => {
                let fallback = args
                    .file_name
                    .rsplit(['/', '\\'])
                    .next()
                    .and_then(|b| b.rsplit_once('.').map(|(s, _)| s))
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or(args.source.label())
                    .to_owned();
                let name = fit(chat.name.as_deref().unwrap_or(&fallback), MAX_NAME_LEN);
                let name = check_name("channel", &name).map_err(invalid)?;
                let found = self
                    .directory(&group)?
                    .channels
                    .iter()
                    .find(|c| c.name.to_lowercase() == name.to_lowercase())
                    .cloned();
                match found {
                    Some(info) => (info.id, info.name.clone(), Some(info)),
                    None => (ItemId::random(), name, None),
                }
            }
        };

        // Ids, clocks and replies for every message, and every check, before writing.
        let mut occurrences: HashMap<(u64, &str, &str, Vec<String>), u32> = HashMap::new();
        let mut counters: HashMap<u64, u32> = HashMap::new();
        let mut by_source: HashMap<&str, ItemId> = HashMap::new();
        let mut prepared = Vec::with_capacity(chat.messages.len());
        for (n, m) in chat.messages.iter().enumerate() {
            let key = (
                m.time_ms / 60_000,
                m.author.as_str(),
                m.text.as_str(),
                m.attachments.clone(),
            );
            let occurrence = occurrences.entry(key).or_default();
            let id = message_id(&channel, args.source, m, *occurrence);
            *occurrence += 1;
            let counter = counters.entry(m.time_ms).or_default();
            let hlc = Hlc {
                time: m.time_ms,
                counter: *counter,
            };
            *counter += 1;
            if let Some(source) = &m.source_id {
                by_source.insert(source, id);
            }
            let text = m.display_text();
            let at = Timestamp(m.time_ms);
            docs::chat::check_message(&text).map_err(|e| {
                invalid(format!(
                    "cannot import {}: message {} (by {} at {at}): {e}; nothing was imported",
                    args.file_name,
                    n + 1,
                    m.author
                ))
            })?;
            if m.time_ms > now.as_millis() + MAX_AHEAD_MS {
                return Err(invalid(format!(
                    "cannot import {}: message {} (by {}) is dated {at}, in the future; check the UTC offset; nothing was imported",
                    args.file_name,
                    n + 1,
                    m.author
                )));
            }
            prepared.push(Prepared {
                id,
                text,
                author: fit(&m.author, MAX_AUTHOR_LEN),
                time_ms: m.time_ms,
                hlc,
                reply_to: None,
            });
        }
        for (p, m) in prepared.iter_mut().zip(&chat.messages) {
            p.reply_to = m
                .reply_to
                .as_deref()
                .and_then(|r| by_source.get(r).copied());
        }

        // What the channel already holds.
        let mut present = HashSet::new();
        if let Some(info) = &existing {
            for segment in &info.segments {
                for m in self.segment_messages(&group, &segment.doc)?.iter() {
                    present.insert(m.id);
                }
            }
        }
        let total = prepared.len();
        let fresh: Vec<Prepared> = prepared
            .into_iter()
            .filter(|p| present.insert(p.id))
            .collect();
        let already = total - fresh.len();

        // Write: the channel, then each month's segment of the current epoch.
        let epoch = self.group(&group)?.state.current_epoch();
        if existing.is_none() {
            self.edit(tx, &group, &directory_doc(&group), |doc| {
                docs::directory::add_channel(doc, channel, &name, now)
            })?;
        }
        let months = segments_of(fresh);
        let me = self.me(&group)?.id();
        let added_total: usize = months.values().map(Vec::len).sum();
        let mut done = 0;
        self.progress(tx, group, 0, added_total);
        for (month, messages) in &months {
            let segment = segment_id(&group, &channel, &epoch, month);
            if !self.has_doc(&group, &segment)? {
                self.create_doc(tx, &group, segment)?;
                self.edit(tx, &group, &segment, |doc| {
                    docs::chat::init_segment(doc, channel)
                })?;
                let epoch_hex = epoch.to_string();
                self.edit(tx, &group, &directory_doc(&group), |doc| {
                    docs::directory::add_segment(doc, channel, segment, &epoch_hex, month)
                })?;
            }
            let mut start = 0;
            while start < messages.len() {
                let mut end = start;
                let mut bytes = 0;
                while end < messages.len()
                    && end - start < CHUNK_MESSAGES
                    && (end == start || bytes + messages[end].text.len() <= CHUNK_BYTES)
                {
                    bytes += messages[end].text.len();
                    end += 1;
                }
                let chunk: Vec<docs::chat::Imported<'_>> = messages[start..end]
                    .iter()
                    .map(|p| docs::chat::Imported {
                        id: p.id,
                        text: &p.text,
                        sent_at: Timestamp(p.time_ms),
                        hlc: p.hlc,
                        reply_to: p.reply_to,
                        imported_author: &p.author,
                    })
                    .collect();
                self.edit(tx, &group, &segment, |doc| {
                    docs::chat::import(doc, me, &chunk)
                })?;
                done += end - start;
                self.progress(tx, group, done, added_total);
                start = end;
            }
            // The segment's tail may now be an imported message: learn it again.
            self.doc(&group, &segment)?.chat_tail = None;
        }
        tx.events.push(Event::GroupChanged { group });
        Ok(Response::Imported(ImportReport {
            source: args.source,
            channel: Some(channel),
            doc: None,
            name,
            added: added_total as u32,
            already: already as u32,
            skipped: chat.skipped as u32,
        }))
    }

    fn progress(&self, tx: &Tx, group: GroupId, done: usize, total: usize) {
        if let Some(events) = &tx.progress {
            // Nobody listening is fine.
            let _ = events.send(Event::ImportProgress {
                group,
                done: done as u32,
                total: total as u32,
            });
        }
    }

    fn import_board(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        args: &ImportArgs<'_>,
        board: trello::ImportedBoard,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        use docs::board::{MAX_BODY_LEN, MAX_TITLE_LEN};
        let name = fit(args.target.unwrap_or(&board.name), MAX_NAME_LEN);
        let name = check_name("board", &name).map_err(invalid)?;
        let me = self.me(&group)?.id();
        // Check everything that could be refused before the board exists.
        let refuse = |what: String| {
            invalid(format!(
                "cannot import {}: {what}; nothing was imported",
                args.file_name
            ))
        };
        let mut cards = 0;
        for column in &board.columns {
            for card in &column.cards {
                cards += 1;
                if card.description.len() > MAX_BODY_LEN {
                    return Err(refuse(format!(
                        "the description of card `{}` is {} bytes; the limit is {MAX_BODY_LEN}",
                        card.title,
                        card.description.len()
                    )));
                }
                for c in &card.comments {
                    if c.text.len() + c.author.len() + 64 > MAX_BODY_LEN {
                        return Err(refuse(format!(
                            "a comment on card `{}` is {} bytes; the limit is {MAX_BODY_LEN}",
                            card.title,
                            c.text.len()
                        )));
                    }
                }
            }
        }
        let (_, board_id, name) = self.create_listed_doc(
            tx,
            &group.to_string(),
            "board",
            &name,
            docs::board::init,
            |doc, id, name| docs::directory::add_board(doc, id, name, now),
        )?;
        let mut done = 0;
        self.progress(tx, group, 0, cards);
        for column in &board.columns {
            let column_id = ItemId::random();
            let title = fit(&column.title, MAX_NAME_LEN);
            self.edit(tx, &group, &board_id, |doc| {
                docs::board::add_column(doc, column_id, &title, now)
            })?;
            // Owned texts first, then cards borrowing them, a batch per change.
            let titles: Vec<String> = column
                .cards
                .iter()
                .map(|c| fit(&c.title, MAX_TITLE_LEN))
                .collect();
            let descriptions: Vec<String> = column
                .cards
                .iter()
                .zip(&titles)
                .map(|(card, title)| {
                    if title != card.title.trim()
                        && card.description.len() + card.title.len() + 2 <= MAX_BODY_LEN
                    {
                        format!("{}\n\n{}", card.title, card.description)
                    } else {
                        card.description.clone()
                    }
                })
                .collect();
            let labels: Vec<Vec<String>> = column
                .cards
                .iter()
                .map(|c| c.labels.iter().map(|l| fit(l, 64)).collect())
                .collect();
            let items: Vec<Vec<String>> = column
                .cards
                .iter()
                .map(|c| {
                    c.checklist
                        .iter()
                        .map(|(t, _)| fit(t, MAX_TITLE_LEN))
                        .collect()
                })
                .collect();
            let comments: Vec<Vec<String>> = column
                .cards
                .iter()
                .map(|c| {
                    c.comments
                        .iter()
                        .map(|m| {
                            format!(
                                "{} (imported from Trello, unverified): {}",
                                m.author, m.text
                            )
                        })
                        .collect()
                })
                .collect();
            let mut last = None;
            for start in (0..column.cards.len()).step_by(CHUNK_CARDS) {
                let end = (start + CHUNK_CARDS).min(column.cards.len());
                let batch: Vec<docs::board::NewCard<'_>> = (start..end)
                    .map(|i| {
                        let card = &column.cards[i];
                        docs::board::NewCard {
                            id: ItemId::random(),
                            title: &titles[i],
                            description: &descriptions[i],
                            labels: &labels[i],
                            due: card.due.as_deref(),
                            checklist: items[i]
                                .iter()
                                .zip(&card.checklist)
                                .filter(|(text, _)| !text.trim().is_empty())
                                .map(|(text, (_, done))| (ItemId::random(), text.as_str(), *done))
                                .collect(),
                            comments: comments[i]
                                .iter()
                                .zip(&card.comments)
                                .filter(|(_, c)| !c.text.trim().is_empty())
                                .map(|(text, c)| {
                                    (ItemId::random(), text.as_str(), Timestamp(c.time_ms))
                                })
                                .collect(),
                            archived: card.archived,
                        }
                    })
                    .collect();
                let after = last.take();
                last = self.edit(tx, &group, &board_id, |doc| {
                    docs::board::add_cards(doc, column_id, after, &batch, me, now)
                })?;
                done += end - start;
                self.progress(tx, group, done, cards);
            }
            if column.archived {
                self.edit(tx, &group, &board_id, |doc| {
                    docs::board::archive_column(doc, column_id, true)
                })?;
            }
        }
        self.progress(tx, group, done, cards);
        tx.events.push(Event::BoardChanged {
            group,
            board: board_id,
        });
        Ok(Response::Imported(ImportReport {
            source: args.source,
            channel: None,
            doc: Some(board_id),
            name,
            added: cards as u32,
            already: 0,
            skipped: 0,
        }))
    }

    fn import_pad(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        args: &ImportArgs<'_>,
        pad: etherpad::ImportedPad,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let name = fit(args.target.unwrap_or(&pad.name), MAX_NAME_LEN);
        let name = check_name("pad", &name).map_err(invalid)?;
        let (_, pad_id, name): (GroupId, DocId, String) = self.create_listed_doc(
            tx,
            &group.to_string(),
            "pad",
            &name,
            |doc, _| docs::pad::init(doc),
            |doc, id, name| docs::directory::add_pad(doc, id, name, now),
        )?;
        self.edit(tx, &group, &pad_id, |doc| {
            docs::pad::replace(doc, &pad.text)
        })?;
        tx.events.push(Event::PadChanged { group, pad: pad_id });
        Ok(Response::Imported(ImportReport {
            source: args.source,
            channel: None,
            doc: Some(pad_id),
            name,
            added: 1,
            already: 0,
            skipped: 0,
        }))
    }
}
