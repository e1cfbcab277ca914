//! The membership log on a device: loading it from its envelopes, writing this
//! device's operations (each sealed into a membership envelope), and the requests
//! about members, roles, invites and leaving.

use std::collections::BTreeMap;

use crate::api::{ApiError, ErrorKind, Event, InviteView, MemberView, Response};
use crate::envelope::{Envelope, Header, Kind, group_tag};
use crate::group::{
    self, GroupError, HistoryPolicy, MAX_GROUP_RELAYS, MembershipLog, Op, OpKind, Role,
    membership_doc,
};
use crate::identity::safety_number;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::invite::{InviteLink, InviteSecret};
use crate::store::Slot;
use crate::time::Timestamp;

use super::engine::{AuthorRecord, State, Tx, decode, integrity, storage_error};
use super::resolve::resolve;

/// How long an invite admits people unless its creator says otherwise.
pub(super) const DEFAULT_INVITE_LIFETIME_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// The longest an invite may stay valid.
const MAX_INVITE_LIFETIME_MS: u64 = 365 * 24 * 60 * 60 * 1000;
/// The most people one invite may admit.
const MAX_INVITE_USES: u32 = 1000;

/// A refused membership operation as the front ends see it.
pub(super) fn group_error(e: GroupError) -> ApiError {
    let kind = match &e {
        GroupError::NotAMember(_)
        | GroupError::NotAllowed(_)
        | GroupError::AdminOnly { .. }
        | GroupError::MemberInvitesDisabled
        | GroupError::RemovedConcurrently { .. } => ErrorKind::Forbidden,
        GroupError::UnknownInvite(_) => ErrorKind::NotFound,
        GroupError::Malformed(_) => ErrorKind::Integrity,
        _ => ErrorKind::Invalid,
    };
    ApiError::new(kind, e.to_string())
}

/// A relay's address as given (`/ip4/…/tcp/…/p2p/<id>`), in its binary form.
#[cfg(feature = "net")]
fn relay_address(text: &str) -> Result<Vec<u8>, String> {
    let address: libp2p::Multiaddr = text.parse().map_err(|_| {
        format!("{text:?} is not a relay address; copy one that `plenum relay` prints")
    })?;
    if !matches!(
        address.iter().last(),
        Some(libp2p::multiaddr::Protocol::P2p(_))
    ) {
        return Err(format!(
            "{text} does not end in /p2p/<the relay's id>; copy an address `plenum relay` prints"
        ));
    }
    let bytes = address.to_vec();
    let limit = group::MAX_RELAY_ADDRESS_LEN;
    if bytes.len() > limit {
        return Err(format!("{text} is longer than {limit} bytes"));
    }
    Ok(bytes)
}

#[cfg(not(feature = "net"))]
fn relay_address(_: &str) -> Result<Vec<u8>, String> {
    Err("this build of Plenum has no network".into())
}

/// A relay address for people.
#[cfg(feature = "net")]
pub(super) fn relay_text(bytes: &[u8]) -> String {
    libp2p::Multiaddr::try_from(bytes.to_vec()).map_or_else(
        |_| format!("(unreadable: {})", hex::encode(bytes)),
        |a| a.to_string(),
    )
}

