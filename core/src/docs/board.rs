//! A task board: columns and cards.
//!
//! Initialised by its creator with a `name` and empty `columns` and `cards` maps. A
//! column or card is a map created whole by whoever adds it, with its containers
//! (assignees, labels, checklist, comments) inside. Order is by fractional position
//! (ties by id); a move rewrites only the card's `column` and `position`, so two people
//! moving the same card at once can never duplicate or lose it — one move wins.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ScalarValue};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::position::between;
use super::{DocError, check_text, fields};
use crate::ids::{ItemId, MemberId};
use crate::time::Timestamp;

/// Longest card title, in bytes.
pub const MAX_TITLE_LEN: usize = 1024;
/// Longest description or comment, in bytes.
pub const MAX_BODY_LEN: usize = 64 * 1024;

/// A board as people see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Board {
    /// The board's name.
    pub name: String,
    /// Columns left to right, with their cards top to bottom.
    pub columns: Vec<Column>,
    /// Archived cards, and cards whose column was archived or is unknown.
    pub archived: Vec<Card>,
}

/// A column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Column {
    /// The column id.
    pub id: ItemId,
    /// Its title.
    pub title: String,
    /// Its cards, top to bottom.
    pub cards: Vec<Card>,
}

/// A card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Card {
    /// The card id.
    pub id: ItemId,
    /// The column it is in.
    pub column: ItemId,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub description: String,
    /// Assigned members.
    pub assignees: Vec<MemberId>,
    /// Labels.
    pub labels: Vec<String>,
    /// Due date, `YYYY-MM-DD`.
    pub due: Option<String>,
    /// Checklist, in order.
    pub checklist: Vec<ChecklistItem>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// Whether it is archived.
    pub archived: bool,
    /// Its fractional position in the column.
    pub position: String,
}

/// A checklist item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChecklistItem {
    /// The item id.
    pub id: ItemId,
    /// Its text.
    pub text: String,
    /// Whether it is done.
    pub done: bool,
}

/// A comment on a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Comment {
    /// The comment id.
    pub id: ItemId,
    /// Who wrote it.
    pub author: MemberId,
    /// What they wrote.
    pub text: String,
    /// When.
    pub at: Timestamp,
}

/// Changes to a card's fields; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(optional_fields = nullable)]
pub struct CardEdit {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// `Some(None)` removes the due date; `Some(Some(date))` sets it. In JSON: absent
    /// leaves it, `null` removes it, a date sets it.
    #[serde(
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional = nullable)]
    pub due: Option<Option<String>>,
    /// Members to assign.
    #[ts(as = "Option<Vec<MemberId>>", optional)]
    pub add_assignees: Vec<MemberId>,
    /// Members to unassign.
    #[ts(as = "Option<Vec<MemberId>>", optional)]
    pub remove_assignees: Vec<MemberId>,
    /// Labels to add.
    #[ts(as = "Option<Vec<String>>", optional)]
    pub add_labels: Vec<String>,
    /// Labels to remove.
    #[ts(as = "Option<Vec<String>>", optional)]
    pub remove_labels: Vec<String>,
}

/// A field that is present (`Some`), even as `null` (`Some(None)`); `#[serde(default)]`
/// makes an absent one `None`.
fn present_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Creates a new board's structure. Only its creator calls this.
pub fn init(doc: &mut AutoCommit, name: &str) -> Result<(), DocError> {
    doc.put(ROOT, "name", name)?;
    doc.put_object(ROOT, "columns", ObjType::Map)?;
    doc.put_object(ROOT, "cards", ObjType::Map)?;
    doc.commit();
    Ok(())
}

fn section(doc: &AutoCommit, name: &str) -> Result<ObjId, DocError> {
    fields::object(doc, &ROOT, name, ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("the board has no {name}")))
}

fn column_obj(doc: &AutoCommit, id: ItemId) -> Result<ObjId, DocError> {
    fields::object(
        doc,
        &section(doc, "columns")?,
        &id.to_string(),
        ObjType::Map,
    )
    .ok_or(DocError::UnknownColumn(id))
}

