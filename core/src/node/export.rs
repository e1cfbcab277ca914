//! The export request: everything this device can read of a group, as files in
//! Markdown (for people) and JSON (for programs). The node returns the files and the
//! front end writes them (the CLI into a folder, the UI as a download): the node never
//! writes outside its data directory.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::api::{
    ApiError, BoardView, ExportFile, ExportView, InviteView, MemberView, MessageView, PadView,
    Response,
};
use crate::docs::{Board, Card, DocInfo};
use crate::ids::MemberId;
use crate::time::Timestamp;

use super::engine::{State, integrity};

const README: &str = "\
# Plenum export

This folder holds everything the exporting device could read of one group, written
by `plenum export` (or the app's Export button). Every file is UTF-8 text.

- `group.json`: the group's name and id, when and by whom it was exported, and the
  list of channels, pads and boards with the files they are in.
- `members.json`: the members, their roles, when they joined and their safety numbers.
- `invites.json`: the group's invites: who made them, how many people each admitted,
  expiry, whether revoked. The invite links themselves are left out (they are secrets
  that admit people).
- `chat/NAME.md`: each channel's transcript, oldest first, times in UTC. Messages
  brought in from another app show their original author with \"(imported,
  unverified)\": Plenum cannot prove who wrote them. Messages deleted for everyone are
  left out; those of members an admin hid show as hidden.
- `chat/NAME.json`: the same messages with every field (ids, replies, reactions,
  edits).
- `pads/NAME.md`: each pad's current Markdown text.
- `boards/NAME.md`: each board as Markdown task lists, one `## Column` per column and
  `- [ ] card` per card, with due dates, labels, descriptions, checklists and comments;
  archived cards under `## Archived`.
- `boards/NAME.json`: the same boards with every field.
";

/// File names that are safe anywhere: letters, digits, `-`, `_`, unique per folder.
struct Names {
    used: HashSet<String>,
}

impl Names {
    fn new() -> Names {
        Names {
            used: HashSet::new(),
        }
    }

    fn file(&mut self, folder: &str, name: &str, short_id: &str, ext: &str) -> String {
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let slug = slug.trim_matches('-');
        let slug = if slug.is_empty() { "untitled" } else { slug };
        let mut path = format!("{folder}/{slug}");
        if !self.used.insert(path.to_lowercase()) {
            path = format!("{folder}/{slug}-{short_id}");
            self.used.insert(path.to_lowercase());
        }
        format!("{path}.{ext}")
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string_pretty(value).map_err(integrity)
}

/// `2021-12-31 23:58` (UTC).
fn minute(t: Timestamp) -> String {
    let s = t.to_string();
    format!("{} {}", &s[..10], &s[11..16])
}

/// A chat transcript.
fn transcript(channel: &str, messages: &[MessageView]) -> String {
    let mut out = format!("# #{channel}\n\nTimes are UTC.\n\n");
    let mut day = String::new();
    for m in messages {
        if m.message.deleted {
            continue;
        }
        let at = minute(m.message.sent_at);
        if at[..10] != day {
            day = at[..10].to_owned();
            out.push_str(&format!("## {day}\n\n"));
        }
        let who = match &m.message.imported_author {
            Some(name) => format!("{name} (imported, unverified)"),
            None => m.author_name.clone(),
        };
        let text = if m.hidden {
            "(hidden by an admin)".to_owned()
        } else {
            m.message.text.replace('\n', "\n  ")
        };
        let edited = if m.message.edited { " (edited)" } else { "" };
        out.push_str(&format!("- [{}] **{who}**{edited}: {text}\n", &at[11..]));
    }
    out
}

fn card_markdown(out: &mut String, card: &Card, names: &HashMap<MemberId, String>) {
    out.push_str(&format!("- [ ] {}\n", card.title));
    let mut facts = Vec::new();
    if let Some(due) = &card.due {
        facts.push(format!("due {due}"));
    }
    if !card.labels.is_empty() {
        facts.push(format!("labels: {}", card.labels.join(", ")));
    }
    if !card.assignees.is_empty() {
        let who: Vec<String> = card
            .assignees
            .iter()
            .map(|m| names.get(m).cloned().unwrap_or_else(|| m.short()))
            .collect();
        facts.push(format!("assigned: {}", who.join(", ")));
    }
    if !facts.is_empty() {
        out.push_str(&format!("  {}\n", facts.join(" · ")));
    }
    if !card.description.trim().is_empty() {
        out.push('\n');
        for line in card.description.lines() {
            out.push_str(&format!("  {line}\n"));
        }
        out.push('\n');
    }
    for item in &card.checklist {
        let mark = if item.done { "x" } else { " " };
        out.push_str(&format!("  - [{mark}] {}\n", item.text));
    }
    for c in &card.comments {
        let who = names
            .get(&c.author)
            .cloned()
            .unwrap_or_else(|| c.author.short());
        out.push_str(&format!(
            "  > {who}, {}: {}\n",
            minute(c.at),
            c.text.replace('\n', "\n  > ")
        ));
    }
}

fn board_markdown(board: &Board, names: &HashMap<MemberId, String>) -> String {
    let mut out = format!("# {}\n\n", board.name);
    for column in &board.columns {
        out.push_str(&format!("## {}\n\n", column.title));
        for card in &column.cards {
            card_markdown(&mut out, card, names);
        }
        out.push('\n');
    }
    if !board.archived.is_empty() {
        out.push_str("## Archived\n\n");
        for card in &board.archived {
            card_markdown(&mut out, card, names);
        }
    }
    out
}

#[derive(Serialize)]
struct Listed<'a> {
    id: String,
    name: &'a str,
    file: String,
}

