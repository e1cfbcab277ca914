//! Identifiers, shown to people and scripts as lowercase hex.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A hex string did not decode to an identifier of the expected length.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{input}` is not a {what}: expected {len} hex characters")]
pub struct ParseIdError {
    input: String,
    what: &'static str,
    len: usize,
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ts_rs::TS)]
        #[ts(type = "string")]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// A fresh random identifier.
            pub fn random() -> Self {
                Self($crate::crypto::random_array())
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// The first 8 hex characters, for compact display.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = || ParseIdError { input: s.to_owned(), what: $what, len: $len * 2 };
                let bytes = hex::decode(s).map_err(|_| err())?;
                Ok(Self(bytes.try_into().map_err(|_| err())?))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&self.to_string())
                } else {
                    self.0.serialize(s)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = String::deserialize(d)?;
                    s.parse().map_err(serde::de::Error::custom)
                } else {
                    Ok(Self(<[u8; $len]>::deserialize(d)?))
                }
            }
        }
    };
}

hex_id!(
    /// A group: 32 random bytes chosen by its creator.
    GroupId, 32, "group id"
);
hex_id!(
    /// A document within a group (directory, chat segment, pad, board, membership log).
    DocId, 16, "document id"
);
hex_id!(
    /// A member of one group: its Ed25519 member public key.
    MemberId, 32, "member id"
);
hex_id!(
    /// A chat message, card, column, checklist item or comment.
    ItemId, 16, "item id"
);
hex_id!(
    /// The BLAKE3 hash of an envelope, a membership operation or anything else hashed.
    Hash, 32, "hash"
);

impl DocId {
    /// A document id derived deterministically from the group and a name, for documents
    /// every member must agree on without coordination (the directory, the membership
    /// log, a channel's segment for one epoch and month).
    pub fn derived(group: &GroupId, name: &[u8]) -> DocId {
        let h = crate::crypto::hash("plenum derived doc id v1", &[group.as_bytes(), name]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&h[..16]);
        DocId(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let id = GroupId::random();
        assert_eq!(id.to_string().parse::<GroupId>().unwrap(), id);
        let err = "abc".parse::<DocId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`abc` is not a document id: expected 32 hex characters"
        );
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let bin = postcard::to_allocvec(&id).unwrap();
        assert_eq!(bin.len(), 32);
        assert_eq!(postcard::from_bytes::<GroupId>(&bin).unwrap(), id);
    }
}
