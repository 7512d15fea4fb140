//! Server-derived tables follow the feed; a reset touches nothing else.

mod common;

use common::*;
use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
use serde_json::json;

fn item(feed_seq: u64, kind: FeedKind, id: &str, rev: u64, body: Option<serde_json::Value>) -> FeedItem {
    FeedItem { feed_seq, kind, id: id.into(), rev, body }
}

#[test]
fn a_page_and_its_cursor_apply_together_and_older_revs_never_win() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let page = FeedPage {
        items: vec![
            item(1, FeedKind::WorkOrder, "WO-1", 2, Some(json!({"status": "assigned", "rev": 2}))),
            item(2, FeedKind::Thermometer, "TH-9", 1, Some(json!({"valid_until": "2027-06-30"}))),
            item(3, FeedKind::WorkOrder, "WO-1", 1, Some(json!({"status": "new", "rev": 1}))),
        ],
        cursor: "c3".into(),
        has_more: false,
    };
    store.apply_feed_page(&page, 1).unwrap();
    assert_eq!(store.feed_cursor().unwrap().as_deref(), Some("c3"));
    assert_eq!(store.snapshot(FeedKind::WorkOrder, "WO-1").unwrap().unwrap()["status"], "assigned");
    assert!(store.snapshot(FeedKind::Thermometer, "TH-9").unwrap().is_some());

    let removal = FeedPage {
        items: vec![item(4, FeedKind::WorkOrderRemoved, "WO-1", 3, None)],
        cursor: "c4".into(),
        has_more: false,
    };
    store.apply_feed_page(&removal, 2).unwrap();
    assert!(
        store.snapshot(FeedKind::WorkOrder, "WO-1").unwrap().is_none(),
        "an order that left the device's scope is gone"
    );
}

#[test]
fn a_reset_drops_only_server_derived_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    seal_n(&mut store, 1);
    store.save_draft("d", "hearth.visit_step/1", None, b"{}", 1).unwrap();
    let page = FeedPage {
        items: vec![item(1, FeedKind::Technician, "T0017", 1, Some(json!({"name": "王师傅"})))],
        cursor: "c1".into(),
        has_more: false,
    };
    store.apply_feed_page(&page, 1).unwrap();
    store.reset_server_derived().unwrap();
    assert_eq!(store.feed_cursor().unwrap(), None);
    assert!(store.snapshots(FeedKind::Technician).unwrap().is_empty());
    assert_eq!(store.head_seq().unwrap(), 1, "the chain is untouched");
    assert_eq!(store.outbox_len().unwrap(), 1, "the outbox is untouched");
    assert_eq!(store.draft_count().unwrap(), 1, "drafts are untouched");
}
