//! One paging convention for the office's lists (issue 15), as the board
//! and the record search answer: `limit` (1 to 200, default 50) and an
//! opaque `cursor`; the body stays a JSON array and the next page is named
//! by an RFC 8288 `Link: </v1/office/…?…&cursor=…>; rel="next"` header,
//! absent on the last page.
//!
//! Lists the server computes in memory (the follow-up queue, the review
//! queue, the households) are sorted by a total key — numbers, then an id
//! as the tie-breaker — and a page is the items strictly after the
//! cursor's key: an item is never shown twice nor skipped, however many
//! share the same numbers.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::input::bad_field;
use crate::error::ApiResult;

/// Items on a page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// Where an item stands in its list: compared by `rank`, then by `id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    pub rank: [i64; 2],
    pub id: String,
}

impl SortKey {
    pub fn new(first: i64, second: i64, id: &str) -> Self {
        Self { rank: [first, second], id: id.to_owned() }
    }

    /// The opaque cursor: base64url (no padding) of `<first>:<second>:<id>`.
    pub fn cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", self.rank[0], self.rank[1], self.id))
    }

    fn from_cursor(text: &str) -> Option<Self> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let mut parts = text.splitn(3, ':');
        let first = parts.next()?.parse().ok()?;
        let second = parts.next()?.parse().ok()?;
        let id = parts.next().filter(|id| !id.is_empty())?;
        Some(Self::new(first, second, id))
    }
}

/// `limit` and `cursor` as a list's query gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<SortKey>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, after: None }
    }
}

impl PageRequest {
    /// Reads `limit` and `cursor`; a bad one is a `400 bad_field` naming it.
    pub fn parse(query: &HashMap<String, String>) -> ApiResult<Self> {
        Ok(Self {
            limit: parse_limit(query)?,
            after: query.get("cursor").map(|c| parse_cursor(c)).transpose()?,
        })
    }

    /// The page of `items` after the cursor, sorted by `key`, and the cursor
    /// of the next page when more follow.
    pub fn page<T>(&self, items: Vec<T>, key: impl Fn(&T) -> SortKey) -> (Vec<T>, Option<String>) {
        let mut keyed: Vec<(SortKey, T)> = items
            .into_iter()
            .map(|item| (key(&item), item))
            .filter(|(k, _)| self.after.as_ref().is_none_or(|after| k > after))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let more = keyed.len() > self.limit;
        keyed.truncate(self.limit);
        let next = if more { keyed.last().map(|(k, _)| k.cursor()) } else { None };
        (keyed.into_iter().map(|(_, item)| item).collect(), next)
    }
}

/// `limit`: absent means the default; anything but 1 to 200 is refused.
pub fn parse_limit(query: &HashMap<String, String>) -> ApiResult<usize> {
    match query.get("limit").map(|l| l.trim()) {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad_field("limit", &format!("must be a whole number from 1 to {MAX_LIMIT}"))),
    }
}

fn parse_cursor(text: &str) -> ApiResult<SortKey> {
    SortKey::from_cursor(text.trim())
        .ok_or_else(|| bad_field("cursor", "is not a cursor this list gave (take it from the Link header)"))
}

/// A query value as a URL carries it: unreserved characters as they are, every other byte %XX.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Link` header value naming the page after this one: the same
/// parameters (sorted, so the link is stable) with `cursor` replaced.
pub fn next_link(path: &str, query: &HashMap<String, String>, cursor: &str) -> String {
    let mut pairs: Vec<(&String, &String)> = query.iter().filter(|(k, _)| k.as_str() != "cursor").collect();
    pairs.sort();
    let mut parts: Vec<String> =
        pairs.into_iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
    parts.push(format!("cursor={}", percent_encode(cursor)));
    format!("<{path}?{}>; rel=\"next\"", parts.join("&"))
}

/// A JSON array answer with the `Link` header of the next page, if any.
pub fn respond<T: Serialize>(
    path: &str,
    query: &HashMap<String, String>,
    items: &[T],
    next: Option<&str>,
) -> Response {
    let mut response = Json(items).into_response();
    if let Some(cursor) = next
        && let Ok(link) = HeaderValue::from_str(&next_link(path, query, cursor))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused_naming_the_field() {
        let key = SortKey::new(-5, 1_700_000_000_000, "WO:1 工单");
        assert_eq!(SortKey::from_cursor(&key.cursor()), Some(key));
        for bad in ["", "x", "!!!", &URL_SAFE_NO_PAD.encode("1:2:"), &URL_SAFE_NO_PAD.encode("a:2:id")] {
            let err = PageRequest::parse(&q(&[("cursor", bad)])).unwrap_err();
            assert!(format!("{err:?}").contains("cursor"), "{bad:?}: {err:?}");
        }
        for bad in ["0", "201", "-1", "ten"] {
            let err = PageRequest::parse(&q(&[("limit", bad)])).unwrap_err();
            assert!(format!("{err:?}").contains("limit"), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn pages_cover_every_item_once_even_when_all_ranks_tie() {
        let items: Vec<u32> = (0..23).collect();
        let key = |n: &u32| SortKey::new(7, 7, &format!("id-{n:02}"));
        let mut seen = Vec::new();
        let mut request = PageRequest { limit: 5, after: None };
        loop {
            let (page, next) = request.page(items.clone(), key);
            assert!(page.len() <= 5);
            seen.extend(page);
            match next {
                Some(c) => request.after = Some(parse_cursor(&c).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, items, "every item once, in order");
    }

    #[test]
    fn the_next_link_keeps_the_parameters_and_replaces_the_cursor() {
        let link = next_link(
            "/v1/office/follow-ups",
            &q(&[("q", "幸福 3"), ("cursor", "old"), ("limit", "2")]),
            "new",
        );
        assert_eq!(link, "</v1/office/follow-ups?limit=2&q=%E5%B9%B8%E7%A6%8F%203&cursor=new>; rel=\"next\"");
    }
}
