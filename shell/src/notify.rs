//! Which events deserve a notification, and what it says. The shell raises it.
//!
//! A message notifies once, when it is first seen, unless this device wrote it, the
//! group is muted here, or it is hidden or deleted. A burst (a catch-up after a day
//! offline) raises one notification per group every [`QUIET`], not one per message.
//! The text says who wrote, never what: notifications show on lock screens.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use plenum_core::api::{GroupSummary, MessageView};
use plenum_core::ids::{GroupId, ItemId};

/// At most one notification per group this often.
pub const QUIET: Duration = Duration::from_secs(5);
/// Message ids remembered as seen.
const SEEN: usize = 10_000;

/// A notification to raise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub title: String,
    pub body: String,
}

#[derive(Default)]
pub struct Notifier {
    seen: HashSet<ItemId>,
    order: VecDeque<ItemId>,
    last: HashMap<GroupId, Instant>,
}

impl Notifier {
    /// Whether `message`, just announced in `group`, raises a notification: never
    /// while the app is `in_front` (the message is seen there, and counts as seen).
    pub fn consider(
        &mut self,
        group: &GroupSummary,
        message: &MessageView,
        in_front: bool,
        now: Instant,
    ) -> Option<Note> {
        let chat = &message.message;
        if !self.first_sight(chat.id) || in_front {
            return None;
        }
        if group.muted || chat.author == group.me || chat.deleted || message.hidden {
            return None;
        }
        if let Some(last) = self.last.get(&group.id)
            && now.duration_since(*last) < QUIET
        {
            return None;
        }
        self.last.insert(group.id, now);
        let author = chat
            .imported_author
            .as_deref()
            .unwrap_or(&message.author_name);
        Some(Note {
            title: group.name.clone(),
            body: format!("New message from {author}"),
        })
    }

    fn first_sight(&mut self, id: ItemId) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ME: &str = "9c1b7d2a40e189baa1a2b928232a2a46988e7edd48b69cb4ce35bf5da2e47d27";
    const BO: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    fn group(muted: bool) -> GroupSummary {
        serde_json::from_value(json!({
            "id": "9b8421403d5fc31e03771e5a9ed3442b25237b70969b0fa375784e4cd9b4be65",
            "name": "Tenants union", "members": 2, "me": ME, "role": "admin",
            "member": true, "history": "full", "forks": 0, "muted": muted, "relays": []
        }))
        .expect("a group summary")
    }

    fn message(id: &str, author: &str, name: &str) -> MessageView {
        serde_json::from_value(json!({
            "id": id, "author": author, "author_name": name, "text": "the secret plan",
            "sent_at": "2026-12-06T19:33:55.220Z", "hlc": {"time": 1, "counter": 0},
            "after": null, "reply_to": null, "edited": false, "edited_at": null,
            "deleted": false, "reactions": {}, "imported_author": null,
            "channel": "1a1ded870c0a0fa4845a5effdc8245cc",
            "segment": "010f2a62c59168cd4cbcaf90c191878f", "hidden": false
        }))
        .expect("a message view")
    }

    #[test]
    fn a_new_message_from_someone_else_notifies_once_without_its_text() {
        let mut notifier = Notifier::default();
        let start = Instant::now();
        let from_bo = message("cfa7d77604ac36a10321e7bcc4cd3305", BO, "Bo");
        let note = notifier.consider(&group(false), &from_bo, false, start);
        assert_eq!(
            note,
            Some(Note {
                title: "Tenants union".into(),
                body: "New message from Bo".into()
            })
        );
        // The same message again (an edit, a reaction) does not.
        let later = start + QUIET * 2;
        assert_eq!(
            notifier.consider(&group(false), &from_bo, false, later),
            None
        );
        // Nor does one's own, or anything in a muted group.
        let mine = message("00000000000000000000000000000001", ME, "Ana");
        assert_eq!(notifier.consider(&group(false), &mine, false, later), None);
        let muted = message("00000000000000000000000000000002", BO, "Bo");
        assert_eq!(notifier.consider(&group(true), &muted, false, later), None);
        // Seen with the app in front, it is seen: it does not notify later either.
        let seen = message("00000000000000000000000000000003", BO, "Bo");
        assert_eq!(notifier.consider(&group(false), &seen, true, later), None);
        assert_eq!(notifier.consider(&group(false), &seen, false, later), None);
        // And it does not use up the quiet period.
        let next = message("00000000000000000000000000000004", BO, "Bo");
        assert!(
            notifier
                .consider(&group(false), &next, false, later)
                .is_some()
        );
    }

    #[test]
    fn a_burst_raises_one_notification_per_quiet_period() {
        let mut notifier = Notifier::default();
        let start = Instant::now();
        let raised = (0..50u32)
            .filter(|n| {
                let id = format!("{n:032x}");
                let at = start + Duration::from_millis(u64::from(*n) * 100);
                notifier
                    .consider(&group(false), &message(&id, BO, "Bo"), false, at)
                    .is_some()
            })
            .count();
        assert_eq!(raised, 1, "5 s of messages, one notification");
        let after = message("ffffffffffffffffffffffffffffffff", BO, "Bo");
        assert!(
            notifier
                .consider(
                    &group(false),
                    &after,
                    false,
                    start + Duration::from_secs(11)
                )
                .is_some()
        );
    }
}
