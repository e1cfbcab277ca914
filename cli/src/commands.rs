//! The subcommands and how each maps onto API requests.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use plenum_core::api::{Request, Response};
use plenum_core::docs::CardEdit;
use plenum_core::group::{HistoryPolicy, Role};
use plenum_core::invite::InviteLink;
use plenum_core::{Node, NodeConfig, Protection};

use crate::Cli;
use crate::attach::RunningNode;
use crate::output::print_response;
use crate::relay::RelayArgs;
use crate::transfer::{
    ImportCommand, import_request, progress_bar, remote_progress_bar, write_export,
};
use crate::unlock::{PassphraseSource, data_dir, default_key_file};
use crate::up::UpArgs;
use crate::wire::{InitBody, NodeState};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create a profile in the data directory.
    Init {
        /// Your name, as the people in your groups will see it.
        #[arg(long)]
        name: String,
        /// Keep the storage key in a key file instead of behind a passphrase. Anyone who
        /// gets both the key file and the data directory can read everything.
        #[arg(long)]
        no_passphrase: bool,
        /// Where to put the key file (default: the platform's config directory).
        #[arg(long, value_name = "PATH", requires = "no_passphrase")]
        key_file: Option<PathBuf>,
        /// Keep the storage key in the operating system's keyring (GNOME Keyring or
        /// KWallet through the Secret Service, macOS Keychain, Windows Credential
        /// Manager): opened by your login, nothing to type. Whoever can use your
        /// unlocked session can read the profile.
        #[arg(long, conflicts_with = "no_passphrase")]
        keyring: bool,
        /// How long unlocking should take, in milliseconds (default 1000). Lower it only
        /// for tests; it is what slows down guessing a stolen profile's passphrase.
        #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
        kdf_ms: u64,
    },
    /// Run the node in the foreground until Ctrl-C: it serves the local API that
    /// other commands, the browser UI and the desktop shell attach to.
    Up(UpArgs),
    /// Run a relay for groups whose devices are behind NATs, until Ctrl-C. It
    /// relays encrypted connections and sees no content; give the addresses it prints
    /// to `plenum up --relay`.
    Relay(RelayArgs),
    /// Unlock the running node with the profile's passphrase.
    Unlock,
    /// Join a group with an invite link: through the running node if there is one,
    /// otherwise by starting the network until admitted and caught up.
    Join {
        /// The plenum://join/… link.
        link: String,
        /// How long to look for a member who can admit this device.
        #[arg(long, value_name = "DURATION", default_value = "120s")]
        timeout: humantime::Duration,
        /// Without a running node: a network address to listen on; repeatable.
        #[arg(long, value_name = "MULTIADDR")]
        listen: Vec<String>,
        /// Without a running node: do not look for peers on the local network.
        #[arg(long)]
        no_mdns: bool,
        /// Without a running node: a relay to use besides those in the link;
        /// repeatable.
        #[arg(long, value_name = "MULTIADDR")]
        relay: Vec<String>,
    },
    /// How this device stands with its peers: per group, each peer's connection and,
    /// per document, in sync or behind by how many envelopes; forks.
    Status {
        /// Only this group.
        group: Option<String>,
    },
    /// Who in a group is online now, and who is typing (needs a running node).
    Online {
        /// The group.
        group: String,
    },
    /// Show this device's profile.
    Profile,
    /// Groups on this device.
    #[command(subcommand)]
    Group(GroupCommand),
    /// A group's members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Invite links.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// A group's chat channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Chat messages.
    #[command(subcommand)]
    Chat(ChatCommand),
    /// Markdown pads.
    #[command(subcommand)]
    Pad(PadCommand),
    /// Task boards.
    #[command(subcommand)]
    Board(BoardCommand),
    /// Bring in a chat, board or pad from WhatsApp, Telegram, Trello or Etherpad.
    /// All or nothing; importing a chat again adds only what is new.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write everything this device can read of a group into a folder, as Markdown and
    /// JSON (see the README.md it writes).
    Export {
        group: String,
        /// The folder (made if missing; files of an earlier export are overwritten).
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum GroupCommand {
    /// Found a group; prints its id.
    Create { name: String },
    /// List your groups.
    List,
    /// Show one group.
    Show { group: String },
    /// Rename a group.
    Rename { group: String, name: String },
    /// Raise no notifications for a group's new messages on this device.
    Mute { group: String },
    /// Notify about a group's new messages again.
    Unmute { group: String },
    /// Leave a group: the others are told, and the group's data and keys are deleted
    /// from this device.
    Leave { group: String },
    /// Set whether new members see the group's past chat (admins).
    History { group: String, policy: HistoryArg },
    /// Show the group's relays, or set them (admins): every member's device keeps a
    /// reservation at each, and invite links lead through them.
    Relays {
        group: String,
        /// A relay's address as `plenum relay` prints it; repeatable. Replaces the
        /// list.
        #[arg(long = "set", value_name = "MULTIADDR")]
        set: Vec<String>,
        /// Use no relays.
        #[arg(long, conflicts_with = "set")]
        clear: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum HistoryArg {
    /// New members see everything.
    Full,
    /// New members see chat from their join on (pads and boards keep their history).
    FromJoin,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum RoleArg {
    Admin,
    Member,
}

#[derive(Subcommand)]
pub(crate) enum MemberCommand {
    /// List a group's members with their roles and safety numbers.
    List { group: String },
    /// Remove a member (admins); the group's key is rotated so nothing written
    /// afterwards opens on their devices.
    Remove { group: String, member: String },
    /// Make a member an admin or a plain member (admins).
    Role {
        group: String,
        member: String,
        role: RoleArg,
    },
    /// Hide everything a member wrote from everyone's views (admins), or with --undo
    /// show it again.
    Hide {
        group: String,
        member: String,
        #[arg(long)]
        undo: bool,
    },
    /// Mark a member verified after comparing safety numbers in person (or, with
    /// --undo, not verified).
    Verify {
        group: String,
        member: String,
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum InviteCommand {
    /// Make an invite link; prints the link (and with --qr a QR code to scan).
    Create {
        group: String,
        /// How many people it admits.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// How long it stays valid, e.g. 24h, 3d, 30m.
        #[arg(long, value_name = "DURATION", default_value = "7d")]
        expires: humantime::Duration,
        /// Also print a QR code of the link.
        #[arg(long)]
        qr: bool,
    },
    /// List a group's invites with their ids.
    List { group: String },
    /// Revoke an invite by id (or unique id prefix).
    Revoke { group: String, invite: String },
}

#[derive(Subcommand)]
pub(crate) enum ChannelCommand {
    /// Open a new channel.
    Create { group: String, name: String },
    /// List a group's channels.
    List { group: String },
    /// Rename a channel.
    Rename {
        group: String,
        channel: String,
        name: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ChatCommand {
    /// Send a message; prints its id.
    Send {
        group: String,
        text: String,
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
        /// The id (or unique prefix) of the message this replies to.
        #[arg(long, value_name = "ID")]
        reply_to: Option<String>,
    },
    /// Show a channel's messages.
    Log {
        group: String,
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
        /// Only the last N messages.
        #[arg(long, value_name = "N")]
        last: Option<u32>,
        /// Only messages before this one (id or unique prefix), to page back.
        #[arg(long, value_name = "ID")]
        before: Option<String>,
    },
    /// Edit one of your messages.
    Edit {
        group: String,
        id: String,
        text: String,
    },
    /// Delete a message for everyone (yours, or any as an admin).
    Delete { group: String, id: String },
    /// React to a message.
    React {
        group: String,
        id: String,
        emoji: String,
        /// Take the reaction back.
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum PadCommand {
    /// Create a pad.
    Create { group: String, name: String },
    /// List a group's pads.
    List { group: String },
    /// Rename a pad.
    Rename {
        group: String,
        pad: String,
        name: String,
    },
    /// Print a pad's text.
    Cat { group: String, name: String },
    /// Replace a pad's text with standard input.
    Write { group: String, name: String },
}

#[derive(Subcommand)]
pub(crate) enum BoardCommand {
    /// Create a board.
    Create { group: String, name: String },
    /// List a group's boards.
    List { group: String },
    /// Rename a board.
    Rename {
        group: String,
        board: String,
        name: String,
    },
    /// Show a board's columns and cards.
    Show { group: String, name: String },
    /// Columns.
    #[command(subcommand)]
    Column(ColumnCommand),
    /// Cards.
    #[command(subcommand)]
    Card(CardCommand),
}

#[derive(Subcommand)]
pub(crate) enum ColumnCommand {
    /// Add a column at the right.
    Add {
        group: String,
        board: String,
        title: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum CardCommand {
    /// Add a card at the bottom of a column.
    Add {
        group: String,
        board: String,
        column: String,
        title: String,
    },
    /// Move a card to a column (at the bottom, or at --index).
    Move {
        group: String,
        board: String,
        card: String,
        column: String,
        /// Position in the column; 0 is the top.
        #[arg(long)]
        index: Option<usize>,
    },
    /// Change a card's fields.
    Edit(CardEditArgs),
    /// Comment on a card.
    Comment {
        group: String,
        board: String,
        card: String,
        text: String,
    },
    /// Archive a card (or restore it with --restore).
    Archive {
        group: String,
        board: String,
        card: String,
        #[arg(long)]
        restore: bool,
    },
    /// Add a checklist item to a card.
    Checklist {
        group: String,
        board: String,
        card: String,
        text: String,
    },
    /// Tick (or with --undo, untick) a checklist item.
    Check {
        group: String,
        board: String,
        card: String,
        item: String,
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Args)]
pub(crate) struct CardEditArgs {
    group: String,
    board: String,
    card: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// Due date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", conflicts_with = "no_due")]
    due: Option<String>,
    /// Remove the due date.
    #[arg(long)]
    no_due: bool,
    /// Assign a member (name or id); repeatable.
    #[arg(long, value_name = "MEMBER")]
    assign: Vec<String>,
    /// Unassign a member (name or id); repeatable.
    #[arg(long, value_name = "MEMBER")]
    unassign: Vec<String>,
    /// Add a label; repeatable.
    #[arg(long)]
    label: Vec<String>,
    /// Remove a label; repeatable.
    #[arg(long)]
    unlabel: Vec<String>,
}

pub(crate) fn run(cli: Cli) -> Result<()> {
    let dir = data_dir(cli.data)?;
    let passphrase = PassphraseSource {
        fd: cli.passphrase_fd,
        env: std::env::var("PLENUM_PASSPHRASE").ok(),
    };
    let json = cli.json;
    let command = match cli.command {
        Command::Up(args) => return crate::up::run(dir, args, &passphrase),
        Command::Relay(args) => return crate::relay::run(&dir, args),
        command => command,
    };
    // A node running for this directory holds the store: talk to it instead.
    let running = RunningNode::find(&dir);
    match command {
        Command::Init {
            name,
            no_passphrase,
            key_file,
            keyring,
            kdf_ms,
        } => {
            let protection = if keyring {
                Protection::Keyring
            } else if no_passphrase {
                let path = match key_file {
                    Some(path) => path,
                    None => default_key_file(&dir)?,
                };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).with_context(|| {
                        format!("cannot create {} for the key file", parent.display())
                    })?;
                }
                Protection::KeyFile(path)
            } else {
                let passphrase = passphrase.read("Choose a passphrase: ", true)?;
                if passphrase.trim().is_empty() {
                    bail!("the passphrase is empty; choose one, or use --no-passphrase");
                }
                Protection::Passphrase {
                    passphrase,
                    kdf_target: Duration::from_millis(kdf_ms),
                }
            };
            let response = match &running {
                Some(node) => node.init(&init_body(&name, protection, kdf_ms))?,
                None => {
                    let config = NodeConfig {
                        data_dir: dir.clone(),
                        kdf_target: Duration::from_millis(kdf_ms),
                    };
                    let node = Node::init(&config, &name, protection)?;
                    current_thread()?.block_on(node.call(Request::Profile))?
                }
            };
            print_response(
                &response,
                json,
                &format!("Created a profile for {name} in {}", dir.display()),
            )
        }
        Command::Unlock => {
            let Some(node) = running else {
                bail!(
                    "no node is running for {}, so there is nothing to unlock (commands unlock the profile themselves)",
                    dir.display()
                );
            };
            match node.state {
                NodeState::Locked => {}
                NodeState::Running => {
                    println!("The running node is already unlocked.");
                    return Ok(());
                }
                NodeState::Empty => bail!(
                    "no profile in {} yet: run `plenum init --name NAME`",
                    dir.display()
                ),
            }
            node.unlock(passphrase.read("Passphrase: ", false)?)?;
            println!("Unlocked the running node.");
            Ok(())
        }
        Command::Join {
            link,
            timeout,
            listen,
            no_mdns,
            relay,
        } if running.is_none() => {
            let method = Node::unlock_method(&dir)?;
            let node = Node::open(&NodeConfig::new(&dir), passphrase.unlock(&method)?)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let summary = runtime.block_on(crate::network::join_once(
                node,
                &link,
                timeout.into(),
                &crate::service::NetOptions {
                    listen,
                    mdns: !no_mdns,
                    relays: relay,
                },
            ))?;
            print_response(&Response::Group(summary), json, "")
        }
        command => match running {
            Some(node) => {
                match node.state {
                    NodeState::Running => {}
                    NodeState::Locked => bail!("the running node is locked: run `plenum unlock`"),
                    NodeState::Empty => bail!(
                        "no profile in {} yet: run `plenum init --name NAME` (the running node creates it)",
                        dir.display()
                    ),
                }
                if let Command::Join { timeout, .. } = &command {
                    // The running node does the work; its progress is in its own log.
                    eprintln!(
                        "plenum: the running node is looking for a member to admit this device (up to {timeout})"
                    );
                }
                if matches!(command, Command::Import(_)) {
                    remote_progress_bar(node.clone());
                }
                send(command, &|request| node.call(&request), json)
            }
            None => {
                let method = Node::unlock_method(&dir)?;
                let node = Node::open(&NodeConfig::new(&dir), passphrase.unlock(&method)?)?;
                let runtime = current_thread()?;
                if matches!(command, Command::Import(_)) {
                    // Drawn while the import runs; it ends with the import.
                    let _bar = progress_bar(node.events());
                }
                send(
                    command,
                    &|request| Ok(runtime.block_on(node.call(request))?),
                    json,
                )
            }
        },
    }
}

fn current_thread() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")
}

/// What `init` asks a running node for.
fn init_body(name: &str, protection: Protection, kdf_ms: u64) -> InitBody {
    let (key_file, passphrase, keyring) = match protection {
        Protection::KeyFile(path) => (Some(path), None, false),
        Protection::Passphrase { passphrase, .. } => (None, Some(passphrase), false),
        Protection::Keyring => (None, None, true),
    };
    InitBody {
        name: name.to_owned(),
        no_passphrase: key_file.is_some(),
        key_file,
        keyring,
        passphrase,
        kdf_ms: Some(kdf_ms),
    }
}

/// Sends a command's request(s) through `call` and prints the answer.
fn send(command: Command, call: &Call<'_>, json: bool) -> Result<()> {
    if let Command::Export { group, dir } = command {
        let response = call(Request::Export { group })?;
        let Response::Export(export) = &response else {
            bail!("the node answered an export with something else");
        };
        let written = write_export(&dir, export)?;
        if json {
            return print_response(&response, json, "");
        }
        println!("Exported {written} files to {}", dir.display());
        return Ok(());
    }
    let qr = matches!(
        command,
        Command::Invite(InviteCommand::Create { qr: true, .. })
    );
    let (request, quiet_hint) = request_for(command, call)?;
    let response = call(request)?;
    print_response(&response, json, quiet_hint)?;
    if let (true, false, Response::Invite(invite)) = (qr, json, &response)
        && let Some(link) = &invite.link
    {
        let code = InviteLink::parse(link)?.qr_terminal()?;
        std::io::Write::write_all(&mut std::io::stdout().lock(), code.as_bytes())?;
    }
    Ok(())
}

type Call<'a> = dyn Fn(Request) -> Result<Response> + 'a;

/// The request a command sends, and what to print on success when there is no data.
fn request_for(command: Command, call: &Call<'_>) -> Result<(Request, &'static str)> {
    use Request as R;
    Ok(match command {
        Command::Init { .. } | Command::Up(_) | Command::Relay(_) | Command::Unlock => {
            unreachable!("handled before opening the node")
        }
        Command::Join { link, timeout, .. } => (
            R::Join {
                link,
                timeout_ms: Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
            },
            "",
        ),
        Command::Status { group } => (R::Status { group }, ""),
        Command::Online { group } => (R::PresenceList { group }, ""),
        Command::Profile => (R::Profile, ""),
        Command::Group(GroupCommand::Create { name }) => (R::GroupCreate { name }, "id"),
        Command::Group(GroupCommand::List) => (R::GroupList, ""),
        Command::Group(GroupCommand::Show { group }) => (R::GroupShow { group }, ""),
        Command::Group(GroupCommand::Mute { group }) => (R::GroupMute { group, muted: true }, ""),
        Command::Group(GroupCommand::Unmute { group }) => (
            R::GroupMute {
                group,
                muted: false,
            },
            "",
        ),
        Command::Group(GroupCommand::Rename { group, name }) => {
            (R::GroupRename { group, name }, "Renamed.")
        }
        Command::Group(GroupCommand::Leave { group }) => (
            R::GroupLeave { group },
            "Left the group; its data and keys are deleted from this device.",
        ),
        Command::Group(GroupCommand::Relays { group, set, clear }) => {
            if set.is_empty() && !clear {
                (R::GroupShow { group }, "")
            } else {
                (R::GroupSetRelays { group, relays: set }, "")
            }
        }
        Command::Group(GroupCommand::History { group, policy }) => {
            let policy = match policy {
                HistoryArg::Full => HistoryPolicy::Full,
                HistoryArg::FromJoin => HistoryPolicy::FromJoin,
            };
            (R::GroupSetHistory { group, policy }, "")
        }
        Command::Member(MemberCommand::List { group }) => (R::MemberList { group }, ""),
        Command::Member(MemberCommand::Remove { group, member }) => {
            (R::MemberRemove { group, member }, "")
        }
        Command::Member(MemberCommand::Role {
            group,
            member,
            role,
        }) => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Member => Role::Member,
            };
            (
                R::MemberRole {
                    group,
                    member,
                    role,
                },
                "",
            )
        }
        Command::Member(MemberCommand::Verify {
            group,
            member,
            undo,
        }) => (
            R::MemberVerify {
                group,
                member,
                verified: !undo,
            },
            "",
        ),
        Command::Member(MemberCommand::Hide {
            group,
            member,
            undo,
        }) => (
            R::MemberHide {
                group,
                member,
                hidden: !undo,
            },
            "",
        ),
        Command::Invite(InviteCommand::Create {
            group,
            uses,
            expires,
            qr: _,
        }) => {
            let ms = u64::try_from(expires.as_millis()).unwrap_or(u64::MAX);
            (
                R::InviteCreate {
                    group,
                    uses: Some(uses),
                    expires_in_ms: Some(ms),
                },
                "link",
            )
        }
        Command::Invite(InviteCommand::List { group }) => (R::InviteList { group }, ""),
        Command::Invite(InviteCommand::Revoke { group, invite }) => {
            (R::InviteRevoke { group, invite }, "")
        }
        Command::Channel(ChannelCommand::Create { group, name }) => {
            (R::ChannelCreate { group, name }, "id")
        }
        Command::Channel(ChannelCommand::List { group }) => (R::ChannelList { group }, ""),
        Command::Channel(ChannelCommand::Rename {
            group,
            channel,
            name,
        }) => (
            R::ChannelRename {
                group,
                channel,
                name,
            },
            "Renamed.",
        ),
        Command::Chat(ChatCommand::Send {
            group,
            text,
            channel,
            reply_to,
        }) => (
            R::ChatSend {
                group,
                channel,
                text,
                reply_to,
            },
            "id",
        ),
        Command::Chat(ChatCommand::Log {
            group,
            channel,
            last,
            before,
        }) => (
            R::ChatLog {
                group,
                channel,
                before,
                limit: last,
            },
            "",
        ),
        Command::Chat(ChatCommand::Edit { group, id, text }) => (
            R::ChatEdit {
                group,
                message: id,
                text,
            },
            "id",
        ),
        Command::Chat(ChatCommand::Delete { group, id }) => {
            (R::ChatDelete { group, message: id }, "id")
        }
        Command::Chat(ChatCommand::React {
            group,
            id,
            emoji,
            remove,
        }) => (
            R::ChatReact {
                group,
                message: id,
                emoji,
                remove,
            },
            "id",
        ),
        Command::Pad(PadCommand::Create { group, name }) => (R::PadCreate { group, name }, "id"),
        Command::Pad(PadCommand::List { group }) => (R::PadList { group }, ""),
        Command::Pad(PadCommand::Rename { group, pad, name }) => {
            (R::PadRename { group, pad, name }, "Renamed.")
        }
        Command::Pad(PadCommand::Cat { group, name }) => (R::PadGet { group, pad: name }, "text"),
        Command::Pad(PadCommand::Write { group, name }) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the new text from standard input")?;
            (
                R::PadWrite {
                    group,
                    pad: name,
                    text,
                },
                "id",
            )
        }
        Command::Board(BoardCommand::Create { group, name }) => {
            (R::BoardCreate { group, name }, "id")
        }
        Command::Board(BoardCommand::List { group }) => (R::BoardList { group }, ""),
        Command::Board(BoardCommand::Rename { group, board, name }) => {
            (R::BoardRename { group, board, name }, "Renamed.")
        }
        Command::Board(BoardCommand::Show { group, name }) => {
            (R::BoardShow { group, board: name }, "")
        }
        Command::Board(BoardCommand::Column(ColumnCommand::Add {
            group,
            board,
            title,
        })) => (
            R::ColumnAdd {
                group,
                board,
                title,
            },
            "id",
        ),
        Command::Board(BoardCommand::Card(card)) => (card_request(card, call)?, "id"),
        Command::Import(import) => (import_request(import)?, ""),
        Command::Export { .. } => unreachable!("handled in send"),
    })
}

fn card_request(command: CardCommand, call: &Call<'_>) -> Result<Request> {
    use Request as R;
    Ok(match command {
        CardCommand::Add {
            group,
            board,
            column,
            title,
        } => R::CardAdd {
            group,
            board,
            column,
            title,
        },
        CardCommand::Move {
            group,
            board,
            card,
            column,
            index,
        } => R::CardMove {
            group,
            board,
            card,
            column,
            index,
        },
        CardCommand::Comment {
            group,
            board,
            card,
            text,
        } => R::CardComment {
            group,
            board,
            card,
            text,
        },
        CardCommand::Archive {
            group,
            board,
            card,
            restore,
        } => R::CardArchive {
            group,
            board,
            card,
            restore,
        },
        CardCommand::Checklist {
            group,
            board,
            card,
            text,
        } => R::ChecklistAdd {
            group,
            board,
            card,
            text,
        },
        CardCommand::Check {
            group,
            board,
            card,
            item,
            undo,
        } => R::ChecklistCheck {
            group,
            board,
            card,
            item,
            done: !undo,
        },
        CardCommand::Edit(args) => {
            let members = |names: &[String]| -> Result<Vec<_>> {
                if names.is_empty() {
                    return Ok(Vec::new());
                }
                let Response::Members(members) = call(R::MemberList {
                    group: args.group.clone(),
                })?
                else {
                    return Err(anyhow!("unexpected answer to a member list"));
                };
                names
                    .iter()
                    .map(|name| {
                        let lower = name.to_lowercase();
                        let found: Vec<_> = members
                            .iter()
                            .filter(|m| {
                                m.id.to_string().starts_with(&lower)
                                    || m.name.to_lowercase() == lower
                            })
                            .collect();
                        match found.as_slice() {
                            [one] => Ok(one.id),
                            [] => bail!(
                                "no member `{name}`; see `plenum member list {}`",
                                args.group
                            ),
                            _ => bail!("`{name}` matches several members; use their id"),
                        }
                    })
                    .collect()
            };
            let edit = CardEdit {
                title: args.title.clone(),
                description: args.description.clone(),
                due: if args.no_due {
                    Some(None)
                } else {
                    args.due.clone().map(Some)
                },
                add_assignees: members(&args.assign)?,
                remove_assignees: members(&args.unassign)?,
                add_labels: args.label.clone(),
                remove_labels: args.unlabel.clone(),
            };
            R::CardEdit {
                group: args.group,
                board: args.board,
                card: args.card,
                edit,
            }
        }
    })
}
