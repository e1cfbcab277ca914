//! Printing answers: JSON for scripts, plain text for people.

use std::io::Write;

use anyhow::Result;
use plenum_core::api::{BoardView, InviteView, MessageView, Response};
use plenum_core::group::{HistoryPolicy, Role};

/// Prints `response`. With `json`, the response's data as JSON. Otherwise `hint` picks
/// the form: `"id"` prints only the id of what was made or changed (for scripts that
/// capture it), `"text"` prints a pad's text as is, `""` a readable rendering, and
/// anything else is printed as a confirmation line.
pub(crate) fn print_response(response: &Response, json: bool, hint: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::to_value(response)?;
        let data = value
            .get("data")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        writeln!(out, "{}", serde_json::to_string_pretty(&data)?)?;
        return Ok(());
    }
    match (hint, response) {
        ("id", Response::Group(g)) => writeln!(out, "{}", g.id)?,
        ("id", Response::Channel(c)) => writeln!(out, "{}", c.id)?,
        ("id", Response::Message(m)) => writeln!(out, "{}", m.message.id)?,
        ("id", Response::Pad(p)) => writeln!(out, "{}", p.id)?,
        ("id", Response::Board(b)) => writeln!(
            out,
            "{}",
            b.changed
                .map_or_else(|| b.id.to_string(), |c| c.to_string())
        )?,
        ("text", Response::Pad(p)) => write!(out, "{}", p.text)?,
        ("link", Response::Invite(i)) => match &i.link {
            Some(link) => writeln!(out, "{link}")?,
            None => writeln!(out, "{}", i.id)?,
        },
        ("", _) => human(&mut out, response)?,
        (message, _) => writeln!(out, "{message}")?,
    }
    Ok(())
}

fn human(out: &mut impl Write, response: &Response) -> Result<()> {
    match response {
        Response::Done => {}
        Response::Profile(p) => {
            writeln!(out, "name:          {}", p.name)?;
            writeln!(out, "transport key: {}", p.transport_key)?;
            writeln!(out, "created:       {}", p.created_at)?;
        }
        Response::Group(g) => {
            writeln!(
                out,
                "{}  {}  ({} member{}, you are {})",
                g.id,
                g.name,
                g.members,
                if g.members == 1 { "" } else { "s" },
                role(g.role)
            )?;
            if g.history == HistoryPolicy::FromJoin {
                writeln!(out, "new members see chat from their join on")?;
            }
            for relay in &g.relays {
                writeln!(out, "relay: {relay}")?;
            }
            if g.muted {
                writeln!(
                    out,
                    "muted on this device: new messages raise no notifications"
                )?;
            }
            if !g.member {
                writeln!(
                    out,
                    "you are no longer a member of this group: what this device holds is read-only"
                )?;
            }
            if g.forks > 0 {
                writeln!(
                    out,
                    "warning: {} forked envelope(s) kept as evidence: a device of this group wrote two different histories (a restored backup, a copied data directory, or a stolen key)",
                    g.forks
                )?;
            }
        }
        Response::Groups(groups) => {
            if groups.is_empty() {
                writeln!(
                    out,
                    "No groups yet. Create one with `plenum group create NAME`."
                )?;
            }
            for g in groups {
                writeln!(
                    out,
                    "{}  {}  ({} member{})",
                    g.id,
                    g.name,
                    g.members,
                    if g.members == 1 { "" } else { "s" }
                )?;
            }
        }
        Response::Members(members) => {
            for m in members {
                let verified = if m.verified {
                    "verified"
                } else {
                    "not verified"
                };
                let me = if m.me { " (you)" } else { "" };
                let verified = if m.hidden {
                    format!("{verified}, content hidden by an admin")
                } else {
                    verified.to_owned()
                };
                writeln!(
                    out,
                    "{}  {}{me}  {}, {verified}\n    safety number: {}",
                    m.id.short(),
                    m.name,
                    role(m.role),
                    m.safety_number
                )?;
            }
        }
        Response::Channel(c) => writeln!(out, "{}  #{}", c.id, c.name)?,
        Response::Channels(channels) => {
            for c in channels {
                writeln!(out, "{}  #{}", c.id.short(), c.name)?;
            }
        }
        Response::Message(m) => message(out, m)?,
        Response::Messages(messages) => {
            if messages.is_empty() {
                writeln!(out, "No messages yet.")?;
            }
            for m in messages {
                message(out, m)?;
            }
        }
        Response::Pad(p) => write!(out, "{}", p.text)?,
        Response::Heads(heads) => writeln!(out, "{}", heads.join(" "))?,
        Response::Docs(docs) => {
            for d in docs {
                writeln!(out, "{}  {}", d.id.short(), d.name)?;
            }
        }
        Response::Board(b) => board(out, b)?,
        Response::Status(s) => crate::status::print(out, s)?,
        Response::Presence(people) => {
            if people.iter().all(|p| !p.online) {
                writeln!(out, "nobody else is online")?;
            }
            for p in people.iter().filter(|p| p.online) {
                let doing = if p.typing_in.is_some() {
                    " (typing)"
                } else {
                    ""
                };
                writeln!(out, "{}{doing}", p.name)?;
            }
        }
        Response::Invite(i) => invite(out, i)?,
        Response::Invites(invites) => {
            if invites.is_empty() {
                writeln!(
                    out,
                    "No invites. Make one with `plenum invite create GROUP`."
                )?;
            }
            for i in invites {
                invite(out, i)?;
            }
        }
        Response::Imported(r) => {
            let what = if r.channel.is_some() {
                format!("{} message{} into #{}", r.added, plural(r.added), r.name)
            } else if r.source == plenum_core::import::ImportSource::Trello {
                format!("board {} with {} card{}", r.name, r.added, plural(r.added))
            } else {
                format!("pad {}", r.name)
            };
            let mut notes = Vec::new();
            if r.already > 0 {
                notes.push(format!("{} already imported before", r.already));
            }
            if r.skipped > 0 {
                notes.push(format!(
                    "{} skipped: system lines and deleted messages",
                    r.skipped
                ));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            writeln!(out, "Imported {what}{notes}.")?;
        }
        _ => writeln!(out, "{}", serde_json::to_string(response)?)?,
    }
    Ok(())
}

fn invite(out: &mut impl Write, i: &InviteView) -> Result<()> {
    let state = if i.revoked {
        "revoked"
    } else if i.expired {
        "expired"
    } else if i.used >= i.uses {
        "used up"
    } else {
        "active"
    };
    let by = i.creator_name.as_deref().unwrap_or("a former member");
    writeln!(
        out,
        "{}  {state}, used {}/{}, expires {}, by {by}",
        i.id, i.used, i.uses, i.expires
    )?;
    if let (Some(link), "active") = (&i.link, state) {
        writeln!(out, "    {link}")?;
    }
    Ok(())
}

fn role(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Member => "member",
    }
}

