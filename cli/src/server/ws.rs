//! One WebSocket: requests applied in arrival order and answered in that order
//! (pipelined: the next request is applied while earlier ones wait to be durable),
//! events pushed as they happen.
//!
//! Everything is bounded: at most [`MAX_IN_FLIGHT`] unanswered requests (then the
//! socket is not read until answers go out), and one task owns the socket, so a
//! client that does not read stalls only itself; the node's event buffer then tells
//! it [`Event::Lagged`](plenum_core::api::Event::Lagged), and a client that takes
//! longer than [`SEND_TIMEOUT`] to accept a message is disconnected.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::future::{BoxFuture, FutureExt, ready};
use futures_util::stream::{BoxStream, FuturesOrdered};
use futures_util::{SinkExt, StreamExt};
use plenum_core::api::Event;

use super::{Host, Phase, internal};
use crate::wire::{WireError, WsOutgoing, WsRequest};

/// Requests applied but not yet answered, per socket.
const MAX_IN_FLIGHT: usize = 256;
/// How long a client may take to accept one message before it is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn serve(socket: WebSocket, host: Arc<Host>) {
    let (mut sink, mut incoming) = socket.split();
    let mut phase = host.phase.subscribe();
    let mut events = subscribe(&phase.borrow_and_update());
    let mut pending: FuturesOrdered<BoxFuture<'static, WsOutgoing>> = FuturesOrdered::new();
    loop {
        let outgoing = tokio::select! {
            biased;
            () = host.shutdown.cancelled() => break,
            Some(answer) = pending.next(), if !pending.is_empty() => answer,
            event = next_event(&mut events) => match event {
                Some(event) => WsOutgoing::Event { event },
                None => {
                    events = None;
                    continue;
                }
            },
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
                if events.is_none() {
                    events = subscribe(&phase.borrow_and_update());
                }
                continue;
            }
            message = incoming.next(), if pending.len() < MAX_IN_FLIGHT => match message {
                Some(Ok(Message::Text(text))) => {
                    pending.push_back(apply(&host, text.as_str()).await);
                    continue;
                }
                Some(Ok(Message::Binary(_))) => {
                    let error = WireError::new("bad_request", "send requests as JSON text messages");
                    pending.push_back(ready(WsOutgoing::Error { id: None, error }).boxed());
                    continue;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
        };
        let text = serde_json::to_string(&outgoing).unwrap_or_else(|e| {
            let error = WireError::new("storage", format!("cannot encode the answer: {e}"));
            let id = match outgoing {
                WsOutgoing::Response { id, .. } | WsOutgoing::Error { id, .. } => id,
                WsOutgoing::Event { .. } => None,
            };
            serde_json::to_string(&WsOutgoing::Error { id, error }).unwrap_or_default()
        });
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into()))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.close()).await;
}

fn subscribe(phase: &Phase) -> Option<BoxStream<'static, Event>> {
    match phase {
        Phase::Running(service) => Some(service.events()),
        _ => None,
    }
}

/// The next event, or never while there is no event stream.
async fn next_event(events: &mut Option<BoxStream<'static, Event>>) -> Option<Event> {
    match events {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Applies one message's request now, and returns the future of its answer.
async fn apply(host: &Host, text: &str) -> BoxFuture<'static, WsOutgoing> {
    let (id, request) = match serde_json::from_str::<WsRequest>(text) {
        Ok(message) => (message.id, message.request),
        Err(e) => {
            // Answer with the id if there is one, so the client can match it up.
            let id = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("id")?.as_u64());
            let error = WireError::new(
                "bad_request",
                format!("not a request ({e}); send {{\"id\": N, \"request\": {{\"type\": ..}}}}"),
            );
            return ready(WsOutgoing::Error { id, error }).boxed();
        }
    };
    if let Err(error) = super::check_body_size(text.len(), &request) {
        return ready(WsOutgoing::Error {
            id: Some(id),
            error,
        })
        .boxed();
    }
    let failed = move |error: WireError| {
        ready(WsOutgoing::Error {
            id: Some(id),
            error,
        })
        .boxed()
    };
    let service = match host.service() {
        Ok(service) => service,
        Err(error) => return failed(error),
    };
    // Applied before the next message is read: arrival order is apply order.
    let Ok(pending) = tokio::task::spawn_blocking(move || service.call(request)).await else {
        return failed(internal("the request"));
    };
    async move {
        match pending.await {
            Ok(response) => WsOutgoing::Response {
                id: Some(id),
                response,
            },
            Err(e) => WsOutgoing::Error {
                id: Some(id),
                error: e.into(),
            },
        }
    }
    .boxed()
}