#[derive(Serialize)]
struct GroupFile<'a> {
    name: &'a str,
    id: String,
    exported_at: Timestamp,
    exported_by: &'a str,
    channels: Vec<Listed<'a>>,
    pads: Vec<Listed<'a>>,
    boards: Vec<Listed<'a>>,
}

impl State {
    pub(super) fn export(&mut self, group: &str, now: Timestamp) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let g = id.to_string();
        let directory = self.directory(&id)?.clone();
        let Response::Members(members) = self.member_list(&g)? else {
            return Err(integrity("a member list that is not one"));
        };
        let Response::Invites(mut invites) = self.invite_list(&g, now)? else {
            return Err(integrity("an invite list that is not one"));
        };
        for invite in &mut invites {
            invite.link = None;
        }
        let mut names: HashMap<MemberId, String> =
            members.iter().map(|m| (m.id, m.name.clone())).collect();
        if let Ok(record) = self.group(&id) {
            for (member, name) in &record.state.former {
                names
                    .entry(*member)
                    .or_insert_with(|| format!("{name} (left)"));
            }
        }
        let mut files = vec![ExportFile {
            path: "README.md".into(),
            content: README.into(),
        }];
        let mut paths = Names::new();
        let mut channels = Vec::new();
        for channel in &directory.channels {
            let cid = channel.id.to_string();
            let Response::Messages(messages) = self.chat_log(&g, Some(&cid), None, None)? else {
                return Err(integrity("a chat log that is not one"));
            };
            let base = paths.file("chat", &channel.name, &channel.id.short(), "md");
            let json_path = format!("{}.json", base.trim_end_matches(".md"));
            let kept: Vec<&MessageView> = messages.iter().filter(|m| !m.message.deleted).collect();
            files.push(ExportFile {
                path: base.clone(),
                content: transcript(&channel.name, &messages),
            });
            files.push(ExportFile {
                path: json_path,
                content: json(&kept)?,
            });
            channels.push(Listed {
                id: cid,
                name: &channel.name,
                file: base,
            });
        }
        let mut pads = Vec::new();
        for pad in &directory.pads {
            let Response::Pad(PadView { text, .. }) = self.pad_get(&g, &pad.id.to_string())? else {
                return Err(integrity("a pad that is not one"));
            };
            let path = paths.file("pads", &pad.name, &pad.id.short(), "md");
            files.push(ExportFile {
                path: path.clone(),
                content: text,
            });
            pads.push(doc_listed(pad, path));
        }
        let mut boards = Vec::new();
        for board in &directory.boards {
            let Response::Board(BoardView { board: view, .. }) =
                self.board_show(&g, &board.id.to_string())?
            else {
                return Err(integrity("a board that is not one"));
            };
            let path = paths.file("boards", &board.name, &board.id.short(), "md");
            files.push(ExportFile {
                path: path.clone(),
                content: board_markdown(&view, &names),
            });
            files.push(ExportFile {
                path: format!("{}.json", path.trim_end_matches(".md")),
                content: json(&view)?,
            });
            boards.push(doc_listed(board, path));
        }
        let members_json = json::<Vec<MemberView>>(&members)?;
        let invites_json = json::<Vec<InviteView>>(&invites)?;
        let group_json = json(&GroupFile {
            name: &directory.name,
            id: g.clone(),
            exported_at: now,
            exported_by: &self.profile.display_name,
            channels,
            pads,
            boards,
        })?;
        files.push(ExportFile {
            path: "group.json".into(),
            content: group_json,
        });
        files.push(ExportFile {
            path: "members.json".into(),
            content: members_json,
        });
        files.push(ExportFile {
            path: "invites.json".into(),
            content: invites_json,
        });
        Ok(Response::Export(ExportView { files }))
    }
}

fn doc_listed(info: &DocInfo, file: String) -> Listed<'_> {
    Listed {
        id: info.id.to_string(),
        name: &info.name,
        file,
    }
}
