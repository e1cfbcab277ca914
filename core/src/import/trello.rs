//! A Trello board's JSON export (board menu → Print, export and share → Export as
//! JSON): `lists` and `cards` ordered by `pos`, `labels`, `checklists` with their
//! `checkItems`, and comments as `commentCard` entries in `actions`. Closed lists and
//! cards are imported archived.

use std::collections::HashMap;

use serde::Deserialize;

use super::{ImportError, check_size, parse_iso};

/// An imported board.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedBoard {
    /// The board's name in Trello.
    pub name: String,
    /// Its lists, left to right.
    pub columns: Vec<ImportedColumn>,
}

/// A Trello list.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedColumn {
    /// Its name.
    pub title: String,
    /// Closed in Trello.
    pub archived: bool,
    /// Its cards, top to bottom.
    pub cards: Vec<ImportedCard>,
}

/// A Trello card.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedCard {
    /// Its name.
    pub title: String,
    /// Its description (Markdown).
    pub description: String,
    /// Label names (a label without a name is called by its colour).
    pub labels: Vec<String>,
    /// Due date, `YYYY-MM-DD` (UTC).
    pub due: Option<String>,
    /// Checklist items in order, with whether they are done; items of a card's second
    /// and later checklists are prefixed with their checklist's name.
    pub checklist: Vec<(String, bool)>,
    /// Comments, oldest first.
    pub comments: Vec<ImportedComment>,
    /// Closed in Trello.
    pub archived: bool,
}

/// A comment on a card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedComment {
    /// Who wrote it, by their Trello name (unverified).
    pub author: String,
    /// What they wrote.
    pub text: String,
    /// When, milliseconds since the epoch.
    pub time_ms: u64,
}

