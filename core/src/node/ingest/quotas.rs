//! Per-author quotas on what this device accepts from other devices' members.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::IngestError;
use crate::ids::{GroupId, MemberId};

/// Envelopes a member's device may have accepted at once from one author: a day of
/// lively chat from one person is a few hundred envelopes, and group commit packs a
/// typing burst into one, so 2,000 passes any honest burst and a catch-up of a long
/// absence, while a flood is cut off within seconds.
const RATE_BURST: f64 = 2000.0;
/// Envelopes per second an author's allowance refills by: ten times a fast typist's
/// commits, so steady honest traffic never meets the limit.
const RATE_PER_SECOND: f64 = 200.0;
/// Envelope bytes accepted per author and hour: room for hours of text and a few
/// pasted documents (a message is at most 64 KiB), far from what fills a phone.
const BYTES_PER_HOUR: u64 = 64 * 1024 * 1024;
/// New documents an author may create per hour: channels' segments, pads and boards
/// are made by people, a few a day; every document costs a record and a load.
const DOCS_PER_HOUR: u32 = 100;
/// Authors whose allowances are tracked; the least recently added is forgotten first
/// (its allowance starts full again, which only a group of thousands could notice).
const MAX_TRACKED_AUTHORS: usize = 4096;
const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// The limits [`Quotas`] applies; constants in normal use, smaller in tests.
#[derive(Clone, Copy, Debug)]
pub(in crate::node) struct Limits {
    pub(in crate::node) burst: f64,
    pub(in crate::node) per_second: f64,
    pub(in crate::node) bytes_per_hour: u64,
    pub(in crate::node) docs_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            burst: RATE_BURST,
            per_second: RATE_PER_SECOND,
            bytes_per_hour: BYTES_PER_HOUR,
            docs_per_hour: DOCS_PER_HOUR,
        }
    }
}

/// One author's allowance: a token bucket for envelopes, and hourly windows for bytes
/// and new documents.
struct Allowance {
    tokens: f64,
    refilled: Instant,
    window: Instant,
    bytes: u64,
    docs: u32,
}

/// Per (group, author) limits on what this device accepts from other devices. In
/// memory only: a restart starts every allowance full. O(1) per envelope, and bounded
/// in the number of authors it tracks.
#[derive(Default)]
pub(crate) struct Quotas {
    pub(in crate::node) limits: Limits,
    /// Set while a welcome's history is taken in.
    pub(in crate::node) suspended: bool,
    allowances: HashMap<(GroupId, MemberId), Allowance>,
    order: VecDeque<(GroupId, MemberId)>,
}

impl Quotas {
    /// Charges one envelope of `bytes` (creating a document if `new_doc`) to `author`,
    /// or refuses it, charging nothing, if that passes one of its limits.
    pub(super) fn charge(
        &mut self,
        group: GroupId,
        author: MemberId,
        bytes: usize,
        new_doc: bool,
        now: Instant,
    ) -> Result<(), IngestError> {
        let limits = self.limits;
        let key = (group, author);
        if !self.allowances.contains_key(&key) {
            if self.order.len() >= MAX_TRACKED_AUTHORS
                && let Some(oldest) = self.order.pop_front()
            {
                self.allowances.remove(&oldest);
            }
            self.order.push_back(key);
            let full = Allowance {
                tokens: limits.burst,
                refilled: now,
                window: now,
                bytes: 0,
                docs: 0,
            };
            self.allowances.insert(key, full);
        }
        let Some(a) = self.allowances.get_mut(&key) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(a.refilled).as_secs_f64();
        a.tokens = (a.tokens + elapsed * limits.per_second).min(limits.burst);
        a.refilled = now;
        if now.saturating_duration_since(a.window) >= HOUR {
            a.window = now;
            a.bytes = 0;
            a.docs = 0;
        }
        let over = |what| Err(IngestError::OverQuota { author, what });
        if a.tokens < 1.0 {
            return over("envelopes per second");
        }
        if a.bytes + bytes as u64 > limits.bytes_per_hour {
            return over("bytes per hour");
        }
        if new_doc && a.docs >= limits.docs_per_hour {
            return over("new documents per hour");
        }
        a.tokens -= 1.0;
        a.bytes += bytes as u64;
        a.docs += u32::from(new_doc);
        Ok(())
    }
}