fn card_obj(doc: &AutoCommit, id: ItemId) -> Result<ObjId, DocError> {
    fields::object(doc, &section(doc, "cards")?, &id.to_string(), ObjType::Map)
        .ok_or(DocError::UnknownCard(id))
}

/// Checks a due date is a real calendar date in `YYYY-MM-DD` form.
fn check_due(due: &str) -> Result<(), DocError> {
    let bad = || DocError::BadDate(due.to_owned());
    let parts: Vec<&str> = due.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (u32, u32, u32) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d == 0 || d > days {
        return Err(bad());
    }
    Ok(())
}

/// Adds a column at the right.
pub fn add_column(
    doc: &mut AutoCommit,
    id: ItemId,
    title: &str,
    now: Timestamp,
) -> Result<(), DocError> {
    check_text("a column title", title, MAX_TITLE_LEN)?;
    let columns = section(doc, "columns")?;
    let last = read(doc)?
        .columns
        .last()
        .map(|c| position_of(doc, &columns, c.id));
    let position = between(last.as_deref(), None, &id.0[..2]);
    let column = doc.put_object(&columns, id.to_string(), ObjType::Map)?;
    doc.put(&column, "title", title)?;
    doc.put(&column, "position", position)?;
    doc.put(&column, "archived", false)?;
    doc.put(&column, "created_at", ScalarValue::Uint(now.as_millis()))?;
    doc.commit();
    Ok(())
}

fn position_of(doc: &AutoCommit, section: &ObjId, id: ItemId) -> String {
    fields::object(doc, section, &id.to_string(), ObjType::Map)
        .and_then(|o| fields::string(doc, &o, "position"))
        .unwrap_or_default()
}

/// Renames a column.
pub fn rename_column(doc: &mut AutoCommit, id: ItemId, title: &str) -> Result<(), DocError> {
    check_text("a column title", title, MAX_TITLE_LEN)?;
    let column = column_obj(doc, id)?;
    doc.put(&column, "title", title)?;
    doc.commit();
    Ok(())
}

/// Archives a column; its cards show as archived until it is restored.
pub fn archive_column(doc: &mut AutoCommit, id: ItemId, archived: bool) -> Result<(), DocError> {
    let column = column_obj(doc, id)?;
    doc.put(&column, "archived", archived)?;
    doc.commit();
    Ok(())
}

/// Moves a column to `index` among the visible columns.
pub fn move_column(doc: &mut AutoCommit, id: ItemId, index: usize) -> Result<(), DocError> {
    let column = column_obj(doc, id)?;
    let columns = section(doc, "columns")?;
    let others: Vec<String> = read(doc)?
        .columns
        .iter()
        .filter(|c| c.id != id)
        .map(|c| position_of(doc, &columns, c.id))
        .collect();
    let position = slot(&others, index, &id);
    doc.put(&column, "position", position)?;
    doc.commit();
    Ok(())
}

/// The position for an item placed at `index` among `others` (sorted positions).
fn slot(others: &[String], index: usize, id: &ItemId) -> String {
    let index = index.min(others.len());
    let before = index.checked_sub(1).map(|i| others[i].as_str());
    let after = others.get(index).map(String::as_str);
    between(before, after, &id.0[..2])
}

/// Adds a card at the bottom of a column.
pub fn add_card(
    doc: &mut AutoCommit,
    id: ItemId,
    column: ItemId,
    title: &str,
    by: MemberId,
    now: Timestamp,
) -> Result<(), DocError> {
    check_text("a card title", title, MAX_TITLE_LEN)?;
    let board = read(doc)?;
    let target = board
        .columns
        .iter()
        .find(|c| c.id == column)
        .ok_or(DocError::UnknownColumn(column))?;
    let position = between(
        target.cards.last().map(|c| c.position.as_str()),
        None,
        &id.0[..2],
    );
    let cards = section(doc, "cards")?;
    if fields::object(doc, &cards, &id.to_string(), ObjType::Map).is_some() {
        return Err(DocError::Exists(format!("card {id}")));
    }
    let card = doc.put_object(&cards, id.to_string(), ObjType::Map)?;
    doc.put(&card, "title", title)?;
    doc.put(&card, "description", "")?;
    doc.put(&card, "column", column.to_string())?;
    doc.put(&card, "position", position)?;
    for set in ["assignees", "labels", "checklist", "comments"] {
        doc.put_object(&card, set, ObjType::Map)?;
    }
    doc.put(&card, "due", ScalarValue::Null)?;
    doc.put(&card, "archived", false)?;
    doc.put(&card, "created_by", by.to_string())?;
    doc.put(&card, "created_at", ScalarValue::Uint(now.as_millis()))?;
    doc.commit();
    Ok(())
}

