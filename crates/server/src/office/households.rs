//! Non-compliant days and the fee, per household and per community
//! (`hearth_domain::fee`): what a manager and the billing office need from
//! the temperature tests the server counted (judged by the server, answered
//! by the customer, unflagged or accepted by a reviewer).
//!
//! - `GET /v1/office/households[?community=]`: each household (address)
//!   with a counted test, its heating seasons (first non-compliant test,
//!   every test, back to standard, stretches, non-compliant days, days that
//!   earn the fee reduction and its percentage) and the tests that fell
//!   outside any heating season (flagged, never counted).
//! - `GET /v1/office/communities`: per community, the households measured,
//!   those found non-compliant, and the days.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use hearth_domain::{Address, CountedTest, SeasonAccount, household_seasons};
use hearth_protocol::api::ErrorBody;
use serde::Serialize;

use super::compute::{self, ms_to_utc};
use super::decisions::Operator;
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

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HouseholdQuery {
    community: Option<String>,
}

#[utoipa::path(get, path = "/v1/office/households", tag = "office", summary = "Non-compliant days and the fee per household and heating season", security(("operator_token" = [])), params(("community" = Option<String>, Query)), responses((status = 200, body = Vec<Household>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn households_h(
    State(state): State<AppState>,
    _office: Operator,
    Query(q): Query<HouseholdQuery>,
) -> ApiResult<Json<Vec<Household>>> {
    Ok(Json(households(&state, q.community.as_deref()).await?))
}

#[utoipa::path(get, path = "/v1/office/communities", tag = "office", summary = "Households measured, found non-compliant, and the days, per community", security(("operator_token" = [])), responses((status = 200, body = Vec<Community>), (status = 401, body = ErrorBody)))]
async fn communities_h(State(state): State<AppState>, _office: Operator) -> ApiResult<Json<Vec<Community>>> {
    Ok(Json(communities(&state).await?))
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(households_h, communities_h), components(schemas(Household, Community)))]
pub struct HouseholdsDoc;