#[cfg(not(feature = "net"))]
pub(super) fn relay_text(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The addresses an invite link to a group carries: for each of the group's
/// `relays`, this device's circuit through it when it holds one, else the relay itself
/// (members announce themselves there); then this device's other addresses (`mine`,
/// from the network: circuits first); at most [`crate::invite::MAX_ADDRESSES`].
fn link_addresses(relays: &[Vec<u8>], mine: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for relay in relays {
        // A circuit address is the relay's address followed by /p2p-circuit/p2p/<me>.
        let through = mine
            .iter()
            .find(|a| a.len() > relay.len() && a.starts_with(relay));
        out.push(through.unwrap_or(relay).clone());
    }
    for address in mine {
        if !out.contains(address) {
            out.push(address.clone());
        }
    }
    out.truncate(crate::invite::MAX_ADDRESSES);
    out
}

impl State {
    /// The group's membership log, rebuilt from its stored envelopes on first use.
    pub(super) fn log(&mut self, group: &GroupId) -> Result<&mut MembershipLog, ApiError> {
        if !self.logs.contains_key(group) {
            let log = self.load_log(group)?;
            self.logs.insert(*group, log);
        }
        self.logs
            .get_mut(group)
            .ok_or_else(|| integrity("the membership log vanished from the cache"))
    }

    fn load_log(&self, group: &GroupId) -> Result<MembershipLog, ApiError> {
        let record = self.group(group)?;
        let doc = membership_doc(group);
        let mut ops = Vec::new();
        for bytes in self.store.authors_of(group, &doc).map_err(storage_error)? {
            let author: AuthorRecord = decode("author", &bytes)?;
            for (_, bytes) in self
                .store
                .envelopes(group, &doc, &author.author, 0)
                .map_err(storage_error)?
            {
                let envelope = Envelope::decode(&bytes).map_err(integrity)?;
                let epoch = envelope.header().epoch;
                let key = record.secrets.doc_key(&epoch, &doc).ok_or_else(|| {
                    integrity(format!(
                        "no key for epoch {epoch} of a stored membership operation"
                    ))
                })?;
                let op = Op::decode(&envelope.open(&key).map_err(integrity)?).map_err(integrity)?;
                ops.push(op);
            }
        }
        let create = ops
            .iter()
            .position(|op| matches!(op.kind, OpKind::Create { .. }))
            .ok_or_else(|| integrity("the group's membership log has no create operation"))?;
        let create = ops.swap_remove(create);
        let mut log = MembershipLog::new(create).map_err(integrity)?;
        log.apply_all(ops);
        Ok(log)
    }

    /// Writes an operation by this device at the log's heads: validated as every other
    /// device will validate it, sealed into this device's next membership envelope (under
    /// the current epoch, which every member at this point holds) and applied.
    pub(super) fn write_op(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
        kind: OpKind,
        now: Timestamp,
    ) -> Result<Hash, ApiError> {
        let me = self.me(group)?;
        let log = self.log(group)?;
        let op = Op {
            group: *group,
            author: me.id(),
            heads: log.heads(),
            at: now,
            kind,
        };
        log.check_next(&op).map_err(group_error)?;
        let hash = op.hash();
        let record = self.group(group)?;
        let doc = membership_doc(group);
        // The current epoch; a member admitted concurrently with its rotation lacks that
        // key until the next one, and seals under the newest epoch it holds meanwhile.
        let (epoch, key) = record
            .state
            .epochs
            .iter()
            .rev()
            .find_map(|e| record.secrets.doc_key(e, &doc).map(|k| (*e, k)))
            .ok_or_else(|| integrity("this device holds the key of no epoch of the group"))?;
        let loaded = self.doc(group, &doc)?;
        let (seq, prev) = loaded
            .head(&me.id())
            .map_or((1, Hash([0; 32])), |(s, h)| (s + 1, h));
        let header = Header {
            kind: Kind::Membership,
            group_tag: group_tag(group),
            doc,
            author: me.id(),
            seq,
            prev,
            epoch,
            change_hashes: Vec::new(),
        };
        let sealed = Envelope::seal(header, &key, &op.encode(), &me);
        loaded.record(&mut tx.batch, group, &sealed);
        tx.touched.push((*group, doc));
        tx.outgoing.push(sealed.as_bytes().to_vec());
        self.log(group)?.apply(op).map_err(group_error)?;
        self.membership_changed(tx, group)?;
        Ok(hash)
    }

    /// Starts a new epoch: a fresh key wrapped to every current member.
    pub(super) fn rotate(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
        now: Timestamp,
    ) -> Result<Hash, ApiError> {
        let me = self.me(group)?.id();
        let log = self.log(group)?;
        let (op, key) = group::rotation(log.state(), me, log.heads(), now).map_err(group_error)?;
        // Known before the operation is applied (write_op builds the same operation at
        // the same heads and time, so the same epoch id), so the record it saves has it.
        if let Some(record) = self.groups.get_mut(group) {
            record.secrets.add_epoch(op.hash(), &key);
        }
        self.write_op(tx, group, op.kind, now)
    }

    /// Brings the group record up to date with its log: the state, and the keys of new
    /// epochs that were wrapped to this device.
    pub(super) fn membership_changed(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
    ) -> Result<(), ApiError> {
        let (Some(log), Some(record)) = (self.logs.get(group), self.groups.get_mut(group)) else {
            return Ok(());
        };
        let state = log.state().clone();
        for epoch in &state.epochs {
            if record.secrets.has_epoch(epoch) {
                continue;
            }
            if let Some(op) = log.op(epoch)
                && let Err(e) = record.secrets.learn_rotation(group, *epoch, op)
            {
                tracing::warn!(
                    "the key of epoch {epoch} wrapped to this device does not open: {e}"
                );
            }
        }
        record.state = state;
        tx.batch.put(Slot::Group(group), record.encode());
        tx.events.push(Event::GroupChanged { group: *group });
        Ok(())
    }

    pub(super) fn member_list(&mut self, query: &str) -> Result<Response, ApiError> {
        let id = self.resolve_group(query)?;
        let record = self.group(&id)?;
        let me = record.secrets.member.id();
        let members = record
            .state
            .members
            .values()
            .map(|m| MemberView {
                id: m.info.id,
                name: m.info.name.clone(),
                role: m.role,
                verified: record.verified.contains(&m.info.id),
                me: m.info.id == me,
                joined_at: m.joined_at,
                hidden: record.state.hidden.contains(&m.info.id),
                safety_number: safety_number(&id, &m.info.id, &m.info.exchange, &m.info.peer),
            })
            .collect();
        Ok(Response::Members(members))
    }

    /// A current member of the group by name, id or id prefix — or, with `former`,
    /// also one who left or was removed.
    fn resolve_member(
        &self,
        group: &GroupId,
        query: &str,
        former: bool,
    ) -> Result<MemberId, ApiError> {
        let state = &self.group(group)?.state;
        let current = state
            .members
            .values()
            .map(|m| (m.info.id.to_string(), m.info.name.clone(), m.info.id));
        let gone = state
            .former
            .iter()
            .filter(|_| former)
            .map(|(m, n)| (m.to_string(), n.clone(), *m));
        resolve(
            "member",
            query,
            current.chain(gone).collect(),
            "see `plenum member list GROUP`",
        )
    }

    pub(super) fn member_remove(
        &mut self,
        tx: &mut Tx,
        group: &str,
        member: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let member = self.resolve_member(&id, member, false)?;
        if member == self.me(&id)?.id() {
            return Err(ApiError::new(
                ErrorKind::Invalid,
                "to remove this device from the group, use `plenum group leave`",
            ));
        }
        let cutoff = self.cutoff_of(&id, &member)?;
        self.write_op(tx, &id, OpKind::Remove { member, cutoff }, now)?;
        // The removed device holds the current key: the next epoch is sealed without it.
        self.rotate(tx, &id, now)?;
        self.member_list(&id.to_string())
    }

    /// What `member` has written to each document, as this device has it: anything of
    /// theirs beyond this is refused once they are removed.
    fn cutoff_of(
        &mut self,
        group: &GroupId,
        member: &MemberId,
    ) -> Result<BTreeMap<DocId, u64>, ApiError> {
        let mut cutoff = BTreeMap::new();
        for doc in self.doc_ids(group)? {
            if let Some((seq, _)) = self.doc(group, &doc)?.head(member) {
                cutoff.insert(doc, seq);
            }
        }
        Ok(cutoff)
    }

    pub(super) fn member_role(
        &mut self,
        tx: &mut Tx,
        group: &str,
        member: &str,
        role: Role,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let member = self.resolve_member(&id, member, false)?;
        self.write_op(tx, &id, OpKind::ChangeRole { member, role }, now)?;
        self.member_list(&id.to_string())
    }

    pub(super) fn member_verify(
        &mut self,
        tx: &mut Tx,
        group: &str,
        member: &str,
        verified: bool,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let member = self.resolve_member(&id, member, false)?;
        if let Some(record) = self.groups.get_mut(&id) {
            if verified {
                record.verified.insert(member);
            } else {
                record.verified.remove(&member);
            }
            tx.batch.put(Slot::Group(&id), record.encode());
        }
        tx.events.push(Event::GroupChanged { group: id });
        self.member_list(&id.to_string())
    }

    pub(super) fn member_hide(
        &mut self,
        tx: &mut Tx,
        group: &str,
        member: &str,
        hidden: bool,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let member = self.resolve_member(&id, member, true)?;
        self.write_op(tx, &id, OpKind::SetHidden { member, hidden }, now)?;
        self.member_list(&id.to_string())
    }

    pub(super) fn set_history(
        &mut self,
        tx: &mut Tx,
        group: &str,
        policy: HistoryPolicy,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        self.write_op(tx, &id, OpKind::SetHistory { policy }, now)?;
        self.group_show(&id.to_string())
    }

    pub(super) fn set_relays(
        &mut self,
        tx: &mut Tx,
        group: &str,
        relays: &[String],
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        if relays.len() > MAX_GROUP_RELAYS {
            return Err(ApiError::new(
                ErrorKind::Invalid,
                format!("a group uses at most {MAX_GROUP_RELAYS} relays"),
            ));
        }
        let mut encoded = Vec::new();
        for text in relays {
            let bytes =
                relay_address(text).map_err(|why| ApiError::new(ErrorKind::Invalid, why))?;
            if !encoded.contains(&bytes) {
                encoded.push(bytes);
            }
        }
        self.write_op(tx, &id, OpKind::SetRelays { relays: encoded }, now)?;
        self.group_show(&id.to_string())
    }

    pub(super) fn invite_create(
        &mut self,
        tx: &mut Tx,
        group: &str,
        uses: u32,
        lifetime_ms: u64,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        if uses == 0 || uses > MAX_INVITE_USES {
            return Err(ApiError::new(
                ErrorKind::Invalid,
                format!(
                    "an invite admits from 1 to {MAX_INVITE_USES} people; {uses} is not allowed"
                ),
            ));
        }
        if lifetime_ms == 0 || lifetime_ms > MAX_INVITE_LIFETIME_MS {
            return Err(ApiError::new(
                ErrorKind::Invalid,
                "an invite expires after at least a millisecond and at most a year",
            ));
        }
        let expires = Timestamp(now.as_millis().saturating_add(lifetime_ms));
        let addresses = link_addresses(&self.group(&id)?.state.relays, &self.invite_addresses);
        let link = InviteLink::new(id, expires, addresses)
            .map_err(|e| ApiError::new(ErrorKind::Invalid, e.to_string()))?;
        let kind = OpKind::CreateInvite {
            invite_key: link.invite_key().public_key(),
            uses,
            expires,
        };
        let hash = self.write_op(tx, &id, kind, now)?;
        if let Some(record) = self.groups.get_mut(&id) {
            record
                .invite_secrets
                .insert(hash, zeroize::Zeroizing::new(*link.secret.as_bytes()));
            tx.batch.put(Slot::Group(&id), record.encode());
        }
        let view = self
            .invite_views(&id, now)?
            .into_iter()
            .find(|v| v.id == hash)
            .ok_or_else(|| integrity("the new invite is not in the log"))?;
        Ok(Response::Invite(view))
    }

    fn invite_views(&self, group: &GroupId, now: Timestamp) -> Result<Vec<InviteView>, ApiError> {
        let record = self.group(group)?;
        let name_of = |m: &MemberId| record.state.members.get(m).map(|m| m.info.name.clone());
        let self_addresses = link_addresses(&record.state.relays, &self.invite_addresses);
        let mut views: Vec<InviteView> = record
            .state
            .invites
            .iter()
            .map(|(hash, invite)| {
                let link = record.invite_secrets.get(hash).and_then(|secret| {
                    InviteLink::with_secret(
                        *group,
                        InviteSecret::from_bytes(**secret),
                        invite.expires,
                        self_addresses.clone(),
                    )
                    .ok()
                    .map(|l| l.to_link())
                });
                InviteView {
                    id: *hash,
                    creator: invite.creator,
                    creator_name: name_of(&invite.creator),
                    uses: invite.uses,
                    used: invite.used,
                    expires: invite.expires,
                    revoked: invite.revoked,
                    expired: now >= invite.expires,
                    link,
                }
            })
            .collect();
        views.sort_by_key(|v| (v.expires, v.id));
        Ok(views)
    }

    pub(super) fn invite_list(
        &mut self,
        group: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        Ok(Response::Invites(self.invite_views(&id, now)?))
    }

    pub(super) fn invite_revoke(
        &mut self,
        tx: &mut Tx,
        group: &str,
        invite: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let candidates = self
            .group(&id)?
            .state
            .invites
            .keys()
            .map(|h| (h.to_string(), String::new(), *h))
            .collect();
        let hash = resolve(
            "invite",
            invite,
            candidates,
            "see `plenum invite list GROUP`",
        )?;
        self.write_op(tx, &id, OpKind::RevokeInvite { invite: hash }, now)?;
        if let Some(record) = self.groups.get_mut(&id) {
            record.invite_secrets.remove(&hash);
            tx.batch.put(Slot::Group(&id), record.encode());
        }
        let view = self
            .invite_views(&id, now)?
            .into_iter()
            .find(|v| v.id == hash)
            .ok_or_else(|| integrity("the revoked invite is not in the log"))?;
        Ok(Response::Invite(view))
    }

    /// Leaves the group: the other members learn it from this device's `Leave`
    /// operation (handed to the network with the commit), and everything of the group
    /// — documents, envelopes, keys — is deleted from this device in the same commit.
    pub(super) fn group_leave(
        &mut self,
        tx: &mut Tx,
        group: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let me = self.me(&id)?.id();
        let state = &self.group(&id)?.state;
        // The last member has no one to tell.
        let others = state.members.keys().any(|m| *m != me);
        if state.is_member(&me) && others {
            // What this device wrote up to now still counts when it arrives late.
            let cutoff = self.cutoff_of(&id, &me)?;
            self.write_op(tx, &id, OpKind::Leave { cutoff }, now)?;
        }
        tx.batch.delete_group(&id);
        self.groups.remove(&id);
        self.logs.remove(&id);
        self.directories.remove(&id);
        self.drop_docs_of(&id);
        self.pending.forget_group(&id);
        self.joins.remove(&id);
        tx.touched.retain(|(g, _)| *g != id);
        tx.events.push(Event::GroupChanged { group: id });
        Ok(Response::Done)
    }
}