#[derive(Deserialize)]
struct Board {
    name: Option<String>,
    #[serde(default)]
    lists: Vec<List>,
    #[serde(default)]
    cards: Vec<Card>,
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    checklists: Vec<Checklist>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct List {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    pos: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Card {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    desc: String,
    #[serde(default)]
    id_list: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    pos: f64,
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    id_labels: Vec<String>,
}

#[derive(Deserialize)]
struct Label {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checklist {
    #[serde(default)]
    id_card: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    pos: f64,
    #[serde(default)]
    check_items: Vec<CheckItem>,
}

#[derive(Deserialize)]
struct CheckItem {
    #[serde(default)]
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    pos: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Action {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    data: ActionData,
    #[serde(default)]
    member_creator: Option<Member>,
}

#[derive(Deserialize, Default)]
struct ActionData {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    card: Option<CardRef>,
}

#[derive(Deserialize)]
struct CardRef {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Member {
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// Reads a Trello board export.
pub fn parse(bytes: &[u8]) -> Result<ImportedBoard, ImportError> {
    check_size("Trello export", bytes)?;
    let board: Board = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::Format(format!(
            "this is not a readable Trello board export ({e}); in Trello use Menu → Print, export and share → Export as JSON"
        ))
    })?;
    let name = board.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
        ImportError::Format("this JSON has no board `name`; is it a Trello board export?".into())
    })?;
    if board.cards.len() > super::MAX_RECORDS {
        return Err(ImportError::TooLarge {
            what: "number of cards",
            len: board.cards.len() as u64,
            limit: super::MAX_RECORDS as u64,
        });
    }
    let labels: HashMap<&str, String> = board
        .labels
        .iter()
        .map(|l| {
            let name = if l.name.trim().is_empty() {
                l.color.clone().unwrap_or_else(|| "label".into())
            } else {
                l.name.clone()
            };
            (l.id.as_str(), name)
        })
        .collect();
    let mut checklists: HashMap<&str, Vec<&Checklist>> = HashMap::new();
    for c in &board.checklists {
        checklists.entry(c.id_card.as_str()).or_default().push(c);
    }
    let mut comments: HashMap<&str, Vec<ImportedComment>> = HashMap::new();
    for a in &board.actions {
        if a.kind != "commentCard" {
            continue;
        }
        let (Some(card), Some(text)) = (&a.data.card, &a.data.text) else {
            continue;
        };
        let author = a
            .member_creator
            .as_ref()
            .and_then(|m| m.full_name.clone().or_else(|| m.username.clone()))
            .unwrap_or_else(|| "someone".into());
        let time_ms = parse_iso(&a.date, 0).ok_or_else(|| {
            ImportError::Format(format!("a comment has an unreadable date `{}`", a.date))
        })?;
        comments
            .entry(card.id.as_str())
            .or_default()
            .push(ImportedComment {
                author,
                text: text.clone(),
                time_ms,
            });
    }
    let mut lists: Vec<&List> = board.lists.iter().collect();
    lists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    let mut columns: Vec<ImportedColumn> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for list in lists {
        index.insert(list.id.as_str(), columns.len());
        columns.push(ImportedColumn {
            title: if list.name.trim().is_empty() {
                "(untitled list)".into()
            } else {
                list.name.clone()
            },
            archived: list.closed,
            cards: Vec::new(),
        });
    }
    let mut cards: Vec<&Card> = board.cards.iter().collect();
    cards.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    for card in cards {
        let Some(&column) = index.get(card.id_list.as_str()) else {
            return Err(ImportError::Format(format!(
                "card `{}` is in a list the export does not have ({})",
                card.name, card.id_list
            )));
        };
        let mut card_checklists = checklists.remove(card.id.as_str()).unwrap_or_default();
        card_checklists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
        let mut checklist = Vec::new();
        for (n, list) in card_checklists.iter().enumerate() {
            let mut items: Vec<&CheckItem> = list.check_items.iter().collect();
            items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
            for item in items {
                let text = if n == 0 {
                    item.name.clone()
                } else {
                    format!("{}: {}", list.name, item.name)
                };
                checklist.push((text, item.state == "complete"));
            }
        }
        let mut card_comments = comments.remove(card.id.as_str()).unwrap_or_default();
        card_comments.sort_by_key(|c| c.time_ms);
        let due = match &card.due {
            Some(due) => Some(
                due.get(..10)
                    .filter(|d| parse_iso(&format!("{d}T00:00:00Z"), 0).is_some())
                    .ok_or_else(|| {
                        ImportError::Format(format!(
                            "card `{}` has an unreadable due date `{due}`",
                            card.name
                        ))
                    })?
                    .to_owned(),
            ),
            None => None,
        };
        let mut card_labels: Vec<String> = card
            .id_labels
            .iter()
            .filter_map(|id| labels.get(id.as_str()).cloned())
            .collect();
        card_labels.sort();
        card_labels.dedup();
        columns[column].cards.push(ImportedCard {
            title: if card.name.trim().is_empty() {
                "(untitled card)".into()
            } else {
                card.name.clone()
            },
            description: card.desc.clone(),
            labels: card_labels,
            due,
            checklist,
            comments: card_comments,
            archived: card.closed,
        });
    }
    Ok(ImportedBoard { name, columns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn fixture() -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/import/trello/board.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn lists_cards_labels_checklists_and_comments_in_order() {
        let board = parse(&fixture()).unwrap();
        assert_eq!(board.name, "Rent strike");
        let titles: Vec<(&str, bool, Vec<&str>)> = board
            .columns
            .iter()
            .map(|c| {
                (
                    c.title.as_str(),
                    c.archived,
                    c.cards.iter().map(|k| k.title.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            titles,
            [
                ("To do", false, vec!["Print flyers", "Book the hall"]),
                ("Doing", false, vec!["Call the landlord", "Old idea"]),
                ("Done", false, vec!["Found a lawyer"]),
                ("Someday", true, vec!["Party"]),
            ]
        );
        let flyers = &board.columns[0].cards[0];
        assert_eq!(flyers.description, "A5, **both sides**");
        assert_eq!(flyers.labels, ["green", "urgent"]);
        assert_eq!(flyers.due.as_deref(), Some("2022-01-15"));
        assert_eq!(
            flyers.checklist,
            [
                ("draft text".to_owned(), true),
                ("get paper".to_owned(), false),
                ("Later: distribute".to_owned(), false),
            ]
        );
        let comments: Vec<(String, &str, &str)> = flyers
            .comments
            .iter()
            .map(|c| {
                (
                    Timestamp(c.time_ms).to_string(),
                    c.author.as_str(),
                    c.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            comments,
            [
                (
                    "2022-01-10T09:00:00.000Z".into(),
                    "Ana Lima",
                    "I can print 200"
                ),
                ("2022-01-11T18:30:00.000Z".into(), "Ben", "thanks!"),
            ]
        );
        assert!(board.columns[1].cards[1].archived);
        assert!(!board.columns[1].cards[0].archived);
    }

    #[test]
    fn broken_exports_are_refused() {
        let bytes = fixture();
        let err = parse(&bytes[..bytes.len() - 10]).unwrap_err();
        assert!(err.to_string().contains("not a readable Trello"), "{err}");
        let err = parse(b"[1, 2]").unwrap_err();
        assert!(err.to_string().contains("Trello"), "{err}");
        let err = parse(br#"{"lists": []}"#).unwrap_err();
        assert!(err.to_string().contains("no board `name`"), "{err}");
        let err =
            parse(br#"{"name": "b", "lists": [], "cards": [{"name": "x", "idList": "gone"}]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("card `x`"), "{err}");
    }
}
