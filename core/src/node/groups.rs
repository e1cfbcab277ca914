//! Requests about the profile, groups, members and channels.

use automerge::AutoCommit;

use crate::api::{ApiError, ErrorKind, Event, GroupSummary, ProfileView, Response};

use crate::docs::{self, ChannelInfo, Directory, DocError};
use crate::group::{self, directory_doc};
use crate::identity::check_name;
use crate::ids::{DocId, GroupId, ItemId};
use crate::time::Timestamp;

use super::engine::{
    DeviceSettings, GroupRecord, State, Tx, decode, doc_error, encode, storage_error,
};
use super::resolve::resolve;
use crate::store::Slot;

/// The channel every group starts with, and the default for `chat send`.
pub(super) const DEFAULT_CHANNEL: &str = "general";

pub(super) fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::Invalid, e.to_string())
}

impl State {
    pub(super) fn profile_view(&self) -> Response {
        Response::Profile(ProfileView {
            name: self.profile.display_name.clone(),
            transport_key: hex::encode(self.profile.transport_public()),
            created_at: self.profile.created_at,
        })
    }

    pub(super) fn group_create(
        &mut self,
        tx: &mut Tx,
        name: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let name = check_name("group", name).map_err(invalid)?;
        let new = group::create(
            name.clone(),
            self.profile.display_name.clone(),
            self.profile.transport_public(),
            now,
        );
        let id = new.state.id;
        let epoch = new.state.current_epoch();
        let key = new
            .secrets
            .epoch_key(&epoch)
            .ok_or_else(|| invalid("new group lacks its epoch key"))?;
        let op = new.op.encode();
        self.insert_group(tx, GroupRecord::new(new.state, new.secrets));
        self.seal_create_op(tx, &id, &op, &key)?;
        let directory = directory_doc(&id);
        self.create_doc(tx, &id, directory)?;
        let general = ItemId::random();
        self.edit(tx, &id, &directory, |doc| {
            docs::directory::init(doc, &name, now)?;
            docs::directory::add_channel(doc, general, DEFAULT_CHANNEL, now)
        })?;
        tx.events.push(Event::GroupChanged { group: id });
        Ok(Response::Group(self.summary(&id)?))
    }

    pub(super) fn group_list(&mut self) -> Result<Response, ApiError> {
        let ids: Vec<GroupId> = self.groups.keys().copied().collect();
        let mut groups = ids
            .iter()
            .map(|id| self.summary(id))
            .collect::<Result<Vec<_>, _>>()?;
        groups.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        Ok(Response::Groups(groups))
    }

    pub(super) fn group_show(&mut self, query: &str) -> Result<Response, ApiError> {
        let id = self.resolve_group(query)?;
        Ok(Response::Group(self.summary(&id)?))
    }

    pub(super) fn channel_create(
        &mut self,
        tx: &mut Tx,
        group: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let name = check_name("channel", name).map_err(invalid)?;
        if self
            .directory(&id)?
            .channels
            .iter()
            .any(|c| c.name.to_lowercase() == name.to_lowercase())
        {
            return Err(invalid(format!(
                "a channel named `{name}` already exists in this group"
            )));
        }
        let channel = ItemId::random();
        self.edit(tx, &id, &directory_doc(&id), |doc| {
            docs::directory::add_channel(doc, channel, &name, now)
        })?;
        tx.events.push(Event::GroupChanged { group: id });
        let info = self.channel(&id, &channel.to_string())?;
        Ok(Response::Channel(info))
    }

    pub(super) fn group_rename(
        &mut self,
        tx: &mut Tx,
        group: &str,
        name: &str,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let name = check_name("group", name).map_err(invalid)?;
        self.edit(tx, &id, &directory_doc(&id), |doc| {
            docs::directory::rename(doc, &name)
        })?;
        tx.events.push(Event::GroupChanged { group: id });
        Ok(Response::Done)
    }

    pub(super) fn group_mute(
        &mut self,
        tx: &mut Tx,
        group: &str,
        muted: bool,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let mut settings = self.settings()?.clone();
        if muted {
            settings.muted.insert(id);
        } else {
            settings.muted.remove(&id);
        }
        tx.batch.put(Slot::Settings, encode(&settings));
        self.settings = Some(settings);
        tx.events.push(Event::GroupChanged { group: id });
        Ok(Response::Group(self.summary(&id)?))
    }

    /// This device's own settings.
    pub(super) fn settings(&mut self) -> Result<&DeviceSettings, ApiError> {
        if self.settings.is_none() {
            let stored = self.store.get(Slot::Settings).map_err(storage_error)?;
            let settings = match stored {
                Some(bytes) => decode("device settings", &bytes)?,
                None => DeviceSettings::default(),
            };
            self.settings = Some(settings);
        }
        Ok(self.settings.get_or_insert_with(DeviceSettings::default))
    }

