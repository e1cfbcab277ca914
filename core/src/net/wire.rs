//! The request–response messages of `/plenum/sync/1` and their codec: a 4-byte
//! big-endian length, then the postcard encoding. Every read is bounded before any
//! allocation, so a peer cannot make this node buffer more than the limits below.

use std::io;

use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::invite::{JoinRequest, Welcome};
use crate::sync::Want;

/// The protocol name.
pub(super) const PROTOCOL: StreamProtocol = StreamProtocol::new("/plenum/sync/1");
/// Largest request accepted.
pub(super) const MAX_REQUEST: usize = 1 << 20;
/// Largest response accepted: a page of envelopes, or a welcome with a group's history.
pub(super) const MAX_RESPONSE: usize = 64 << 20;
/// Wants per fetch request.
pub(super) const MAX_WANTS: usize = 1024;
/// Endorsements in a store proof at most: how many rotations a relay may miss and
/// still take the group's current store key.
pub(super) const MAX_ENDORSEMENTS: usize = 16;
/// Bytes of envelopes per page.
pub(super) const PAGE_BYTES: usize = 1 << 20;

/// A group as named on the wire between two proven members: its envelope group tag.
pub(super) type Tag = [u8; 16];

/// What a peer asks.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Request {
    /// Step 1 of the membership proof: prove your groups over this nonce.
    Hello {
        /// Fresh random bytes.
        nonce: [u8; 32],
    },
    /// Step 3: the asker's proofs over the nonce the other side sent back.
    Prove {
        /// One proof per group and epoch.
        proofs: Vec<[u8; 32]>,
    },
    /// Catch-up: here is the root of my version vector for this group.
    Summary {
        /// The group.
        tag: Tag,
        /// `VersionVector::root` of the asker.
        root: [u8; 32],
    },
    /// Catch-up: send me these envelopes.
    Fetch {
        /// The group.
        tag: Tag,
        /// What is missing, in the order to send it.
        wants: Vec<Want>,
        /// Whether a snapshot may stand in for a document's envelopes when smaller.
        snapshots: bool,
    },
    /// Joining: does anyone here hold an open invite with this public key? Answered
    /// with a nonce to sign.
    JoinHello {
        /// The invite's public key (derived from the link's secret).
        invite_key: [u8; 32],
    },
    /// Joining: the signed request.
    Join(Box<JoinRequest>),
    /// To a storing relay: may I use your store for this group? Answered with a
    /// nonce to sign with the group's store key.
    StoreHello {
        /// The group.
        tag: Tag,
    },
    /// To a storing relay: the group's store key and its signature over the nonce
    /// (`store_key::proof_message`), and, for a key the relay may not know yet, the
    /// older store keys vouching for it.
    StoreProve {
        /// The group.
        tag: Tag,
        /// The store key's Ed25519 public key.
        key: [u8; 32],
        /// Its signature (64 bytes).
        signature: Vec<u8>,
        /// Newest first, at most [`MAX_ENDORSEMENTS`]: the first vouches for `key`,
        /// each next one for the key of the one before it.
        endorsements: Vec<Endorsement>,
    },
    /// To a storing relay: keep these envelopes of the group.
    Push {
        /// The group.
        tag: Tag,
        /// Sealed envelopes.
        envelopes: Vec<Vec<u8>>,
    },
    /// To a storing relay: keep this snapshot of one document, to serve in place of
    /// the envelopes it covers. The relay cannot open it, so the pusher says what it
    /// covers; the relay checks that it holds exactly those envelopes.
    PushSnapshot {
        /// The group.
        tag: Tag,
        /// The snapshot envelope (kind 3).
        envelope: Vec<u8>,
        /// Per covered author, ascending: its id, and the seq and hash of its covered
        /// envelope.
        covers: Vec<Cover>,
    },
}

/// What a snapshot covers of one author's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cover {
    pub(crate) author: [u8; 32],
    pub(crate) seq: u64,
    pub(crate) head: [u8; 32],
}

/// One store key vouching for the next (after a key rotation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Endorsement {
    /// The older key.
    pub(super) by: [u8; 32],
    /// Its signature over the group tag and the new key (64 bytes).
    pub(super) signature: Vec<u8>,
}

/// What a peer answers.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Response {
    /// Step 2: proofs over the asker's nonce, and a nonce for the asker to prove over.
    Hello {
        /// One proof per group and epoch.
        proofs: Vec<[u8; 32]>,
        /// Fresh random bytes.
        nonce: [u8; 32],
    },
    /// Step 3 taken.
    Proven,
    /// The roots are equal: nothing to do.
    InSync,
    /// The roots differ: the answerer's whole version vector (`VersionVector::to_bytes`).
    Vector(Vec<u8>),
    /// Envelopes, and whether every want was served in full.
    Page {
        /// Sealed envelopes, membership first; with `snapshots`, snapshot envelopes
        /// in place of some documents' envelopes.
        envelopes: Vec<Vec<u8>>,
        /// False: ask again for the rest.
        complete: bool,
    },
    /// A nonce for the joiner.
    JoinNonce([u8; 32]),
    /// Admitted.
    Welcome(Box<Welcome>),
    /// Refused, with the reason for people.
    Refused(String),
    /// A storing relay's nonce for the store proof.
    StoreNonce([u8; 32]),
    /// What a storing relay did with a push.
    Stored {
        /// Envelopes stored now.
        stored: u32,
        /// Envelopes it already held.
        duplicates: u32,
        /// Envelopes it refused as malformed, forged or not the group's.
        invalid: u32,
        /// The group's quota there is used up.
        full: bool,
    },
}

/// Length-prefixed postcard.
#[derive(Clone, Default)]
pub(super) struct Codec;

async fn read_frame<T: DeserializeOwned, R: AsyncRead + Unpin + Send>(
    io: &mut R,
    limit: usize,
) -> io::Result<T> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a message of {len} bytes is over the limit of {limit}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    postcard::from_bytes(&buf).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("malformed message: {e}"),
        )
    })
}

async fn write_frame<T: Serialize, W: AsyncWrite + Unpin + Send>(
    io: &mut W,
    value: &T,
    limit: usize,
) -> io::Result<()> {
    let bytes = postcard::to_stdvec(value)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    if bytes.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a message of {} bytes is over the limit of {limit}",
                bytes.len()
            ),
        ));
    }
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(&bytes).await?;
    io.close().await
}

impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Request> {
        read_frame(io, MAX_REQUEST).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Response> {
        read_frame(io, MAX_RESPONSE).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> io::Result<()> {
        write_frame(io, &request, MAX_REQUEST).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()> {
        write_frame(io, &response, MAX_RESPONSE).await
    }
}
