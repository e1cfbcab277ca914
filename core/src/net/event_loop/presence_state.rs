//! The event loop's presence: opening and showing what members say of themselves, and
//! saying what this device is doing.

use libp2p::gossipsub::{IdentTopic, MessageAcceptance};

use super::EventLoop;
use crate::api::{Event, PresenceView};
use crate::ids::{GroupId, Hash};
use crate::net::presence::{self, Presence};

impl EventLoop {
    /// A presence message: opened with the topic's epoch key, from a current member,
    /// within its rate; then shown and forwarded.
    pub(super) fn on_presence(
        &mut self,
        group: GroupId,
        epoch: Hash,
        data: &[u8],
    ) -> MessageAcceptance {
        let Some(key) = self
            .groups
            .iter()
            .find(|g| g.group == group)
            .and_then(|g| g.epochs.iter().find(|(e, _)| *e == epoch))
            .map(|(_, k)| k.clone())
        else {
            return MessageAcceptance::Ignore;
        };
        let Some(said) = presence::open(&key, &group, data) else {
            return MessageAcceptance::Reject;
        };
        let Some(name) = self.node.member_name(&group, &said.member) else {
            return MessageAcceptance::Ignore;
        };
        if !self.limiter.allow(group, said.member) {
            return MessageAcceptance::Ignore;
        }
        let view = PresenceView {
            group,
            member: said.member,
            name,
            online: true,
            typing_in: said.typing_in,
            cursor: said.cursor,
        };
        let changed = self
            .presence
            .get(&(group, said.member))
            .is_none_or(|(at, before)| *before != said || at.elapsed() > presence::ONLINE_FOR);
        self.presence
            .insert((group, said.member), (std::time::Instant::now(), said));
        if changed {
            self.node.emit(Event::Presence(view));
        }
        MessageAcceptance::Accept
    }

    /// Says what this device is doing in `group`, on its current epoch's topic.
    pub(super) fn announce(
        &mut self,
        group: GroupId,
        typing_in: Option<crate::ids::ItemId>,
        cursor: Option<crate::api::PadCursor>,
    ) {
        let Some((_, key)) = self
            .groups
            .iter()
            .find(|g| g.group == group)
            .and_then(|g| g.epochs.first())
        else {
            return;
        };
        let Ok(member) = self.node.member_id(&group) else {
            return;
        };
        let sealed = presence::seal(
            key,
            &group,
            &Presence {
                member,
                typing_in,
                cursor,
            },
        );
        let topic = IdentTopic::new(presence::topic(key, &group));
        // Nobody listening is fine: presence is for whoever is online.
        let _ = self.swarm.behaviour_mut().gossipsub.publish(topic, sealed);
    }

    pub(super) fn announce_everywhere(&mut self) {
        let groups: Vec<GroupId> = self.groups.iter().map(|g| g.group).collect();
        for group in groups {
            self.announce(group, None, None);
        }
        let stale: Vec<_> = self
            .presence
            .iter()
            .filter(|(_, (at, _))| at.elapsed() > presence::ONLINE_FOR * 4)
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            self.presence.remove(&key);
        }
    }

    pub(super) fn presence_of(&self, group: &GroupId) -> Vec<PresenceView> {
        self.presence
            .iter()
            .filter(|((g, _), _)| g == group)
            .filter_map(|((g, m), (at, p))| {
                let online = at.elapsed() <= presence::ONLINE_FOR;
                Some(PresenceView {
                    group: *g,
                    member: *m,
                    name: self.node.member_name(g, m)?,
                    online,
                    typing_in: if online { p.typing_in } else { None },
                    cursor: if online { p.cursor } else { None },
                })
            })
            .collect()
    }
}
