//! Joining a group with an invite link, from both sides of the handshake.
//!
//! 1. The admitter (any member online) hands the joiner a fresh nonce
//!    ([`State::join_nonce`]).
//! 2. The joiner makes new member keys for the group and answers with a
//!    [`JoinRequest`] carrying its proof ([`State::join_request`]).
//! 3. The admitter checks the proof and the invite, writes an `Admit` operation — and,
//!    when the group shows new members only what comes after their join, a rotation —
//!    and answers with a [`Welcome`]: the keys the joiner may hold, wrapped to it, and
//!    the envelopes it can open ([`State::admit`]).
//! 4. The joiner validates the welcome as it would anything from the network and has
//!    the group ([`State::accept_welcome`]).

use std::collections::BTreeSet;

use crate::api::{ApiError, ErrorKind};
use crate::envelope::{Envelope, Kind};
use crate::group::{
    GroupSecrets, GroupState, HistoryPolicy, KeyGrant, MemberInfo, MembershipLog, Op, OpKind,
    directory_doc, membership_doc,
};
use crate::identity::MemberKeys;
use crate::ids::{DocId, GroupId};
use crate::invite::{InviteLink, JoinProof, JoinRequest, Welcome};
use crate::time::Timestamp;

use super::engine::{GroupRecord, State, Tx};
use super::membership::group_error;

/// Nonces remembered for joiners; the oldest is forgotten first.
const MAX_NONCES: usize = 256;

/// A join this device started: the member keys it will have in the group.
pub(crate) struct PendingJoin {
    keys: MemberKeys,
}

fn refused(kind: ErrorKind, message: impl Into<String>) -> ApiError {
    ApiError::new(kind, message)
}

impl State {
    /// A fresh nonce for a joiner to sign; each is good for one admission.
    pub(super) fn join_nonce(&mut self) -> [u8; 32] {
        let nonce = crate::crypto::random_array();
        if self.nonces.len() >= MAX_NONCES {
            self.nonces.pop_front();
        }
        self.nonces.push_back(nonce);
        nonce
    }

    /// Starts joining with `link`: fresh member keys for the group and the request for
    /// the admitter whose transport key is `admitter_peer` and who sent `nonce`.
    pub(super) fn join_request(
        &mut self,
        link: &str,
        admitter_peer: [u8; 32],
        nonce: [u8; 32],
        now: Timestamp,
    ) -> Result<JoinRequest, ApiError> {
        let link =
            InviteLink::parse(link).map_err(|e| refused(ErrorKind::Invalid, e.to_string()))?;
        if link.is_expired(now) {
            return Err(refused(
                ErrorKind::Invalid,
                format!("this invite expired at {}; ask for a new one", link.expires),
            ));
        }
        if self.groups.contains_key(&link.group) {
            return Err(refused(
                ErrorKind::Invalid,
                "this device is already in the group this invite is for",
            ));
        }
        // A second attempt (another admitter, say) keeps the same member keys.
        let keys = match self.joins.get(&link.group) {
            Some(join) => join.keys.clone(),
            None => MemberKeys::generate(),
        };
        let member = MemberInfo {
            id: keys.id(),
            exchange: keys.exchange_public(),
            peer: self.profile.transport_public(),
            name: self.profile.display_name.clone(),
        };
        let proof = JoinProof::create(&link, &keys, &member, admitter_peer, nonce)
            .map_err(|e| refused(ErrorKind::Invalid, e.to_string()))?;
        self.joins.insert(link.group, PendingJoin { keys });
        Ok(JoinRequest {
            group: link.group,
            invite_key: link.invite_key().public_key(),
            member,
            proof: proof.encode(),
        })
    }

    /// Admits a joiner: checks its proof against one of this device's nonces and an
    /// invite in the log, and writes the admission. Returns the keys to hand it and the
    /// documents it may open (all of them, unless the group's history starts at join).
    pub(super) fn admit(
        &mut self,
        tx: &mut Tx,
        request: &JoinRequest,
        now: Timestamp,
    ) -> Result<(Vec<KeyGrant>, Option<BTreeSet<DocId>>), ApiError> {
        let group = request.group;
        let record = self.groups.get(&group).ok_or_else(|| {
            refused(
                ErrorKind::NotFound,
                "this device is not in the group the invite is for",
            )
        })?;
        let proof = JoinProof::decode(&request.proof)
            .map_err(|e| refused(ErrorKind::Integrity, e.to_string()))?;
        if proof.admitter_peer != self.profile.transport_public() {
            return Err(refused(
                ErrorKind::Forbidden,
                "the join proof was made for another device; ask it, or start again here",
            ));
        }
        let Some(at) = self.nonces.iter().position(|n| *n == proof.nonce) else {
            return Err(refused(
                ErrorKind::Forbidden,
                "the join proof answers a nonce this device did not give or already used; start again",
            ));
        };
        let (invite, found) = record
            .state
            .invites
            .iter()
            .find(|(_, i)| i.key == request.invite_key)
            .ok_or_else(|| {
                refused(
                    ErrorKind::NotFound,
                    "no invite of this group matches the link (this device may not have \
                     synced with the one that made it yet)",
                )
            })?;
        let invite = *invite;
        if found.revoked {
            return Err(refused(
                ErrorKind::Forbidden,
                "this invite was revoked; ask for a new one",
            ));
        }
        if now >= found.expires {
            return Err(refused(
                ErrorKind::Forbidden,
                format!(
                    "this invite expired at {}; ask for a new one",
                    found.expires
                ),
            ));
        }
        if found.used >= found.uses {
            return Err(refused(
                ErrorKind::Forbidden,
                "this invite was already used; ask for a new one",
            ));
        }
        proof
            .verify(&group, &request.invite_key, &request.member)
            .map_err(|e| refused(ErrorKind::Forbidden, e.to_string()))?;
        self.nonces.remove(at);
        let history = record.state.history;
        self.write_op(
            tx,
            &group,
            OpKind::Admit {
                invite,
                member: request.member.clone(),
                proof: request.proof.clone(),
            },
            now,
        )?;
        let docs = match history {
            HistoryPolicy::Full => None,
            HistoryPolicy::FromJoin => {
                // The joiner gets the new epoch's key from the rotation; of the past it
                // gets only what is not chat: the log, the directory, pads and boards.
                self.rotate(tx, &group, now)?;
                let directory = self.directory(&group)?;
                let mut docs: BTreeSet<DocId> = directory
                    .pads
                    .iter()
                    .chain(&directory.boards)
                    .map(|d| d.id)
                    .collect();
                docs.insert(membership_doc(&group));
                docs.insert(directory_doc(&group));
                Some(docs)
            }
        };
        let record = self.group(&group)?;
        let listed: Option<Vec<DocId>> = docs.as_ref().map(|d| d.iter().copied().collect());
        let mut grants = record
            .secrets
            .grants_for(&group, &request.member, listed.as_deref())
            .map_err(|e| refused(ErrorKind::Invalid, e.to_string()))?;
        if docs.is_some() {
            // Under "from join" the old epochs' document keys, not the epoch keys.
            let current = record.state.current_epoch();
            grants.retain(|g| g.epoch != current);
        }
        Ok((grants, docs))
    }

