//! The invite link, version 1: `plenum://join/` ‖ base64url(payload).

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::InviteError;
use crate::crypto::{self, random_array};
use crate::ids::GroupId;
use crate::time::Timestamp;

/// What every invite link starts with (matched without regard to ASCII case).
pub const LINK_PREFIX: &str = "plenum://join/";
/// The most addresses a link carries.
pub const MAX_ADDRESSES: usize = 3;
/// The longest address a link carries, in bytes.
pub const MAX_ADDRESS_LEN: usize = 255;

const VERSION: u8 = 1;
const CHECKSUM_CONTEXT: &str = "plenum invite link v1";
const CHECKSUM_LEN: usize = 4;
/// version, group id, secret, expiry, address count.
const FIXED_LEN: usize = 1 + 32 + 32 + 8 + 1;
const MAX_PAYLOAD_LEN: usize = FIXED_LEN + MAX_ADDRESSES * (1 + MAX_ADDRESS_LEN) + CHECKSUM_LEN;
/// Longer text cannot be a link; refusing it first bounds the work on any input.
const MAX_TEXT_LEN: usize = LINK_PREFIX.len() + MAX_PAYLOAD_LEN.div_ceil(3) * 4;

/// The 32-byte invite secret, wiped from memory when dropped and never printed.
#[derive(Clone)]
pub struct InviteSecret(Zeroizing<[u8; 32]>);

impl InviteSecret {
    /// A fresh random secret.
    pub fn random() -> InviteSecret {
        InviteSecret(Zeroizing::new(random_array()))
    }

    /// Wraps raw secret bytes (from a parsed link, or a test vector).
    pub fn from_bytes(bytes: [u8; 32]) -> InviteSecret {
        InviteSecret(Zeroizing::new(bytes))
    }

    /// The raw secret bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for InviteSecret {
    /// Constant-time, so a comparison leaks nothing about where two secrets differ.
    fn eq(&self, other: &InviteSecret) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for InviteSecret {}

impl fmt::Debug for InviteSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteSecret(..)")
    }
}

/// A decoded invite link. It never holds a group key, the group name or a member list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteLink {
    /// The group to join.
    pub group: GroupId,
    /// The secret the invite key is derived from.
    pub secret: InviteSecret,
    /// The invite admits no one at or after this time.
    pub expires: Timestamp,
    /// Up to [`MAX_ADDRESSES`] libp2p multiaddrs in binary form, each 1 to
    /// [`MAX_ADDRESS_LEN`] bytes: the group's relays, else the inviter's own.
    pub addresses: Vec<Vec<u8>>,
}

impl InviteLink {
    /// A link with a fresh random secret.
    pub fn new(
        group: GroupId,
        expires: Timestamp,
        addresses: Vec<Vec<u8>>,
    ) -> Result<InviteLink, InviteError> {
        InviteLink::with_secret(group, InviteSecret::random(), expires, addresses)
    }

    /// A link with a given secret (a test vector, or re-showing a link one made).
    pub fn with_secret(
        group: GroupId,
        secret: InviteSecret,
        expires: Timestamp,
        addresses: Vec<Vec<u8>>,
    ) -> Result<InviteLink, InviteError> {
        check_addresses(&addresses)?;
        Ok(InviteLink {
            group,
            secret,
            expires,
            addresses,
        })
    }

    /// Whether the invite has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }

    /// The link as text, `plenum://join/…`.
    ///
    /// [`InviteLink::new`] and [`InviteLink::parse`] check the addresses. If the public
    /// fields were later changed to break those limits, the text is one that `parse`
    /// refuses (with [`InviteError::TooManyAddresses`] or [`InviteError::EmptyAddress`]),
    /// never one that parses into a different link.
    pub fn to_link(&self) -> String {
        format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.payload()))
    }

    /// The binary payload, checksum included.
    pub(super) fn payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_PAYLOAD_LEN);
        out.push(VERSION);
        out.extend_from_slice(self.group.as_bytes());
        out.extend_from_slice(self.secret.as_bytes());
        out.extend_from_slice(&self.expires.as_millis().to_be_bytes());
        out.push(u8::try_from(self.addresses.len()).unwrap_or(u8::MAX));
        for address in &self.addresses {
            match u8::try_from(address.len()) {
                Ok(len) => {
                    out.push(len);
                    out.extend_from_slice(address);
                }
                // Unrepresentable: an empty entry makes `parse` refuse the link.
                Err(_) => out.push(0),
            }
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// Parses a link's text. Surrounding whitespace is ignored; the `plenum://join/`
    /// prefix is required, in any ASCII case. Never panics, whatever the input.
    pub fn parse(text: &str) -> Result<InviteLink, InviteError> {
        let text = text.trim();
        if text.len() > MAX_TEXT_LEN {
            return Err(InviteError::TooLong(text.chars().count()));
        }
        let encoded = match text.get(..LINK_PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(LINK_PREFIX) => &text[LINK_PREFIX.len()..],
            _ => return Err(InviteError::NotAnInvite),
        };
        let payload = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| InviteError::BadBase64)?;
        InviteLink::from_payload(&payload)
    }

    /// Decodes a binary payload. The checks run in this order, so that damage reads
    /// as damage: version, structure, trailing bytes, checksum, then the limits.
    pub(super) fn from_payload(payload: &[u8]) -> Result<InviteLink, InviteError> {
        let mut r = Reader(payload);
        let version = r.u8()?;
        if version != VERSION {
            return Err(InviteError::UnsupportedVersion(version));
        }
        let group = GroupId(r.array()?);
        let secret = InviteSecret::from_bytes(r.array()?);
        let expires = Timestamp(u64::from_be_bytes(r.array()?));
        let count = r.u8()?;
        let mut addresses = Vec::with_capacity(usize::from(count).min(MAX_ADDRESSES));
        for _ in 0..count {
            let len = r.u8()?;
            addresses.push(r.take(usize::from(len))?.to_vec());
        }
        let body_len = payload.len() - r.0.len();
        let sum: [u8; CHECKSUM_LEN] = r.array()?;
        if !r.0.is_empty() {
            return Err(InviteError::TrailingBytes(r.0.len()));
        }
        if sum != checksum(&payload[..body_len]) {
            return Err(InviteError::ChecksumMismatch);
        }
        InviteLink::with_secret(group, secret, expires, addresses)
    }
}

