//! The answering side: catch-up pages from the store, and admissions.

use libp2p::PeerId;
use libp2p::request_response::ResponseChannel;

use super::wire::{self, Request, Response};
use super::{Command, Network};
use crate::api::ApiError;
use crate::ids::GroupId;

fn refused(e: ApiError) -> Response {
    Response::Refused(e.message)
}

async fn respond(network: &Network, channel: ResponseChannel<Response>, response: Response) {
    let _ = network.send(Command::Respond { channel, response }).await;
}

/// Answers a catch-up request of a peer that proved `group`, off the event loop.
pub(super) fn spawn(
    network: Network,
    group: GroupId,
    request: Request,
    channel: ResponseChannel<Response>,
) {
    tokio::spawn(async move {
        let node = network.node().clone();
        let answered = tokio::task::spawn_blocking(move || match request {
            Request::Summary { root, .. } => node.version_vector(&group).map(|mine| {
                if *mine.root().as_bytes() == root {
                    Response::InSync
                } else {
                    Response::Vector(mine.to_bytes())
                }
            }),
            Request::Fetch {
                mut wants,
                snapshots,
                ..
            } => {
                wants.truncate(wire::MAX_WANTS);
                node.envelopes_for(&group, &wants, wire::PAGE_BYTES, snapshots)
                    .map(|(envelopes, complete)| Response::Page {
                        envelopes,
                        complete,
                    })
            }
            _ => Ok(Response::Refused("not a catch-up request".into())),
        })
        .await;
        let response = match answered {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => refused(e),
            Err(_) => Response::Refused("this device failed to answer".into()),
        };
        respond(&network, channel, response).await;
    });
}

/// Answers a joiner: a nonce when this device can admit with the invite, then the
/// admission itself.
pub(super) fn spawn_join(
    network: Network,
    peer: PeerId,
    request: Request,
    channel: ResponseChannel<Response>,
) {
    tokio::spawn(async move {
        let node = network.node().clone();
        let response = match request {
            Request::JoinHello { invite_key } => match node.group_of_invite(&invite_key) {
                Ok(Some(_)) => match node.join_nonce() {
                    Ok(nonce) => Response::JoinNonce(nonce),
                    Err(e) => refused(e),
                },
                Ok(None) => Response::Refused("no open invite with this key here".into()),
                Err(e) => refused(e),
            },
            Request::Join(request) => {
                tracing::info!(%peer, "admitting a joiner");
                match node.admit(&request).await {
                    Ok(welcome) => Response::Welcome(Box::new(welcome)),
                    Err(e) => refused(e),
                }
            }
            _ => Response::Refused("not a join request".into()),
        };
        respond(&network, channel, response).await;
    });
}