    pub(super) fn channel_rename(
        &mut self,
        tx: &mut Tx,
        group: &str,
        channel: &str,
        name: &str,
    ) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        let channel = self.channel(&id, channel)?;
        let name = check_name("channel", name).map_err(invalid)?;
        if self
            .directory(&id)?
            .channels
            .iter()
            .any(|c| c.id != channel.id && c.name.to_lowercase() == name.to_lowercase())
        {
            return Err(invalid(format!(
                "a channel named `{name}` already exists in this group"
            )));
        }
        self.rename_listed(tx, &id, "channels", &channel.id.to_string(), &name)
    }

    /// Renames a channel, pad or board in the group's directory.
    pub(super) fn rename_listed(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
        section: &str,
        key: &str,
        name: &str,
    ) -> Result<Response, ApiError> {
        self.edit(tx, group, &directory_doc(group), |doc| {
            docs::directory::rename_entry(doc, section, key, name)
        })?;
        tx.events.push(Event::GroupChanged { group: *group });
        Ok(Response::Done)
    }

    pub(super) fn channel_list(&mut self, group: &str) -> Result<Response, ApiError> {
        let id = self.resolve_group(group)?;
        Ok(Response::Channels(self.directory(&id)?.channels.clone()))
    }

    /// Makes a new pad or board: a fresh document, initialised by its creator and listed
    /// in the group's directory under `name`. Returns the group, the document and the
    /// checked name.
    pub(super) fn create_listed_doc(
        &mut self,
        tx: &mut Tx,
        group: &str,
        what: &str,
        name: &str,
        init: impl FnOnce(&mut AutoCommit, &str) -> Result<(), DocError>,
        list: impl FnOnce(&mut AutoCommit, DocId, &str) -> Result<(), DocError>,
    ) -> Result<(GroupId, DocId, String), ApiError> {
        let group = self.resolve_group(group)?;
        let name = check_name(what, name).map_err(invalid)?;
        let doc = DocId::random();
        self.create_doc(tx, &group, doc)?;
        self.edit(tx, &group, &doc, |d| init(d, &name))?;
        self.edit(tx, &group, &directory_doc(&group), |d| list(d, doc, &name))?;
        tx.events.push(Event::GroupChanged { group });
        Ok((group, doc, name))
    }

    /// The group a person means by `query`.
    pub(super) fn resolve_group(&mut self, query: &str) -> Result<GroupId, ApiError> {
        if let Ok(id) = query.parse::<GroupId>()
            && self.groups.contains_key(&id)
        {
            return Ok(id);
        }
        let ids: Vec<GroupId> = self.groups.keys().copied().collect();
        let mut candidates = Vec::with_capacity(ids.len());
        for id in ids {
            let name = self.directory(&id)?.name.clone();
            candidates.push((id.to_string(), name, id));
        }
        resolve("group", query, candidates, "see `plenum group list`")
    }

    /// A channel of the group by name or id.
    pub(super) fn channel(
        &mut self,
        group: &GroupId,
        query: &str,
    ) -> Result<ChannelInfo, ApiError> {
        let channels = &self.directory(group)?.channels;
        let candidates = channels
            .iter()
            .map(|c| (c.id.to_string(), c.name.clone(), c.clone()))
            .collect();
        resolve(
            "channel",
            query,
            candidates,
            "see `plenum channel list GROUP`",
        )
    }

    /// The group's directory: name, channels, pads and boards.
    pub(super) fn directory(&mut self, group: &GroupId) -> Result<&Directory, ApiError> {
        if !self.directories.contains_key(group) {
            let loaded = self.doc(group, &directory_doc(group))?;
            let directory = docs::directory::read(&loaded.doc).map_err(doc_error)?;
            self.directories.insert(*group, directory);
        }
        self.directories.get(group).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Integrity,
                "the directory vanished from the cache",
            )
        })
    }

    fn summary(&mut self, id: &GroupId) -> Result<GroupSummary, ApiError> {
        let name = self.directory(id)?.name.clone();
        let forks = self.store.forks_of(id).map_err(storage_error)?.len();
        let record = self.group(id)?;
        let me = record.secrets.member.id();
        let role = record
            .state
            .members
            .get(&me)
            .map_or(group::Role::Member, |m| m.role);
        let relays = record
            .state
            .relays
            .iter()
            .map(|r| super::membership::relay_text(r))
            .collect();
        Ok(GroupSummary {
            id: *id,
            name,
            members: record.state.members.len(),
            me,
            role,
            member: record.state.is_member(&me),
            history: record.state.history,
            forks,
            muted: self.settings()?.muted.contains(id),
            relays,
        })
    }
}