/// Moves a card to `index` in `column`'s visible order (the end if past it).
pub fn move_card(
    doc: &mut AutoCommit,
    id: ItemId,
    column: ItemId,
    index: usize,
) -> Result<(), DocError> {
    let card = card_obj(doc, id)?;
    let board = read(doc)?;
    let target = board
        .columns
        .iter()
        .find(|c| c.id == column)
        .ok_or(DocError::UnknownColumn(column))?;
    let others: Vec<String> = target
        .cards
        .iter()
        .filter(|c| c.id != id)
        .map(|c| c.position.clone())
        .collect();
    let position = slot(&others, index, &id);
    doc.put(&card, "column", column.to_string())?;
    doc.put(&card, "position", position)?;
    doc.commit();
    Ok(())
}

/// Changes a card's fields.
pub fn edit_card(doc: &mut AutoCommit, id: ItemId, edit: &CardEdit) -> Result<(), DocError> {
    let card = card_obj(doc, id)?;
    if let Some(title) = &edit.title {
        check_text("a card title", title, MAX_TITLE_LEN)?;
    }
    if let Some(description) = &edit.description
        && description.len() > MAX_BODY_LEN
    {
        return Err(DocError::TooLong {
            what: "the description",
            len: description.len(),
            limit: MAX_BODY_LEN,
        });
    }
    if let Some(Some(due)) = &edit.due {
        check_due(due)?;
    }
    for label in &edit.add_labels {
        check_text("a label", label, 64)?;
    }
    if let Some(title) = &edit.title {
        doc.put(&card, "title", title.as_str())?;
    }
    if let Some(description) = &edit.description {
        doc.put(&card, "description", description.as_str())?;
    }
    match &edit.due {
        Some(Some(due)) => doc.put(&card, "due", due.as_str())?,
        Some(None) => doc.put(&card, "due", ScalarValue::Null)?,
        None => {}
    }
    let set = |doc: &mut AutoCommit,
               name: &str,
               add: &[String],
               remove: &[String]|
     -> Result<(), DocError> {
        let obj = fields::object(doc, &card, name, ObjType::Map)
            .ok_or_else(|| DocError::Malformed(format!("card {id} has no {name}")))?;
        for key in add {
            doc.put(&obj, key.as_str(), true)?;
        }
        for key in remove {
            if fields::boolean(doc, &obj, key).is_some() {
                doc.delete(&obj, key.as_str())?;
            }
        }
        Ok(())
    };
    let hex = |ms: &[MemberId]| ms.iter().map(ToString::to_string).collect::<Vec<_>>();
    set(
        doc,
        "assignees",
        &hex(&edit.add_assignees),
        &hex(&edit.remove_assignees),
    )?;
    set(doc, "labels", &edit.add_labels, &edit.remove_labels)?;
    doc.commit();
    Ok(())
}

/// Adds a checklist item at the end of a card's checklist.
pub fn checklist_add(
    doc: &mut AutoCommit,
    card: ItemId,
    item: ItemId,
    text: &str,
) -> Result<(), DocError> {
    check_text("a checklist item", text, MAX_TITLE_LEN)?;
    let card_id = card;
    let card = card_obj(doc, card)?;
    let list = fields::object(doc, &card, "checklist", ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("card {card_id} has no checklist")))?;
    let last = read_card(doc, &card_id.to_string())
        .and_then(|c| c.checklist.last().map(|i| position_of(doc, &list, i.id)));
    let position = between(last.as_deref(), None, &item.0[..2]);
    let entry = doc.put_object(&list, item.to_string(), ObjType::Map)?;
    doc.put(&entry, "text", text)?;
    doc.put(&entry, "done", false)?;
    doc.put(&entry, "position", position)?;
    doc.commit();
    Ok(())
}