    /// The envelopes of `group` a joiner that may open `docs` (all, when `None`, and
    /// everything of the current epoch) can use.
    pub(super) fn welcome_envelopes(
        &self,
        group: &GroupId,
        docs: Option<&BTreeSet<DocId>>,
    ) -> Result<Vec<Vec<u8>>, ApiError> {
        let current = self.group(group)?.state.current_epoch();
        let all = self.stored_envelopes(group)?;
        let Some(docs) = docs else {
            return Ok(all);
        };
        Ok(all
            .into_iter()
            .filter(|bytes| {
                Envelope::decode(bytes)
                    .is_ok_and(|e| e.header().epoch == current || docs.contains(&e.header().doc))
            })
            .collect())
    }

    /// Takes the admitter's welcome for a join this device started.
    pub(super) fn accept_welcome(
        &mut self,
        tx: &mut Tx,
        welcome: &Welcome,
    ) -> Result<GroupId, ApiError> {
        let group = welcome.group;
        let join = self.joins.get(&group).ok_or_else(|| {
            refused(
                ErrorKind::Invalid,
                "this device has not started joining that group",
            )
        })?;
        let mut secrets = GroupSecrets::empty(join.keys.clone());
        let me = join.keys.id();
        secrets
            .accept_grants(&group, &welcome.grants)
            .map_err(|e| {
                refused(
                    ErrorKind::Integrity,
                    format!("the admitter's keys do not open: {e}"),
                )
            })?;
        let create = find_create(&group, &secrets, &welcome.envelopes)?;
        let state = GroupState::from_create(&create).map_err(group_error)?;
        let log = MembershipLog::new(create).map_err(group_error)?;
        self.insert_group(tx, GroupRecord::new(state, secrets));
        self.logs.insert(group, log);
        self.create_doc(tx, &group, membership_doc(&group))?;
        // The membership log first, so authors and epochs are known for the rest.
        let mut ordered: Vec<(bool, u64, &Vec<u8>)> = welcome
            .envelopes
            .iter()
            .filter_map(|bytes| {
                let e = Envelope::decode(bytes).ok()?;
                let h = e.header();
                Some((h.kind != Kind::Membership, h.seq, bytes))
            })
            .collect();
        ordered.sort_by_key(|(later, seq, _)| (*later, *seq));
        let mut refused_count = 0;
        self.quotas.suspended = true;
        for (_, _, bytes) in ordered {
            if let Err(e) = self.ingest_caught_up(tx, bytes) {
                refused_count += 1;
                tracing::debug!("an envelope of the welcome is refused: {e}");
            }
        }
        self.quotas.suspended = false;
        let admitted = self.group(&group)?.state.is_member(&me);
        if !admitted {
            self.groups.remove(&group);
            self.logs.remove(&group);
            self.drop_docs_of(&group);
            self.pending.forget_group(&group);
            tx.batch.delete_group(&group);
            return Err(refused(
                ErrorKind::Forbidden,
                format!(
                    "the welcome does not admit this device ({refused_count} envelopes refused); \
                     ask for a new invite"
                ),
            ));
        }
        self.joins.remove(&group);
        Ok(group)
    }
}

/// The group's create operation among the welcome's envelopes: the founding of the
/// group the link named, signed by its founder.
fn find_create(
    group: &GroupId,
    secrets: &GroupSecrets,
    envelopes: &[Vec<u8>],
) -> Result<Op, ApiError> {
    let log = membership_doc(group);
    for bytes in envelopes {
        let Ok(envelope) = Envelope::decode(bytes) else {
            continue;
        };
        let h = envelope.header();
        if h.kind != Kind::Membership || h.doc != log || h.seq != 1 || envelope.verify().is_err() {
            continue;
        }
        let Some(key) = secrets.doc_key(&h.epoch, &log) else {
            continue;
        };
        let Some(op) = envelope.open(&key).ok().and_then(|p| Op::decode(&p).ok()) else {
            continue;
        };
        if matches!(op.kind, OpKind::Create { .. })
            && op.group == *group
            && op.author == h.author
            && op.hash() == h.epoch
        {
            return Ok(op);
        }
    }
    Err(refused(
        ErrorKind::Integrity,
        "the welcome does not hold the group's founding operation; ask another member",
    ))
}
