//! Repeat repairs (重复报修): repair and leak orders at the same home
//! (`Address::key`) where each was received within the rule set's window of
//! the one before (`FollowUpRules::repeats`, default 30 days). Cancelled
//! orders, temperature tests, valve and meter jobs do not count. Flagged on
//! the newer order for the dispatcher (office) and the technician (the
//! order's snapshot carries it to the tablet).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Address, FollowUpRules, WorkOrderCategory};

/// What repeat-repair detection needs to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatCandidate {
    pub id: String,
    pub category: WorkOrderCategory,
    pub address: Address,
    pub received_at: DateTime<Utc>,
    pub cancelled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepeatMember {
    pub id: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepeatGroup {
    pub category: WorkOrderCategory,
    pub address: Address,
    /// Oldest first; each received within the window of the one before.
    pub work_orders: Vec<RepeatMember>,
}

/// Runs of repeat repairs, groups of two or more, oldest group first.
pub fn repeat_repairs(candidates: &[RepeatCandidate], rules: &FollowUpRules) -> Vec<RepeatGroup> {
    let mut by_key: HashMap<String, Vec<&RepeatCandidate>> = HashMap::new();
    for c in candidates.iter().filter(|c| !c.cancelled && FollowUpRules::counts_as_repair(c.category)) {
        by_key.entry(c.address.key()).or_default().push(c);
    }
    let mut groups = Vec::new();
    for (_, mut orders) in by_key {
        orders.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.id.cmp(&b.id)));
        let mut run: Vec<&RepeatCandidate> = Vec::new();
        for o in orders {
            if let Some(prev) = run.last()
                && !rules.repeats((prev.category, prev.received_at), (o.category, o.received_at))
            {
                push_group(&mut groups, &run);
                run.clear();
            }
            run.push(o);
        }
        push_group(&mut groups, &run);
    }
    groups.sort_by(|a, b| {
        let first = |g: &RepeatGroup| g.work_orders.first().map(|m| (m.received_at, m.id.clone()));
        first(a).cmp(&first(b))
    });
    groups
}

/// The earlier orders `order` repeats: repairs or leaks at the same address
/// within the window before it, oldest first.
pub fn repeats_of<'a>(
    order: &RepeatCandidate,
    others: &'a [RepeatCandidate],
    rules: &FollowUpRules,
) -> Vec<&'a str> {
    let key = order.address.key();
    let mut earlier: Vec<&RepeatCandidate> = others
        .iter()
        .filter(|o| o.id != order.id && !o.cancelled && o.address.key() == key)
        .filter(|o| {
            o.received_at < order.received_at || (o.received_at == order.received_at && o.id < order.id)
        })
        .filter(|o| rules.repeats((o.category, o.received_at), (order.category, order.received_at)))
        .collect();
    earlier.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.id.cmp(&b.id)));
    earlier.into_iter().map(|o| o.id.as_str()).collect()
}

fn push_group(groups: &mut Vec<RepeatGroup>, run: &[&RepeatCandidate]) {
    if let [first, _, ..] = run {
        groups.push(RepeatGroup {
            category: first.category,
            address: first.address.clone(),
            work_orders: run
                .iter()
                .map(|o| RepeatMember { id: o.id.clone(), received_at: o.received_at })
                .collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, d, 2, 0, 0).single().unwrap_or_default()
    }

    fn addr(room: &str) -> Address {
        Address::new("幸福小区", "3号楼", "2单元", room).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rep(id: &str, category: WorkOrderCategory, address: &Address, d: u32) -> RepeatCandidate {
        RepeatCandidate {
            id: id.into(),
            category,
            address: address.clone(),
            received_at: day(d),
            cancelled: false,
        }
    }

    #[test]
    fn repeat_repairs_group_repairs_and_leaks_within_30_days_at_the_same_address() {
        let home = addr("301");
        let other = addr("302");
        let mut cancelled = rep("cancelled", WorkOrderCategory::Leak, &home, 3);
        cancelled.cancelled = true;
        let candidates = [
            rep("leak-1", WorkOrderCategory::Leak, &home, 1),
            rep("leak-2", WorkOrderCategory::Leak, &home, 21),
            rep("repair-1", WorkOrderCategory::Repair, &home, 2),
            rep("other-leak", WorkOrderCategory::Leak, &other, 2),
            rep("test-1", WorkOrderCategory::TemperatureTest, &home, 3),
            rep("test-2", WorkOrderCategory::TemperatureTest, &home, 4),
            rep("valve-1", WorkOrderCategory::ValveOpen, &home, 5),
            cancelled,
        ];
        let rules = FollowUpRules::default();
        let groups = repeat_repairs(&candidates, &rules);
        assert_eq!(groups.len(), 1, "tests and valve jobs are not repairs");
        let ids: Vec<&str> = groups[0].work_orders.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["leak-1", "repair-1", "leak-2"]);
        assert_eq!(groups[0].category, WorkOrderCategory::Leak);
        assert_eq!(
            repeats_of(&candidates[1], &candidates, &rules),
            ["leak-1", "repair-1"],
            "flagged on the newer order"
        );
        assert!(repeats_of(&candidates[0], &candidates, &rules).is_empty());
        assert!(repeats_of(&candidates[5], &candidates, &rules).is_empty());
    }

    #[test]
    fn orders_more_than_the_window_apart_are_not_repeats_and_the_window_is_a_setting() {
        let home = addr("301");
        let a = rep("a", WorkOrderCategory::Repair, &home, 1);
        let mut b = rep("b", WorkOrderCategory::Repair, &home, 1);
        b.received_at = a.received_at + TimeDelta::days(30) + TimeDelta::seconds(1);
        let rules = FollowUpRules::default();
        assert!(repeat_repairs(&[a.clone(), b.clone()], &rules).is_empty());
        let mut c = rep("c", WorkOrderCategory::Repair, &home, 1);
        c.received_at = a.received_at + TimeDelta::days(30);
        assert_eq!(repeat_repairs(&[a.clone(), c], &rules).len(), 1, "exactly 30 days is within");
        let longer = FollowUpRules { repeat_window_days: 45, ..FollowUpRules::default() };
        assert_eq!(repeat_repairs(&[a, b], &longer).len(), 1);
    }
}
