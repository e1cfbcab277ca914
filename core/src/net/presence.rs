//! Presence: who is online, who is typing in which channel, where pad cursors are.
//! Ephemeral — never stored — and sealed under the group's epoch key (XChaCha20-Poly1305
//! with a key derived for presence), so only members read or write it. It travels on its
//! own gossip topic per group and epoch. Each device announces itself every
//! [`HEARTBEAT`]; a member unheard for [`ONLINE_FOR`] is offline. Each member's
//! messages are rate-limited on receipt, and a device sends at most a few per second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::api::PadCursor;
use crate::crypto::SecretKey;
use crate::ids::{GroupId, ItemId, MemberId};

/// How often a running device says it is online.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a member counts as online after its last message.
pub(super) const ONLINE_FOR: Duration = Duration::from_secs(40);
/// Messages accepted per member per second; more are dropped.
const MAX_PER_SECOND: u32 = 10;
/// Largest presence message.
pub(super) const MAX_PRESENCE: usize = 512;

/// What one device says of itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Presence {
    pub(super) member: MemberId,
    pub(super) typing_in: Option<ItemId>,
    pub(super) cursor: Option<PadCursor>,
}

fn key(epoch_key: &SecretKey, group: &GroupId) -> SecretKey {
    epoch_key.derive("plenum presence key v1", group.as_bytes())
}

/// The presence topic of one group's epoch.
pub(super) fn topic(epoch_key: &SecretKey, group: &GroupId) -> String {
    let name = epoch_key.derive("plenum presence topic v1", group.as_bytes());
    hex::encode(&name.as_bytes()[..16])
}

/// Seals a presence message.
pub(super) fn seal(epoch_key: &SecretKey, group: &GroupId, presence: &Presence) -> Vec<u8> {
    let plain = postcard::to_stdvec(presence).unwrap_or_default();
    key(epoch_key, group).seal(group.as_bytes(), &plain)
}

/// Opens a presence message, or `None` when it is not one of this group's.
pub(super) fn open(epoch_key: &SecretKey, group: &GroupId, sealed: &[u8]) -> Option<Presence> {
    if sealed.len() > MAX_PRESENCE {
        return None;
    }
    let plain = key(epoch_key, group).open(group.as_bytes(), sealed).ok()?;
    postcard::from_bytes(&plain).ok()
}

/// Per-member rate limit on received presence: a fixed one-second window.
#[derive(Default)]
pub(super) struct Limiter {
    windows: HashMap<(GroupId, MemberId), (Instant, u32)>,
}

impl Limiter {
    /// Whether one more message from `member` is allowed now.
    pub(super) fn allow(&mut self, group: GroupId, member: MemberId) -> bool {
        let now = Instant::now();
        if self.windows.len() > 4096 {
            self.windows
                .retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(1));
        }
        let (start, count) = self.windows.entry((group, member)).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(1) {
            *start = now;
            *count = 0;
        }
        *count += 1;
        *count <= MAX_PER_SECOND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_opens_only_with_the_groups_key() {
        let group = GroupId([1; 32]);
        let epoch = SecretKey::from_bytes([2; 32]);
        let p = Presence {
            member: MemberId([3; 32]),
            typing_in: Some(ItemId([4; 16])),
            cursor: None,
        };
        let sealed = seal(&epoch, &group, &p);
        assert_eq!(open(&epoch, &group, &sealed), Some(p));
        assert_eq!(open(&SecretKey::from_bytes([9; 32]), &group, &sealed), None);
        assert_eq!(open(&epoch, &GroupId([5; 32]), &sealed), None);
        assert_eq!(open(&epoch, &group, &[0; 600]), None);
    }

    #[test]
    fn a_chatty_member_is_limited_per_second() {
        let mut limiter = Limiter::default();
        let (g, m) = (GroupId([1; 32]), MemberId([2; 32]));
        let allowed = (0..50).filter(|_| limiter.allow(g, m)).count();
        assert_eq!(allowed, MAX_PER_SECOND as usize);
        assert!(
            limiter.allow(g, MemberId([3; 32])),
            "others are not affected"
        );
    }
}
