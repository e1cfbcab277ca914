//! Rendezvous names: where, at a group's relays, members announce that they can admit
//! with an invite, and where a joiner holding the link looks for them.
//!
//! The name is derived from the invite's public key (itself derived from the link's
//! secret, and the only trace of the invite in the log), so members can announce it
//! and joiners find it, while the relay, seeing the name, learns neither the group nor
//! the link.

/// The rendezvous name of the invite whose public key is `invite_key`.
pub(super) fn invite_name(invite_key: &[u8; 32]) -> String {
    let hash = crate::crypto::hash("plenum rendezvous invite v1", &[invite_key]);
    hex::encode(&hash[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_distinct_and_stable() {
        let a = invite_name(&[1; 32]);
        assert_eq!(a.len(), 32);
        assert_eq!(a, invite_name(&[1; 32]));
        assert_ne!(a, invite_name(&[2; 32]));
    }
}