fn checklist_entry(
    doc: &AutoCommit,
    card: ItemId,
    item: ItemId,
) -> Result<(ObjId, ObjId), DocError> {
    let card_obj = card_obj(doc, card)?;
    let list = fields::object(doc, &card_obj, "checklist", ObjType::Map)
        .ok_or(DocError::UnknownItem(item))?;
    let entry = fields::object(doc, &list, &item.to_string(), ObjType::Map)
        .ok_or(DocError::UnknownItem(item))?;
    Ok((list, entry))
}

/// Ticks or unticks a checklist item.
pub fn checklist_toggle(
    doc: &mut AutoCommit,
    card: ItemId,
    item: ItemId,
    done: bool,
) -> Result<(), DocError> {
    let (_, entry) = checklist_entry(doc, card, item)?;
    doc.put(&entry, "done", done)?;
    doc.commit();
    Ok(())
}

/// Removes a checklist item.
pub fn checklist_remove(doc: &mut AutoCommit, card: ItemId, item: ItemId) -> Result<(), DocError> {
    let (list, _) = checklist_entry(doc, card, item)?;
    doc.delete(&list, item.to_string())?;
    doc.commit();
    Ok(())
}

/// Comments on a card.
pub fn comment(
    doc: &mut AutoCommit,
    card: ItemId,
    id: ItemId,
    author: MemberId,
    text: &str,
    now: Timestamp,
) -> Result<(), DocError> {
    check_text("a comment", text, MAX_BODY_LEN)?;
    let card_id = card;
    let card = card_obj(doc, card)?;
    let comments = fields::object(doc, &card, "comments", ObjType::Map)
        .ok_or_else(|| DocError::Malformed(format!("card {card_id} has no comments")))?;
    let entry = doc.put_object(&comments, id.to_string(), ObjType::Map)?;
    doc.put(&entry, "author", author.to_string())?;
    doc.put(&entry, "text", text)?;
    doc.put(&entry, "at", ScalarValue::Uint(now.as_millis()))?;
    doc.commit();
    Ok(())
}

