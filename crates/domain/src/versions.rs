//! Corrections (protocol §6): a record never changes; a correction is a new
//! record naming the original in `supersedes`. Which version of a record is
//! the current one is decided here, once, for the office, the households'
//! accounts and the public verification page.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

/// One record's place in supersession: which record it corrects (only when
/// the correction names the original's exact content hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLink<'a> {
    pub record_id: &'a str,
    pub supersedes: Option<&'a str>,
    /// The order the server received it in: the later of two corrections wins.
    pub server_seq: u64,
}

/// Where a record stands among its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// Records that name this one in `supersedes` (corrections and voids),
    /// in the order the server received them.
    pub superseded_by: Vec<String>,
    /// The newest version of this record: itself when nothing supersedes
    /// it; otherwise the end of the chain of corrections (when two records
    /// correct the same one, the one the server received last wins).
    pub latest_version: String,
    /// Whether this record is the latest version of itself.
    pub latest: bool,
}

/// Every record's versions. A correction of a record not among `records`
/// changes nothing; a cycle of corrections does not hang.
pub fn versions(records: &[RecordLink<'_>]) -> HashMap<String, Versions> {
    let seq_of: HashMap<&str, u64> = records.iter().map(|r| (r.record_id, r.server_seq)).collect();
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in records {
        if let Some(parent) = r.supersedes
            && parent != r.record_id
            && seq_of.contains_key(parent)
        {
            children.entry(parent).or_default().push(r.record_id);
        }
    }
    for kids in children.values_mut() {
        kids.sort_by_key(|k| seq_of.get(k).copied().unwrap_or(0));
    }
    let mut out = HashMap::new();
    for r in records {
        let superseded_by: Vec<String> = children
            .get(r.record_id)
            .map(|k| k.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        let mut current = r.record_id;
        let mut seen = HashSet::from([current]);
        while let Some(next) = children.get(current).and_then(|k| k.last()).copied() {
            if !seen.insert(next) {
                break;
            }
            current = next;
        }
        out.insert(
            r.record_id.to_owned(),
            Versions { latest: superseded_by.is_empty(), superseded_by, latest_version: current.to_owned() },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_corrections_to_the_newest() {
        let links = [
            RecordLink { record_id: "a", supersedes: None, server_seq: 1 },
            RecordLink { record_id: "b", supersedes: Some("a"), server_seq: 2 },
            RecordLink { record_id: "c", supersedes: Some("b"), server_seq: 3 },
            RecordLink { record_id: "x", supersedes: None, server_seq: 4 },
            RecordLink { record_id: "y", supersedes: Some("unknown"), server_seq: 5 },
        ];
        let v = versions(&links);
        assert_eq!(v["a"].superseded_by, vec!["b".to_owned()]);
        assert_eq!(v["a"].latest_version, "c");
        assert!(!v["a"].latest && !v["b"].latest);
        assert!(v["c"].latest);
        assert_eq!(v["c"].latest_version, "c");
        assert!(v["x"].latest);
        assert!(v["y"].latest, "a correction of a record not here changes nothing");
    }

    #[test]
    fn when_two_records_correct_one_the_last_received_is_the_latest() {
        let links = [
            RecordLink { record_id: "a", supersedes: None, server_seq: 1 },
            RecordLink { record_id: "late", supersedes: Some("a"), server_seq: 9 },
            RecordLink { record_id: "early", supersedes: Some("a"), server_seq: 5 },
        ];
        let v = versions(&links);
        assert_eq!(v["a"].latest_version, "late");
        assert_eq!(v["a"].superseded_by, vec!["early".to_owned(), "late".to_owned()]);
    }

    #[test]
    fn a_cycle_of_corrections_does_not_hang() {
        let links = [
            RecordLink { record_id: "a", supersedes: Some("b"), server_seq: 1 },
            RecordLink { record_id: "b", supersedes: Some("a"), server_seq: 2 },
        ];
        let v = versions(&links);
        assert!(!v["a"].latest && !v["b"].latest);
    }
}
