//! Live updates for the office console: `GET /v1/office/events`, a
//! server-sent event stream (text/event-stream) telling every signed-in
//! screen that something changed, so the board, the complaints and the
//! follow-up queue refetch instead of waiting for their next poll.
//!
//! Events (each with an `id`, `"<boot>-<seq>"`):
//!
//! - `ready` `{"missed": bool}`: first on every stream. `missed` is false
//!   only when the client's `Last-Event-ID` (sent by `EventSource` on a
//!   reconnect) is this server's latest event, i.e. nothing was sent while
//!   it was away; otherwise the client refetches everything.
//! - `records` `{"work_orders": [ids], "count": n}`: a tablet's entries were
//!   stored (ingest), with the orders they belong to.
//! - `work_order` `{"id", "rev"}`: a work-order snapshot changed (any office
//!   change; orders opened on site arrive as `records`).
//! - `resync` `{}`: this stream fell behind; refetch everything.
//!
//! A comment (`: keep-alive`) goes out every 15 s so proxies keep the
//! connection. A stream ends after `close_after` seconds (1–25, default 25) and
//! `EventSource` reconnects by itself (`retry: 1000`): the session is checked
//! again on each reconnect, so a signed-out or expired session stops
//! receiving, and no request stays open for long.
//!
//! The events live in this process only (a broadcast channel). Several
//! servers on one database would each tell only their own clients about
//! their own writes: the console keeps polling every 30 s for that reason
//! (and for when the stream fails).

use std::collections::BTreeSet;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use hearth_protocol::api::ErrorBody;
use serde::Serialize;
use tokio::sync::broadcast;

use super::input::bad_field;
use crate::auth::OperatorAuth;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::storage::{BatchWrite, SnapshotKind, StoredEntry};

/// How many events a slow stream may fall behind before it is told to resync.
const BACKLOG: usize = 256;
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const DEFAULT_CLOSE_AFTER_SECS: u64 = 25;
// At most 25 s too: no request stays open longer than a client (or a
// test tool) would wait for an answer; EventSource reconnects anyway.
const MAX_CLOSE_AFTER_SECS: u64 = 25;

/// What changed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OfficeEvent {
    Records { work_orders: Vec<String>, count: usize },
    WorkOrder { id: String, rev: u64 },
}

impl OfficeEvent {
    fn name(&self) -> &'static str {
        match self {
            Self::Records { .. } => "records",
            Self::WorkOrder { .. } => "work_order",
        }
    }
}

/// The office's event bus: one per server process (`AppState::events`).
#[derive(Debug, Clone)]
pub struct Events(Arc<Bus>);

#[derive(Debug)]
struct Bus {
    sender: broadcast::Sender<(u64, OfficeEvent)>,
    /// Events sent so far; with `boot`, the id of the latest.
    seq: AtomicU64,
    /// Tells this process's ids from an earlier one's.
    boot: String,
}

impl Default for Events {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Self(Arc::new(Bus {
            sender,
            seq: AtomicU64::new(0),
            boot: uuid::Uuid::now_v7().simple().to_string(),
        }))
    }
}

impl Events {
    /// Tells every open stream; nobody listening is fine.
    pub fn send(&self, event: OfficeEvent) {
        let seq = self.0.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.0.sender.send((seq, event));
    }

    /// After ingest stored `stored` from `batch` (whose snapshots are the
    /// orders opened on site).
    pub fn records_stored(&self, stored: &[StoredEntry], orders_opened: Vec<String>) {
        if stored.is_empty() && orders_opened.is_empty() {
            return;
        }
        let mut ids: BTreeSet<String> = orders_opened.into_iter().collect();
        ids.extend(stored.iter().filter_map(|e| e.work_order_id.clone()));
        self.send(OfficeEvent::Records { work_orders: ids.into_iter().collect(), count: stored.len() });
    }

    /// A work-order snapshot was written.
    pub fn work_order(&self, id: &str, rev: u64) {
        self.send(OfficeEvent::WorkOrder { id: id.to_owned(), rev });
    }

    fn id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.0.boot)
    }
}