fn message(out: &mut impl Write, view: &MessageView) -> Result<()> {
    let m = &view.message;
    let time = m.sent_at.to_string();
    let when = time.get(..16).unwrap_or(&time).replace('T', " ");
    let reply = m
        .reply_to
        .map(|r| format!(" ↪ {}", r.short()))
        .unwrap_or_default();
    let body = if view.hidden {
        "(hidden by an admin)".to_owned()
    } else if m.deleted {
        "(deleted)".to_owned()
    } else {
        m.text.clone()
    };
    let edited = if m.edited && !m.deleted {
        " (edited)"
    } else {
        ""
    };
    let reactions: Vec<String> = m
        .reactions
        .iter()
        .map(|(emoji, who)| format!("{emoji}{}", who.len()))
        .collect();
    let reactions = if reactions.is_empty() {
        String::new()
    } else {
        format!("  [{}]", reactions.join(" "))
    };
    writeln!(
        out,
        "{}  {when}  {}{reply}: {body}{edited}{reactions}",
        m.id.short(),
        view.author_name
    )?;
    Ok(())
}

fn board(out: &mut impl Write, view: &BoardView) -> Result<()> {
    let b = &view.board;
    writeln!(out, "{}", b.name)?;
    for column in &b.columns {
        writeln!(out, "\n## {} ({})", column.title, column.cards.len())?;
        for card in &column.cards {
            let mut extras = Vec::new();
            if let Some(due) = &card.due {
                extras.push(format!("due {due}"));
            }
            if !card.labels.is_empty() {
                extras.push(card.labels.join(", "));
            }
            if !card.checklist.is_empty() {
                let done = card.checklist.iter().filter(|i| i.done).count();
                extras.push(format!("{done}/{} done", card.checklist.len()));
            }
            if !card.comments.is_empty() {
                let n = card.comments.len();
                extras.push(format!("{n} comment{}", if n == 1 { "" } else { "s" }));
            }
            let extras = if extras.is_empty() {
                String::new()
            } else {
                format!("  ({})", extras.join("; "))
            };
            writeln!(out, "- {}  {}{extras}", card.id.short(), card.title)?;
        }
    }
    if !b.archived.is_empty() {
        writeln!(out, "\nArchived: {}", b.archived.len())?;
    }
    Ok(())
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}
