//! Wall-clock time as milliseconds since the Unix epoch, shown as RFC 3339.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 9999-12-31T23:59:59.999Z, the last moment RFC 3339 can write.
const LAST_RFC3339_MS: u64 = 253_402_300_799_999;

/// Milliseconds since 1970-01-01T00:00:00Z; RFC 3339 in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, ts_rs::TS)]
#[ts(type = "string")]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(since.as_millis() as u64)
    }

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus `d`, saturating.
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_millis() as u64))
    }

    /// The UTC calendar month, as `YYYY-MM`.
    pub fn month(self) -> String {
        let s = self.to_string();
        s[..7].to_owned()
    }

    /// As a `SystemTime`, clamped to the last millisecond of year 9999: timestamps
    /// come from other devices, and RFC 3339 has no later years.
    fn system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.min(LAST_RFC3339_MS))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            humantime::format_rfc3339_millis(self.system_time())
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = humantime::TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = humantime::parse_rfc3339_weak(s)?;
        let ms = t
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        Ok(Timestamp(ms))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            s.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)?
                .parse()
                .map_err(serde::de::Error::custom)
        } else {
            Ok(Timestamp(u64::deserialize(d)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp(1_763_000_000_123);
        assert_eq!(t.to_string(), "2025-11-13T02:13:20.123Z");
        assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        assert_eq!(t.month(), "2025-11");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2025-11-13T02:13:20.123Z\""
        );
    }

    #[test]
    fn absurd_timestamps_from_other_devices_still_print() {
        assert_eq!(Timestamp(u64::MAX).to_string(), "9999-12-31T23:59:59.999Z");
        assert!(serde_json::to_string(&Timestamp(u64::MAX)).is_ok());
    }
}
