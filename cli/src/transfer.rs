//! `plenum import …` and `plenum export`: reading the export file (bounded, before
//! anything reaches the node), a progress bar on a terminal, and writing an export's
//! files into a folder.

use std::io::{IsTerminal, Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Subcommand;
use plenum_core::api::{Event, ExportView, Request};
use plenum_core::import::{ImportSource, MAX_IMPORT_BYTES};

use crate::attach::RunningNode;

#[derive(Subcommand)]
pub(crate) enum ImportCommand {
    /// A WhatsApp chat export (.txt, or the .zip WhatsApp makes; export "without
    /// media"). Goes into a channel named after the chat unless --channel says which.
    Whatsapp {
        group: String,
        file: PathBuf,
        /// An existing channel to import into.
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
        /// The phone's UTC offset when it wrote the export, e.g. +02:00 (WhatsApp
        /// writes local times without a zone). Default: this computer's.
        #[arg(long, value_name = "±HH:MM", allow_hyphen_values = true)]
        utc_offset: Option<String>,
    },
    /// A Telegram Desktop JSON export (result.json): one chat, or a full export with
    /// --chat naming the chat.
    Telegram {
        group: String,
        file: PathBuf,
        /// In a full export, the chat to import.
        #[arg(long, value_name = "NAME")]
        chat: Option<String>,
        /// An existing channel to import into.
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
        /// The UTC offset of the export's times when it has no `date_unixtime`, e.g.
        /// +02:00. Default: this computer's.
        #[arg(long, value_name = "±HH:MM", allow_hyphen_values = true)]
        utc_offset: Option<String>,
    },
    /// A Trello board's JSON export: a new board with its lists, cards, labels, due
    /// dates, checklists and comments.
    Trello {
        group: String,
        file: PathBuf,
        /// The new board's name (default: the name in Trello).
        #[arg(long)]
        name: Option<String>,
    },
    /// An Etherpad export (.etherpad), or a plain text or Markdown file: a new pad.
    Etherpad {
        group: String,
        file: PathBuf,
        /// The new pad's name (default: Etherpad's, or the file's).
        #[arg(long)]
        name: Option<String>,
    },
}

/// Reads an export file, refusing one over the limit before reading it.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let limit = MAX_IMPORT_BYTES as u64;
    let too_large = |len: u64| {
        anyhow::anyhow!(
            "{} is {len} bytes; imports take at most {limit} bytes ({} MiB). Export the chat without media, or split the file",
            path.display(),
            limit >> 20
        )
    };
    if len > limit {
        return Err(too_large(len));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// `+02:00`, `-0530`, `+2` → minutes east of UTC.
fn parse_offset(s: &str) -> Result<i32> {
    let bad = || anyhow::anyhow!("`{s}` is not a UTC offset; write it like +02:00 or -05:30");
    let (sign, rest) = match s.trim().as_bytes().first() {
        Some(b'+') => (1, &s.trim()[1..]),
        Some(b'-') => (-1, &s.trim()[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if h > 18 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// This computer's UTC offset now, in minutes.
fn local_offset() -> i32 {
    use chrono::Offset;
    chrono::Local::now().offset().fix().local_minus_utc() / 60
}

/// The request an import command sends.
pub(crate) fn import_request(command: ImportCommand) -> Result<Request> {
    let (group, file, source, target, chat, offset) = match command {
        ImportCommand::Whatsapp {
            group,
            file,
            channel,
            utc_offset,
        } => {
            let offset = match utc_offset {
                Some(s) => parse_offset(&s)?,
                None => local_offset(),
            };
            (group, file, ImportSource::Whatsapp, channel, None, offset)
        }
        ImportCommand::Telegram {
            group,
            file,
            chat,
            channel,
            utc_offset,
        } => {
            let offset = match utc_offset {
                Some(s) => parse_offset(&s)?,
                None => local_offset(),
            };
            (group, file, ImportSource::Telegram, channel, chat, offset)
        }
        ImportCommand::Trello { group, file, name } => {
            (group, file, ImportSource::Trello, name, None, 0)
        }
        ImportCommand::Etherpad { group, file, name } => {
            (group, file, ImportSource::Etherpad, name, None, 0)
        }
    };
    let bytes = read_bounded(&file)?;
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Request::Import {
        group,
        source,
        file_name,
        data: B64.encode(&bytes),
        target,
        chat,
        utc_offset_minutes: Some(offset),
    })
}

/// Draws a progress bar on stderr from an in-process node's import progress events,
/// when stderr is a terminal. Ends with the import.
pub(crate) fn progress_bar(
    events: impl futures_util::Stream<Item = Event> + Send + 'static,
) -> Option<std::thread::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    std::thread::Builder::new()
        .name("import progress".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
                return;
            };
            runtime.block_on(draw_from(events));
        })
        .ok()
}

/// The same for a running node: its events come over its WebSocket. Returns once the
/// socket is open (or after a second without it), so no progress is missed; without a
/// terminal, does nothing.
pub(crate) fn remote_progress_bar(node: RunningNode) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let (ready, opened) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("import progress".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(events) = node.events().await else {
                    return;
                };
                let _ = ready.send(());
                draw_from(events).await;
            });
        });
    if spawned.is_ok() {
        let _ = opened.recv_timeout(std::time::Duration::from_secs(1));
    }
}

async fn draw_from(events: impl futures_util::Stream<Item = Event>) {
    use futures_util::StreamExt;
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        if let Event::ImportProgress { done, total, .. } = event {
            draw(done, total);
            if done >= total {
                eprintln!();
                return;
            }
        }
    }
}

fn draw(done: u32, total: u32) {
    const WIDTH: u32 = 30;
    let filled = if total == 0 {
        WIDTH
    } else {
        (u64::from(done) * u64::from(WIDTH) / u64::from(total)) as u32
    };
    let bar: String = (0..WIDTH)
        .map(|i| if i < filled { '#' } else { '-' })
        .collect();
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\rimporting [{bar}] {done}/{total}");
    let _ = err.flush();
}

/// Writes an export's files under `dir` (made if missing); answers how many.
pub(crate) fn write_export(dir: &Path, export: &ExportView) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for file in &export.files {
        let relative = Path::new(&file.path);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            bail!(
                "the node named an export file `{}` outside the folder; refusing to write it",
                file.path
            );
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, &file.content)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(export.files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+02:00").unwrap(), 120);
        assert_eq!(parse_offset("-05:30").unwrap(), -330);
        assert_eq!(parse_offset("+0530").unwrap(), 330);
        assert_eq!(parse_offset("+2").unwrap(), 120);
        assert!(parse_offset("2").is_err());
        assert!(parse_offset("+25:00").is_err());
    }
}