/// The work orders a batch writes snapshots of (orders opened on site),
/// taken before the batch is moved into storage.
pub fn orders_in_batch(batch: &BatchWrite) -> Vec<String> {
    batch
        .snapshots
        .iter()
        .chain(&batch.new_snapshots)
        .filter(|s| s.kind == SnapshotKind::WorkOrder)
        .map(|s| s.id.clone())
        .collect()
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/office/events", get(events_h))
}

fn close_after(query: &HashMap<String, String>) -> ApiResult<Duration> {
    crate::office::only(query, &["close_after"])?;
    let secs = match query.get("close_after") {
        None => DEFAULT_CLOSE_AFTER_SECS,
        Some(v) => {
            v.parse::<u64>().ok().filter(|s| (1..=MAX_CLOSE_AFTER_SECS).contains(s)).ok_or_else(|| {
                bad_field("close_after", &format!("must be 1 to {MAX_CLOSE_AFTER_SECS} seconds"))
            })?
        }
    };
    Ok(Duration::from_secs(secs))
}

struct Stream_ {
    rx: broadcast::Receiver<(u64, OfficeEvent)>,
    events: Events,
    first: Option<Event>,
    ends: tokio::time::Instant,
}

fn event(events: &Events, seq: u64, e: &OfficeEvent) -> Event {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    Event::default().event(e.name()).id(events.id(seq)).data(data)
}

#[utoipa::path(get, path = "/v1/office/events", tag = "office", summary = "Live updates: a server-sent event stream (ready, records, work_order, resync) with a keep-alive comment every 15 s; it ends after close_after seconds and EventSource reconnects", security(("operator_token" = [])),
    params(
        ("close_after" = Option<u64>, Query, description = "end the stream after this many seconds (1 to 25, the default)"),
        ("Last-Event-ID" = Option<String>, Header, description = "the last event id seen (EventSource sends it on reconnect): `ready` says whether anything was missed"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = ServerSentEvent, description = "events: `ready` {missed}, `records` {work_orders, count}, `work_order` {id, rev}, `resync` {}; comments `: keep-alive`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn events_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let lifetime = close_after(&query)?;
    let events = state.events.clone();
    // Subscribe before reading the count: an event sent in between is
    // both delivered and counted as missed (a harmless extra refetch).
    let rx = events.0.sender.subscribe();
    let latest = events.0.seq.load(Ordering::SeqCst);
    let last_seen = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let missed = last_seen != Some(events.id(latest).as_str());
    let ready = Event::default()
        .event("ready")
        .id(events.id(latest))
        .retry(Duration::from_millis(1000))
        .data(serde_json::json!({ "missed": missed }).to_string());
    let start = Stream_ { rx, events, first: Some(ready), ends: tokio::time::Instant::now() + lifetime };
    let stream = futures_util::stream::unfold(start, |mut s| async move {
        if let Some(first) = s.first.take() {
            return Some((Ok(first), s));
        }
        let next = tokio::select! {
            received = s.rx.recv() => received,
            () = tokio::time::sleep_until(s.ends) => return None,
        };
        let out = match next {
            Ok((seq, e)) => event(&s.events, seq, &e),
            Err(broadcast::error::RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(out), s))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// One event of the stream as a client reads it (the SSE fields), for
/// the OpenAPI document: `data` is the event's JSON as text.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // documents the wire format; the stream is written by axum's `Event`
pub struct ServerSentEvent {
    /// `ready`, `records`, `work_order` or `resync`.
    event: Option<String>,
    id: Option<String>,
    /// Milliseconds before EventSource reconnects (sent with `ready`).
    retry: Option<u64>,
    data: Option<String>,
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(events_h), components(schemas(ServerSentEvent)))]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_process_and_the_count() {
        let events = Events::default();
        let mut rx = events.0.sender.subscribe();
        events.work_order("WO-1", 3);
        events.records_stored(&[], vec!["WO-2".into()]);
        events.records_stored(&[], vec![]);
        assert_eq!(rx.try_recv().ok(), Some((1, OfficeEvent::WorkOrder { id: "WO-1".into(), rev: 3 })));
        assert_eq!(
            rx.try_recv().ok(),
            Some((2, OfficeEvent::Records { work_orders: vec!["WO-2".into()], count: 0 }))
        );
        assert!(rx.try_recv().is_err(), "nothing stored, nothing said");
        assert!(events.id(2).ends_with("-2"));
    }
}