/// A card brought in whole from another tool's export.
#[derive(Clone, Debug)]
pub struct NewCard<'a> {
    /// Its id.
    pub id: ItemId,
    /// Title.
    pub title: &'a str,
    /// Description (Markdown).
    pub description: &'a str,
    /// Labels.
    pub labels: &'a [String],
    /// Due date, `YYYY-MM-DD`.
    pub due: Option<&'a str>,
    /// Checklist items: id, text, done.
    pub checklist: Vec<(ItemId, &'a str, bool)>,
    /// Comments, written by the importer: id, text, when.
    pub comments: Vec<(ItemId, &'a str, Timestamp)>,
    /// Archived.
    pub archived: bool,
}

/// Adds whole cards at the bottom of `column`, after the card at position `after`
/// (the column's last; `None` for an empty column), in one change: one pass, where
/// adding them one by one would read the whole board for each. Checks every card
/// before writing any. Answers the last card's position, for the next batch.
pub fn add_cards(
    doc: &mut AutoCommit,
    column: ItemId,
    after: Option<String>,
    cards: &[NewCard<'_>],
    by: MemberId,
    now: Timestamp,
) -> Result<Option<String>, DocError> {
    column_obj(doc, column)?;
    for card in cards {
        check_text("a card title", card.title, MAX_TITLE_LEN)?;
        if card.description.len() > MAX_BODY_LEN {
            return Err(DocError::TooLong {
                what: "the description",
                len: card.description.len(),
                limit: MAX_BODY_LEN,
            });
        }
        if let Some(due) = card.due {
            check_due(due)?;
        }
        for label in card.labels {
            check_text("a label", label, 64)?;
        }
        for (_, text, _) in &card.checklist {
            check_text("a checklist item", text, MAX_TITLE_LEN)?;
        }
        for (_, text, _) in &card.comments {
            check_text("a comment", text, MAX_BODY_LEN)?;
        }
    }
    let cards_obj = section(doc, "cards")?;
    let mut last = after;
    for card in cards {
        if fields::object(doc, &cards_obj, &card.id.to_string(), ObjType::Map).is_some() {
            return Err(DocError::Exists(format!("card {}", card.id)));
        }
        let position = between(last.as_deref(), None, &card.id.0[..2]);
        let obj = doc.put_object(&cards_obj, card.id.to_string(), ObjType::Map)?;
        doc.put(&obj, "title", card.title)?;
        doc.put(&obj, "description", card.description)?;
        doc.put(&obj, "column", column.to_string())?;
        doc.put(&obj, "position", position.as_str())?;
        doc.put_object(&obj, "assignees", ObjType::Map)?;
        let labels = doc.put_object(&obj, "labels", ObjType::Map)?;
        for label in card.labels {
            doc.put(&labels, label.as_str(), true)?;
        }
        let checklist = doc.put_object(&obj, "checklist", ObjType::Map)?;
        let mut item_position: Option<String> = None;
        for (id, text, done) in &card.checklist {
            let p = between(item_position.as_deref(), None, &id.0[..2]);
            let entry = doc.put_object(&checklist, id.to_string(), ObjType::Map)?;
            doc.put(&entry, "text", *text)?;
            doc.put(&entry, "done", *done)?;
            doc.put(&entry, "position", p.as_str())?;
            item_position = Some(p);
        }
        let comments = doc.put_object(&obj, "comments", ObjType::Map)?;
        for (id, text, at) in &card.comments {
            let entry = doc.put_object(&comments, id.to_string(), ObjType::Map)?;
            doc.put(&entry, "author", by.to_string())?;
            doc.put(&entry, "text", *text)?;
            doc.put(&entry, "at", ScalarValue::Uint(at.as_millis()))?;
        }
        match card.due {
            Some(due) => doc.put(&obj, "due", due)?,
            None => doc.put(&obj, "due", ScalarValue::Null)?,
        }
        doc.put(&obj, "archived", card.archived)?;
        doc.put(&obj, "created_by", by.to_string())?;
        doc.put(&obj, "created_at", ScalarValue::Uint(now.as_millis()))?;
        last = Some(position);
    }
    doc.commit();
    Ok(last)
}

/// Archives (or restores) a card.
pub fn archive_card(doc: &mut AutoCommit, id: ItemId, archived: bool) -> Result<(), DocError> {
    let card = card_obj(doc, id)?;
    doc.put(&card, "archived", archived)?;
    doc.commit();
    Ok(())
}

fn read_card(doc: &AutoCommit, key: &str) -> Option<Card> {
    let cards = section(doc, "cards").ok()?;
    let card = fields::object(doc, &cards, key, ObjType::Map)?;
    let set = |name: &str| {
        fields::object(doc, &card, name, ObjType::Map)
            .map(|o| fields::set_members(doc, &o))
            .unwrap_or_default()
    };
    let mut labels = set("labels");
    labels.sort();
    let mut assignees: Vec<MemberId> = set("assignees")
        .iter()
        .filter_map(|m| m.parse().ok())
        .collect();
    assignees.sort();
    let mut checklist: Vec<(String, ChecklistItem)> =
        fields::object(doc, &card, "checklist", ObjType::Map)
            .map(|list| {
                fields::keys(doc, &list)
                    .into_iter()
                    .filter_map(|k| {
                        let entry = fields::object(doc, &list, &k, ObjType::Map)?;
                        let item = ChecklistItem {
                            id: k.parse().ok()?,
                            text: fields::string(doc, &entry, "text")?,
                            done: fields::boolean(doc, &entry, "done").unwrap_or(false),
                        };
                        Some((
                            fields::string(doc, &entry, "position").unwrap_or_default(),
                            item,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
    checklist.sort_by(|a, b| (&a.0, a.1.id).cmp(&(&b.0, b.1.id)));
    let mut comments: Vec<Comment> = fields::object(doc, &card, "comments", ObjType::Map)
        .map(|list| {
            fields::keys(doc, &list)
                .into_iter()
                .filter_map(|k| {
                    let entry = fields::object(doc, &list, &k, ObjType::Map)?;
                    Some(Comment {
                        id: k.parse().ok()?,
                        author: fields::string(doc, &entry, "author")?.parse().ok()?,
                        text: fields::string(doc, &entry, "text")?,
                        at: Timestamp(fields::uint(doc, &entry, "at").unwrap_or(0)),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    comments.sort_by_key(|c| (c.at, c.id));
    Some(Card {
        id: key.parse().ok()?,
        column: fields::string(doc, &card, "column")?.parse().ok()?,
        title: fields::string(doc, &card, "title")?,
        description: fields::string(doc, &card, "description").unwrap_or_default(),
        assignees,
        labels,
        due: fields::string(doc, &card, "due"),
        checklist: checklist.into_iter().map(|(_, item)| item).collect(),
        comments,
        archived: fields::boolean(doc, &card, "archived").unwrap_or(false),
        position: fields::string(doc, &card, "position").unwrap_or_default(),
    })
}

/// Reads the board.
pub fn read(doc: &AutoCommit) -> Result<Board, DocError> {
    let name = fields::string(doc, &ROOT, "name")
        .ok_or_else(|| DocError::Malformed("the board has no name".into()))?;
    let columns_obj = section(doc, "columns")?;
    let mut columns: Vec<(String, Column)> = fields::keys(doc, &columns_obj)
        .into_iter()
        .filter_map(|k| {
            let c = fields::object(doc, &columns_obj, &k, ObjType::Map)?;
            if fields::boolean(doc, &c, "archived") == Some(true) {
                return None;
            }
            let column = Column {
                id: k.parse().ok()?,
                title: fields::string(doc, &c, "title")?,
                cards: Vec::new(),
            };
            Some((
                fields::string(doc, &c, "position").unwrap_or_default(),
                column,
            ))
        })
        .collect();
    columns.sort_by(|a, b| (&a.0, a.1.id).cmp(&(&b.0, b.1.id)));
    let mut columns: Vec<Column> = columns.into_iter().map(|(_, c)| c).collect();
    let cards_obj = section(doc, "cards")?;
    let mut cards: Vec<Card> = fields::keys(doc, &cards_obj)
        .iter()
        .filter_map(|k| read_card(doc, k))
        .collect();
    cards.sort_by(|a, b| (&a.position, a.id).cmp(&(&b.position, b.id)));
    let mut archived = Vec::new();
    for card in cards {
        match columns.iter_mut().find(|c| c.id == card.column) {
            Some(column) if !card.archived => column.cards.push(card),
            _ => archived.push(card),
        }
    }
    Ok(Board {
        name,
        columns,
        archived,
    })
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;
    use crate::docs::new_doc;

    #[test]
    fn a_null_due_date_in_json_removes_it_and_an_absent_one_keeps_it() {
        let parse = |json: &str| serde_json::from_str::<CardEdit>(json).unwrap();
        assert_eq!(parse(r#"{"due": null}"#).due, Some(None));
        assert_eq!(parse("{}").due, None);
        assert_eq!(
            parse(r#"{"due": "2027-01-31"}"#).due,
            Some(Some("2027-01-31".into()))
        );
        for due in [None, Some(None), Some(Some("2027-01-31".to_owned()))] {
            let edit = CardEdit {
                due: due.clone(),
                ..CardEdit::default()
            };
            let json = serde_json::to_string(&edit).unwrap();
            assert_eq!(parse(&json).due, due, "{json}");
        }
    }

    fn titles(board: &Board, column: usize) -> Vec<String> {
        board.columns[column]
            .cards
            .iter()
            .map(|c| c.title.clone())
            .collect()
    }

    #[test]
    fn columns_cards_moves_and_fields() {
        let mut doc = new_doc(ActorId::random());
        init(&mut doc, "Actions").unwrap();
        let (todo, done) = (ItemId::random(), ItemId::random());
        add_column(&mut doc, todo, "To do", Timestamp(1)).unwrap();
        add_column(&mut doc, done, "Done", Timestamp(1)).unwrap();
        let ids: Vec<ItemId> = (0..3).map(|_| ItemId::random()).collect();
        for (i, id) in ids.iter().enumerate() {
            add_card(
                &mut doc,
                *id,
                todo,
                &format!("card {i}"),
                MemberId([1; 32]),
                Timestamp(2),
            )
            .unwrap();
        }
        assert_eq!(
            titles(&read(&doc).unwrap(), 0),
            ["card 0", "card 1", "card 2"]
        );
        move_card(&mut doc, ids[2], todo, 0).unwrap();
        move_card(&mut doc, ids[0], done, 0).unwrap();
        let board = read(&doc).unwrap();
        assert_eq!(titles(&board, 0), ["card 2", "card 1"]);
        assert_eq!(titles(&board, 1), ["card 0"]);
        move_column(&mut doc, done, 0).unwrap();
        assert_eq!(read(&doc).unwrap().columns[0].title, "Done");

        let edit = CardEdit {
            title: Some("Print flyers".into()),
            due: Some(Some("2026-02-29".into())),
            ..CardEdit::default()
        };
        assert_eq!(
            edit_card(&mut doc, ids[1], &edit),
            Err(DocError::BadDate("2026-02-29".into()))
        );
        let edit = CardEdit {
            title: Some("Print flyers".into()),
            due: Some(Some("2028-02-29".into())),
            add_labels: vec!["outreach".into()],
            add_assignees: vec![MemberId([1; 32])],
            ..CardEdit::default()
        };
        edit_card(&mut doc, ids[1], &edit).unwrap();
        let item = ItemId::random();
        checklist_add(&mut doc, ids[1], item, "design").unwrap();
        checklist_toggle(&mut doc, ids[1], item, true).unwrap();
        comment(
            &mut doc,
            ids[1],
            ItemId::random(),
            MemberId([1; 32]),
            "9am",
            Timestamp(3),
        )
        .unwrap();
        let card = read(&doc).unwrap().columns[1].cards[1].clone();
        assert_eq!(card.title, "Print flyers");
        assert_eq!(card.due.as_deref(), Some("2028-02-29"));
        assert_eq!(card.labels, ["outreach"]);
        assert!(card.checklist[0].done);
        assert_eq!(card.comments[0].text, "9am");
        archive_card(&mut doc, ids[1], true).unwrap();
        let board = read(&doc).unwrap();
        assert_eq!(board.archived.len(), 1);
        assert_eq!(titles(&board, 1), ["card 2"]);
        let unknown = ItemId::random();
        assert_eq!(
            move_card(&mut doc, ids[2], unknown, 0),
            Err(DocError::UnknownColumn(unknown))
        );
        assert_eq!(
            archive_card(&mut doc, unknown, true),
            Err(DocError::UnknownCard(unknown))
        );
    }

    #[test]
    fn concurrent_moves_of_one_card_never_duplicate_it() {
        let mut a = new_doc(ActorId::random());
        init(&mut a, "B").unwrap();
        let (x, y) = (ItemId::random(), ItemId::random());
        add_column(&mut a, x, "X", Timestamp(1)).unwrap();
        add_column(&mut a, y, "Y", Timestamp(1)).unwrap();
        let card = ItemId::random();
        add_card(&mut a, card, x, "c", MemberId([1; 32]), Timestamp(1)).unwrap();
        let mut b = a.fork().with_actor(ActorId::random());
        move_card(&mut a, card, y, 0).unwrap();
        move_card(&mut b, card, x, 5).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (ra, rb) = (read(&a).unwrap(), read(&b).unwrap());
        assert_eq!(ra, rb);
        let count: usize = ra.columns.iter().map(|c| c.cards.len()).sum();
        assert_eq!(count, 1);
    }
}
