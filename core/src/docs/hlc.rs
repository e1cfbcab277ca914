//! A hybrid logical clock for ordering chat messages.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::time::Timestamp;

/// How far ahead of this device's clock a remote timestamp may pull the local clock.
pub const MAX_FUTURE: Duration = Duration::from_secs(60);

/// A hybrid logical clock reading: wall-clock milliseconds, and a counter that orders
/// events within one millisecond (or while the wall clock lags the logical one).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS,
)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch.
    pub time: u64,
    /// Tie-breaker within one `time`.
    pub counter: u32,
}

/// The local clock. Always moves forward; never further than [`MAX_FUTURE`] ahead of
/// the wall clock because of what others claim.
#[derive(Clone, Debug, Default)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// The reading for a new local event.
    pub fn tick(&mut self, now: Timestamp) -> Hlc {
        if now.as_millis() > self.last.time {
            self.last = Hlc {
                time: now.as_millis(),
                counter: 0,
            };
        } else {
            self.last.counter = self.last.counter.saturating_add(1);
        }
        self.last
    }

    /// Takes in a remote reading, clamped to `now + MAX_FUTURE`: a device whose clock is
    /// a year ahead cannot drag everyone's messages a year into the future.
    pub fn observe(&mut self, remote: Hlc, now: Timestamp) {
        let limit = now.plus(MAX_FUTURE).as_millis();
        let remote = if remote.time > limit {
            Hlc {
                time: limit,
                counter: 0,
            }
        } else {
            remote
        };
        self.last = self.last.max(remote);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_monotone_even_when_the_wall_clock_steps_back() {
        let mut clock = HlcClock::default();
        let a = clock.tick(Timestamp(1000));
        let b = clock.tick(Timestamp(1000));
        let c = clock.tick(Timestamp(900));
        let d = clock.tick(Timestamp(2000));
        assert!(a < b && b < c && c < d);
        assert_eq!(
            d,
            Hlc {
                time: 2000,
                counter: 0
            }
        );
    }

    #[test]
    fn remote_readings_advance_the_clock_but_are_clamped() {
        let mut clock = HlcClock::default();
        clock.observe(
            Hlc {
                time: 5000,
                counter: 7,
            },
            Timestamp(4000),
        );
        assert_eq!(
            clock.tick(Timestamp(4000)),
            Hlc {
                time: 5000,
                counter: 8
            }
        );
        let year = 365 * 24 * 3600 * 1000;
        clock.observe(
            Hlc {
                time: year,
                counter: 0,
            },
            Timestamp(4000),
        );
        let next = clock.tick(Timestamp(4000));
        assert_eq!(next.time, 4000 + MAX_FUTURE.as_millis() as u64);
    }
}
