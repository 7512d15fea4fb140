//! Non-compliant days and the fee, per household and per community
//! (`hearth_domain::fee`): what a manager and the billing office need from
//! the temperature tests the server counted (judged by the server, answered
//! by the customer, unflagged or accepted by a reviewer).
//!
//! - `GET /v1/office/households[?community=&q=&limit=&cursor=]`: by
//!   address, a page at a time (`paging`); each household (address)
//!   with a counted test, its heating seasons (first non-compliant test,
//!   every test, back to standard, stretches, non-compliant days, days that
//!   earn the fee reduction and its percentage) and the tests that fell
//!   outside any heating season (flagged, never counted).
//! - `GET /v1/office/communities`: per community, the households measured,
//!   those found non-compliant, and the days.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use hearth_domain::{Address, CountedTest, SeasonAccount, household_seasons};
use hearth_protocol::api::ErrorBody;
use serde::Serialize;

use super::compute::{self, ms_to_utc};
use super::decisions::Operator;
use super::input;
use super::paging::{self, PageRequest, SortKey};
use super::views::temperature_tests;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/office/households", get(households_h))
        .route("/v1/office/communities", get(communities_h))
}

/// One household's temperature history and what it costs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Household {
    #[schema(value_type = Object)]
    pub address: Address,
    /// Every work order whose counted tests are in the history.
    pub work_orders: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub seasons: Vec<SeasonAccount>,
    /// Counted tests outside any heating season: flagged, not counted.
    pub outside_heating_season: Vec<String>,
}

/// A community's totals.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Community {
    pub community: String,
    pub households_measured: u32,
    pub households_non_compliant: u32,
    pub non_compliant_days: u32,
    pub reduced_days: u32,
}

/// Every household with a counted test, by address, each season's account.
pub async fn households(state: &AppState, community: Option<&str>) -> ApiResult<Vec<Household>> {
    let rules = crate::rules::rule_set(state).await?;
    let today = compute::local_date(ms_to_utc(state.now_ms()));
    let tests = temperature_tests(state, None).await?.tests;
    let mut by_home: BTreeMap<String, (Address, Vec<String>, Vec<CountedTest>)> = BTreeMap::new();
    for t in tests.iter().filter(|t| t.counts) {
        if community.is_some_and(|c| t.address.community.as_str() != c) {
            continue;
        }
        let Some(c) = t.counted() else { continue };
        let home = by_home.entry(t.address.key()).or_insert_with(|| (t.address.clone(), vec![], vec![]));
        if !home.1.contains(&t.work_order_id) {
            home.1.push(t.work_order_id.clone());
        }
        home.2.push(c);
    }
    Ok(by_home
        .into_values()
        .map(|(address, work_orders, tests)| Household {
            address,
            work_orders,
            seasons: household_seasons(&tests, today, rules.fee()),
            outside_heating_season: hearth_domain::outside_season(&tests, rules.fee())
                .into_iter()
                .map(|t| t.record_id.clone())
                .collect(),
        })
        .collect())
}

/// Per community: households measured and found non-compliant, days.
pub async fn communities(state: &AppState) -> ApiResult<Vec<Community>> {
    let mut out: BTreeMap<String, Community> = BTreeMap::new();
    for h in households(state, None).await? {
        let c = out.entry(h.address.community.as_str().to_owned()).or_insert_with(|| Community {
            community: h.address.community.as_str().to_owned(),
            ..Community::default()
        });
        c.households_measured += 1;
        let days: u32 = h.seasons.iter().map(|s| s.non_compliant_days).sum();
        if h.seasons.iter().any(|s| s.first_non_compliant.is_some()) {
            c.households_non_compliant += 1;
        }
        c.non_compliant_days += days;
        c.reduced_days += h.seasons.iter().map(|s| s.reduced_days).sum::<u32>();
    }
    Ok(out.into_values().collect())
}

impl Household {
    /// The list's order: by address (one household per address, so unique).
    fn sort_key(&self) -> SortKey {
        SortKey::new(0, 0, &self.address.key())
    }

    /// Whether `q` (lower-cased) is in a part of the address or a work order id.
    fn matches(&self, q: &str) -> bool {
        let a = &self.address;
        [a.community.as_str(), a.building.as_str(), a.unit.as_str(), a.room.as_str()]
            .into_iter()
            .chain(self.work_orders.iter().map(String::as_str))
            .any(|f| f.to_lowercase().contains(q))
    }
}

#[utoipa::path(get, path = "/v1/office/households", tag = "office", summary = "Non-compliant days and the fee per household and heating season, a page at a time",
    description = "By address. Pages of `limit`; a `Link: <…>; rel=\"next\"` header names the next page (absent on the last).",
    security(("operator_token" = [])),
    params(
        ("community" = Option<String>, Query, description = "one community's households"),
        ("q" = Option<String>, Query, description = "search, case-insensitive: community, building, unit, room, work-order id"),
        ("limit" = Option<u32>, Query, description = "page size, 1 to 200 (default 50)", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "opaque: the next page, from the Link header"),
    ),
    responses(
        (status = 200, body = Vec<Household>, headers(("Link" = String, description = "RFC 8288 `<url>; rel=\"next\"`: the next page, when there is one"))),
        (status = 400, body = ErrorBody, description = "bad_field naming the parameter"),
        (status = 401, body = ErrorBody),
    ))]
async fn households_h(
    State(state): State<AppState>,
    _office: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    super::only(&query, &["community", "q", "limit", "cursor"])?;
    let community = query.get("community").map(String::as_str);
    let q = input::optional_text("q", query.get("q").map(String::as_str), input::MAX_SHORT_TEXT, false)?
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    let page = PageRequest::parse(&query)?;
    let mut homes = households(&state, community).await?;
    if let Some(q) = &q {
        homes.retain(|h| h.matches(q));
    }
    let (items, next) = page.page(homes, Household::sort_key);
    Ok(paging::respond("/v1/office/households", &query, &items, next.as_deref()))
}

#[utoipa::path(get, path = "/v1/office/communities", tag = "office", summary = "Households measured, found non-compliant, and the days, per community", security(("operator_token" = [])), responses((status = 200, body = Vec<Community>), (status = 401, body = ErrorBody)))]
async fn communities_h(State(state): State<AppState>, _office: Operator) -> ApiResult<Json<Vec<Community>>> {
    Ok(Json(communities(&state).await?))
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(households_h, communities_h), components(schemas(Household, Community)))]
pub struct HouseholdsDoc;
