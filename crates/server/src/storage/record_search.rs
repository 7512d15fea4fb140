//! The SQL of the office's record search, one text for both backends
//! (placeholders and the byte-wise collation differ). Newest first by
//! `server_seq`; each filter has an index ending in `server_seq`
//! (migration 0008), so a page is an index walk from the cursor down.
//!
//! `q` matches a record id by prefix, a work-order id, a device id or a
//! signer's tech id: four branches, each walked and limited on its own
//! and merged, because an `OR` across four indexes would scan.

/// What the office searches records by; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSearch {
    pub q: Option<String>,
    /// A record kind (schema).
    pub kind: Option<String>,
    pub work_order_id: Option<String>,
    pub device_id: Option<String>,
    /// A tech id among the record's technician signatures.
    pub tech_id: Option<String>,
    /// Only records the server flagged.
    pub flagged: bool,
    /// Received at or after (Unix milliseconds).
    pub from_ms: Option<i64>,
    /// Received before (Unix milliseconds).
    pub to_ms: Option<i64>,
    /// Only records with `server_seq` below this (the page cursor).
    pub before_server_seq: Option<u64>,
    pub limit: usize,
}

/// A bound parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Int(i64),
}

/// Which backend the SQL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

struct Builder {
    dialect: Dialect,
    params: Vec<Param>,
}

impl Builder {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.params.len()),
            Dialect::Postgres => format!("${}", self.params.len()),
        }
    }
}

/// `(sql, params)` selecting `columns` of the matching entries, newest first.
pub fn search_sql(search: &RecordSearch, columns: &str, dialect: Dialect) -> (String, Vec<Param>) {
    let mut b = Builder { dialect, params: Vec::new() };
    let limit = i64::try_from(search.limit).unwrap_or(i64::MAX);
    let mut common = Vec::new();
    if let Some(kind) = &search.kind {
        common.push(format!("e.schema = {}", b.bind(Param::Text(kind.clone()))));
    }
    if let Some(id) = &search.work_order_id {
        common.push(format!("e.work_order_id = {}", b.bind(Param::Text(id.clone()))));
    }
    if let Some(id) = &search.device_id {
        common.push(format!("e.device_id = {}", b.bind(Param::Text(id.clone()))));
    }
    if let Some(id) = &search.tech_id {
        let p = b.bind(Param::Text(id.clone()));
        common.push(format!("e.server_seq IN (SELECT server_seq FROM entry_signer WHERE tech_id = {p})"));
    }
    if search.flagged {
        // The same predicate as the partial index entry_flagged_seq.
        common.push("e.flags <> '[]'".to_owned());
    }
    if let Some(ms) = search.from_ms {
        common.push(format!("e.received_at_ms >= {}", b.bind(Param::Int(ms))));
    }
    if let Some(ms) = search.to_ms {
        common.push(format!("e.received_at_ms < {}", b.bind(Param::Int(ms))));
    }
    if let Some(seq) = search.before_server_seq {
        common.push(format!("e.server_seq < {}", b.bind(Param::Int(i64::try_from(seq).unwrap_or(i64::MAX)))));
    }
    let branches: Vec<String> = match &search.q {
        None => vec!["1 = 1".to_owned()],
        Some(q) => {
            let collate = match dialect {
                Dialect::Sqlite => "",
                Dialect::Postgres => " COLLATE \"C\"",
            };
            let low = b.bind(Param::Text(q.clone()));
            // Every id starting with q sorts below q followed by the highest code point.
            let high = b.bind(Param::Text(format!("{q}\u{10FFFF}")));
            let wo = b.bind(Param::Text(q.clone()));
            let dev = b.bind(Param::Text(q.clone()));
            let tech = b.bind(Param::Text(q.clone()));
            vec![
                format!("e.record_id{collate} >= {low} AND e.record_id{collate} < {high}"),
                format!("e.work_order_id = {wo}"),
                format!("e.device_id = {dev}"),
                format!("e.server_seq IN (SELECT server_seq FROM entry_signer WHERE tech_id = {tech})"),
            ]
        }
    };
    let lim = b.bind(Param::Int(limit));
    let selects: Vec<String> = branches
        .iter()
        .enumerate()
        .map(|(i, branch)| {
            let mut conds = vec![branch.clone()];
            conds.extend(common.iter().cloned());
            format!(
                "SELECT server_seq FROM (SELECT e.server_seq FROM entry e WHERE {} \
                 ORDER BY e.server_seq DESC LIMIT {lim}) AS b{i}",
                conds.join(" AND ")
            )
        })
        .collect();
    let sql = format!(
        "SELECT {columns} FROM entry WHERE server_seq IN ({}) ORDER BY server_seq DESC LIMIT {lim}",
        selects.join(" UNION ")
    );
    (sql, b.params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_dialect_and_params_their_order() {
        let s = RecordSearch { kind: Some("k".into()), flagged: true, limit: 10, ..Default::default() };
        let (sql, params) = search_sql(&s, "record_id", Dialect::Postgres);
        assert!(sql.contains("e.schema = $1"), "{sql}");
        assert!(sql.contains("LIMIT $2"), "{sql}");
        assert_eq!(params, vec![Param::Text("k".into()), Param::Int(10)]);
        let (sql, _) = search_sql(&s, "record_id", Dialect::Sqlite);
        assert!(sql.contains("e.schema = ?1") && sql.contains("e.flags <> '[]'"), "{sql}");
    }

    #[test]
    fn q_searches_four_ways() {
        let s = RecordSearch { q: Some("ab".into()), limit: 5, ..Default::default() };
        let (sql, params) = search_sql(&s, "record_id", Dialect::Sqlite);
        assert_eq!(sql.matches("UNION").count(), 3, "{sql}");
        assert_eq!(params.len(), 6);
    }
}