impl FromStr for InviteLink {
    type Err = InviteError;

    fn from_str(s: &str) -> Result<InviteLink, InviteError> {
        InviteLink::parse(s)
    }
}

fn check_addresses(addresses: &[Vec<u8>]) -> Result<(), InviteError> {
    if addresses.len() > MAX_ADDRESSES {
        return Err(InviteError::TooManyAddresses(addresses.len()));
    }
    for address in addresses {
        if address.is_empty() {
            return Err(InviteError::EmptyAddress);
        }
        if address.len() > MAX_ADDRESS_LEN {
            return Err(InviteError::AddressTooLong(address.len()));
        }
    }
    Ok(())
}

fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let h = crypto::hash(CHECKSUM_CONTEXT, &[body]);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&h[..CHECKSUM_LEN]);
    out
}

/// Reads fields off the front of a payload; running short is [`InviteError::Truncated`].
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], InviteError> {
        if self.0.len() < n {
            return Err(InviteError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, InviteError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], InviteError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample(addresses: usize) -> InviteLink {
        let addresses = (0..addresses)
            .map(|i| vec![i as u8 + 1; 40])
            .collect::<Vec<_>>();
        InviteLink::new(GroupId([0xab; 32]), Timestamp(1_900_000_000_000), addresses).unwrap()
    }

    /// A link from raw payload fields, with a correct checksum.
    fn link_from_body(body: &[u8]) -> String {
        let mut payload = body.to_vec();
        payload.extend_from_slice(&checksum(body));
        format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(payload))
    }

    fn body_without_checksum(link: &InviteLink) -> Vec<u8> {
        let payload = link.payload();
        payload[..payload.len() - CHECKSUM_LEN].to_vec()
    }

    #[test]
    fn round_trip_with_no_and_three_addresses() {
        for n in [0, 3] {
            let link = sample(n);
            let text = link.to_link();
            assert!(text.starts_with("plenum://join/"));
            let parsed = InviteLink::parse(&text).unwrap();
            assert_eq!(parsed, link);
            assert_eq!(parsed.addresses.len(), n);
            assert_eq!(format!("  {text}\n").parse::<InviteLink>().unwrap(), link);
        }
    }

    #[test]
    fn prefix_is_matched_in_any_case() {
        let link = sample(1);
        let text = link
            .to_link()
            .replacen("plenum://join/", "PLENUM://Join/", 1);
        assert_eq!(InviteLink::parse(&text).unwrap(), link);
    }

    #[test]
    fn fresh_links_have_fresh_secrets() {
        assert_ne!(sample(0).secret, sample(0).secret);
    }

    #[test]
    fn every_truncation_fails_with_a_typed_error() {
        let link = sample(3);
        let payload = link.payload();
        for cut in 0..payload.len() {
            let text = format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(&payload[..cut]));
            assert_eq!(
                InviteLink::parse(&text),
                Err(InviteError::Truncated),
                "cut at {cut}"
            );
        }
        let text = link.to_link();
        for cut in 0..text.len() {
            assert!(InviteLink::parse(&text[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn every_single_bit_flip_fails() {
        let payload = sample(2).payload();
        for bit in 0..payload.len() * 8 {
            let mut flipped = payload.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let text = format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(&flipped));
            assert!(
                InviteLink::parse(&text).is_err(),
                "bit {bit} went unnoticed"
            );
        }
    }

    #[test]
    fn each_kind_of_damage_has_its_own_error() {
        let link = sample(1);
        let text = link.to_link();
        assert_eq!(
            InviteLink::parse(&text.replacen("plenum://", "https://", 1)),
            Err(InviteError::NotAnInvite)
        );
        assert_eq!(
            InviteLink::parse(&text["plenum://join/".len()..]),
            Err(InviteError::NotAnInvite)
        );
        assert_eq!(
            InviteLink::parse(&format!("{text}*")),
            Err(InviteError::BadBase64)
        );
        assert_eq!(
            InviteLink::parse(&format!("{text}=")),
            Err(InviteError::BadBase64)
        );

        // 119 bytes end in a 3-character group with 2 unused bits; setting one is a
        // second spelling of the same bytes, which base64url does not allow.
        assert_eq!(link.payload().len() % 3, 2);
        let last = text.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let value = alphabet.find(last).unwrap();
        assert_eq!(value & 0b11, 0);
        let other = alphabet.chars().nth(value | 1).unwrap();
        let respelled = format!("{}{other}", &text[..text.len() - 1]);
        assert_eq!(InviteLink::parse(&respelled), Err(InviteError::BadBase64));

        let mut v2 = body_without_checksum(&link);
        v2[0] = 2;
        assert_eq!(
            InviteLink::parse(&link_from_body(&v2)),
            Err(InviteError::UnsupportedVersion(2))
        );

        let mut four = body_without_checksum(&sample(0));
        four[FIXED_LEN - 1] = 4;
        for _ in 0..4 {
            four.extend_from_slice(&[1, 0x2a]);
        }
        assert_eq!(
            InviteLink::parse(&link_from_body(&four)),
            Err(InviteError::TooManyAddresses(4))
        );

        let mut empty = body_without_checksum(&sample(0));
        empty[FIXED_LEN - 1] = 1;
        empty.push(0);
        assert_eq!(
            InviteLink::parse(&link_from_body(&empty)),
            Err(InviteError::EmptyAddress)
        );

        let mut trailing = link.payload();
        trailing.extend_from_slice(&[0, 0]);
        let text = format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(&trailing));
        assert_eq!(InviteLink::parse(&text), Err(InviteError::TrailingBytes(2)));

        let mut altered = link.payload();
        altered[40] ^= 0x80;
        let text = format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(&altered));
        assert_eq!(InviteLink::parse(&text), Err(InviteError::ChecksumMismatch));

        let long = format!("{LINK_PREFIX}{}", "A".repeat(2000));
        assert_eq!(
            InviteLink::parse(&long),
            Err(InviteError::TooLong(long.len()))
        );
    }

    #[test]
    fn addresses_are_checked_when_making_a_link() {
        let make = |addresses| InviteLink::new(GroupId([1; 32]), Timestamp(5), addresses);
        assert_eq!(
            make(vec![vec![1]; 4]).unwrap_err(),
            InviteError::TooManyAddresses(4)
        );
        assert_eq!(make(vec![vec![]]).unwrap_err(), InviteError::EmptyAddress);
        assert_eq!(
            make(vec![vec![1; 256]]).unwrap_err(),
            InviteError::AddressTooLong(256)
        );
        assert!(make(vec![vec![1; 255]; 3]).is_ok());
    }

    #[test]
    fn a_link_edited_past_its_limits_encodes_to_text_parse_refuses() {
        let mut link = sample(0);
        link.addresses = vec![vec![1]; 4];
        assert_eq!(
            InviteLink::parse(&link.to_link()),
            Err(InviteError::TooManyAddresses(4))
        );
        link.addresses = vec![vec![1; 300]];
        assert_eq!(
            InviteLink::parse(&link.to_link()),
            Err(InviteError::EmptyAddress)
        );
    }

    #[test]
    fn the_secret_is_never_printed() {
        let link = sample(0);
        let debug = format!("{link:?}");
        assert!(debug.contains("InviteSecret(..)"));
        assert!(!debug.contains(&hex::encode(link.secret.as_bytes())));
        assert!(!debug.contains(&format!("{:?}", link.secret.as_bytes())));
    }

    #[test]
    fn expiry_is_exclusive() {
        let link = sample(0);
        assert!(!link.is_expired(Timestamp(1_899_999_999_999)));
        assert!(link.is_expired(Timestamp(1_900_000_000_000)));
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_any_text(text in ".{0,400}") {
            let _ = InviteLink::parse(&text);
            let _ = InviteLink::parse(&format!("{LINK_PREFIX}{text}"));
        }

        #[test]
        fn parse_never_panics_on_any_payload(bytes in proptest::collection::vec(any::<u8>(), 0..900)) {
            let _ = InviteLink::from_payload(&bytes);
            let mut versioned = bytes;
            versioned.insert(0, 1);
            let _ = InviteLink::parse(&format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(&versioned)));
        }
    }
}
