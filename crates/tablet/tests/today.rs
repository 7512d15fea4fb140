//! Today's list: nearest deadline first, overdue at the top, what the office
//! withdrew left out, and a search box that finds a flat by any part of it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hearth_domain::{Address, Customer, RuleSet, WorkOrder, WorkOrderCategory};
use hearth_tablet::today::{orders_from_feed, search, today};
use serde_json::json;

mod common;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

fn order(id: &str, name: &str, room: &str, received_hours_ago: i64) -> WorkOrder {
    let address = Address::new("幸福小区", "3号楼", "2单元", room).unwrap();
    let customer = Customer::new(name, "13800138000", address).unwrap();
    WorkOrder::new(
        id,
        WorkOrderCategory::Repair,
        customer,
        "暖气不热",
        now() - Duration::hours(received_hours_ago),
    )
    .unwrap()
}

#[test]
fn the_nearest_deadline_comes_first_and_overdue_orders_lead() {
    let fresh = order("WO-FRESH", "张三", "301", 0);
    let old = order("WO-OLD", "李四", "502", 24 * 5);
    let mut done = order("WO-DONE", "王五", "101", 3);
    let t = now() - Duration::hours(2);
    done.milestones.contacted_at = Some(t);
    done.milestones.on_site_at = Some(t);
    done.milestones.completed_at = Some(t);
    let list = today(vec![done, fresh, old], &RuleSet::default(), now());

    let ids: Vec<&str> = list.iter().map(|i| i.order.id.as_str()).collect();
    assert_eq!(ids, ["WO-OLD", "WO-FRESH", "WO-DONE"]);
    assert!(list[0].overdue, "five days old: overdue, shown in red");
    assert!(!list[1].overdue, "just received: still time");
    assert!(list[2].next_deadline.is_none(), "every deadline of the technician met");
    let dues: Vec<_> = list.iter().filter_map(|i| i.next_deadline.map(|d| d.due)).collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "sorted by due time: {dues:?}");
}

#[test]
fn withdrawn_orders_are_not_work_and_an_unreadable_snapshot_is_named() {
    let open = serde_json::to_value(order("WO-1", "张三", "301", 1)).unwrap();
    let cancelled = serde_json::to_value(order("WO-2", "李四", "302", 1)).unwrap();
    let snapshots = vec![
        ("WO-1".to_owned(), 3, json!({"order": open, "status": "open"})),
        ("WO-2".to_owned(), 5, json!({"order": cancelled, "status": "cancelled"})),
    ];
    let orders = orders_from_feed(&snapshots).unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id.as_str(), "WO-1");

    let broken = vec![("WO-3".to_owned(), 1, json!({"order": {"id": "WO-3"}, "status": "open"}))];
    let err = orders_from_feed(&broken).unwrap_err();
    assert_eq!(err.code(), "unreadable_work_order");
    assert!(err.to_string().contains("WO-3"), "names the order: {err}");
}

#[test]
fn search_finds_a_flat_by_room_name_or_id_and_an_empty_query_keeps_all() {
    let list = today(
        vec![order("WO-A", "张三", "301", 1), order("WO-B", "李四", "502", 2)],
        &RuleSet::default(),
        now(),
    );
    assert_eq!(search(&list, "502").len(), 1);
    assert_eq!(search(&list, "李四")[0].order.id.as_str(), "WO-B");
    assert_eq!(search(&list, "wo-a")[0].order.id.as_str(), "WO-A", "ignoring case");
    assert_eq!(search(&list, "幸福").len(), 2);
    assert_eq!(search(&list, "  ").len(), 2);
    assert!(search(&list, "不存在").is_empty());
}

#[test]
fn a_rule_set_the_tablet_cannot_read_is_an_error_never_the_defaults() {
    use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
    let f = common::signed_in();
    assert!(f.app.today("").is_ok(), "the fed rule set reads");
    // The server fed a rule set whose deadline is zero minutes (a fault):
    // judging by the regulations' defaults instead would be silent.
    let mut bad = serde_json::to_value(RuleSet::default()).unwrap();
    bad["deadlines"]["leak_on_site_minutes"] = json!(0);
    let mut store = hearth_store::Store::open(f.dir.path()).unwrap();
    let item =
        FeedItem { feed_seq: 8, kind: FeedKind::RuleSet, id: "company".into(), rev: 2, body: Some(bad) };
    store.apply_feed_page(&FeedPage { items: vec![item], cursor: "8".into(), has_more: false }, 2).unwrap();
    drop(store);
    assert_eq!(common::code(f.app.today("")), "rule_set_unreadable");
}

#[test]
fn the_offices_repeat_repair_flag_reaches_the_technicians_card() {
    let repeat = serde_json::to_value(order("WO-2", "张三", "301", 1)).unwrap();
    let first = serde_json::to_value(order("WO-1", "张三", "301", 48)).unwrap();
    let snapshots = vec![
        ("WO-1".to_owned(), 1, json!({"order": first, "status": "open"})),
        ("WO-2".to_owned(), 1, json!({"order": repeat, "status": "open", "repeat_of": ["WO-1"]})),
    ];
    let mut list = today(orders_from_feed(&snapshots).unwrap(), &RuleSet::default(), now());
    hearth_tablet::today::flag_repeats(&mut list, &hearth_tablet::today::repeat_flags(&snapshots));
    let of = |id: &str| list.iter().find(|i| i.order.id.as_str() == id).unwrap().repeat_of.clone();
    assert_eq!(of("WO-2"), ["WO-1"], "the newer order names the earlier repair");
    assert!(of("WO-1").is_empty(), "the earlier order is not a repeat");
}
