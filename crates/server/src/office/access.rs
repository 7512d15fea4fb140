//! Who may call what: the one table of office roles per endpoint.
//!
//! Every office endpoint (and the operator endpoints outside `/v1/office`:
//! a record's envelope, a blob's bytes) is listed here by method and route
//! template, with the roles that may call it. `admin` may call everything,
//! and an operator token (scripts, the CLI, machines) counts as `admin`.
//! An endpoint missing from the table is open to `admin` alone, so a new
//! route is closed until it is listed. The office extractors
//! (`auth::OperatorAuth`, `decisions::Operator`) consult [`allowed`] with
//! the request's method and matched route on every request; a wrong role
//! answers `403 forbidden_role` naming the roles needed.
//!
//! `docs/operations.md` ("Operator accounts and roles") shows this table.

use axum::http::Method;

/// An operator's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Dispatcher,
    CustomerService,
    Reviewer,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] =
        [Role::Dispatcher, Role::CustomerService, Role::Reviewer, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dispatcher => "dispatcher",
            Role::CustomerService => "customer_service",
            Role::Reviewer => "reviewer",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

use Role::{CustomerService as CS, Dispatcher as D, Manager as M, Reviewer as R};

/// Every role: reads of work orders are open to all.
const EVERYONE: &[Role] = &[D, CS, R, M];
const ADMIN_ONLY: &[Role] = &[];

/// `(method, route template, roles besides admin)`.
pub const TABLE: &[(&str, &str, &[Role])] = &[
    // Work orders: dispatch writes, everyone reads.
    ("GET", "/v1/office/work-orders", EVERYONE),
    ("GET", "/v1/office/work-orders/{id}", EVERYONE),
    ("POST", "/v1/office/work-orders", &[D]),
    ("POST", "/v1/office/work-orders/{id}/assign", &[D]),
    ("POST", "/v1/office/work-orders/{id}/reschedule", &[D]),
    ("POST", "/v1/office/work-orders/{id}/cancel", &[D]),
    ("POST", "/v1/office/work-orders/{id}/confirm", &[D]),
    ("POST", "/v1/office/work-orders/{id}/reject", &[D]),
    ("POST", "/v1/office/work-orders/{id}/milestones", &[D]),
    // Follow-up calls (回访) and complaints: customer service records the
    // calls; the queue is a list of work orders, which dispatch sees too.
    ("GET", "/v1/office/follow-ups", &[CS, D]),
    ("POST", "/v1/office/work-orders/{id}/follow-up", &[CS]),
    ("GET", "/v1/office/complaints", &[CS, M]),
    // Review of flagged records and the records themselves.
    ("GET", "/v1/office/review-queue", &[R]),
    ("POST", "/v1/office/records/{record_id}/review", &[R]),
    ("GET", "/v1/office/records/{record_id}/reviews", &[R, M]),
    ("GET", "/v1/records/{record_id}", &[R]),
    ("GET", "/v1/blobs/{sha256}", &[R, M]),
    // Reports: managers.
    ("GET", "/v1/office/reports", &[M]),
    ("GET", "/v1/office/households", &[M]),
    ("GET", "/v1/office/communities", &[M]),
    ("GET", "/v1/office/temperature-tests", &[M, R]),
    ("GET", "/v1/office/repeat-repairs", &[M]),
    // Configuration: read by whoever needs it, written by admins.
    ("GET", "/v1/office/technicians", &[D, M]),
    ("POST", "/v1/office/technicians", ADMIN_ONLY),
    ("GET", "/v1/office/thermometers", &[M]),
    ("POST", "/v1/office/thermometers", ADMIN_ONLY),
    ("GET", "/v1/office/rule-set", EVERYONE),
    ("PUT", "/v1/office/rule-set", ADMIN_ONLY),
    ("GET", "/v1/office/rule-set/versions", &[M]),
    // The audit log.
    ("GET", "/v1/office/audit", ADMIN_ONLY),
    // Administration (setup.rs): technicians, tablets, thermometers, revocation, accounts.
    ("GET", "/v1/office/setup/technicians", ADMIN_ONLY),
    ("POST", "/v1/office/setup/technicians/{tech_id}/enrolment-code", ADMIN_ONLY),
    ("POST", "/v1/office/setup/technician-keys/{kid}/revoke", ADMIN_ONLY),
    ("GET", "/v1/office/setup/tablets", ADMIN_ONLY),
    ("POST", "/v1/office/setup/tablets/enrolment-code", ADMIN_ONLY),
    ("POST", "/v1/office/setup/tablets/{device_id}/revoke", ADMIN_ONLY),
    ("GET", "/v1/office/setup/thermometers", ADMIN_ONLY),
    ("GET", "/v1/office/setup/accounts", ADMIN_ONLY),
    ("POST", "/v1/office/setup/accounts", ADMIN_ONLY),
    ("POST", "/v1/office/setup/accounts/{username}/disable", ADMIN_ONLY),
    ("POST", "/v1/office/setup/accounts/{username}/enable", ADMIN_ONLY),
    // Record search and the record view (records.rs).
    ("GET", "/v1/office/records", &[R, M]),
    ("GET", "/v1/office/records/{record_id}/view", &[R, M]),
    ("GET", "/v1/office/blobs/{sha256}/thumbnail", &[R, M]),
    ("GET", "/v1/office/work-orders/{id}/copy.pdf", &[D, CS, R, M]),
    // Reports (reports.rs).
    // Complaints and the board's extras (complaints.rs).
    ("POST", "/v1/office/complaints/{id}/answer", &[CS]),
    ("GET", "/v1/office/call-window", &[CS, D]),
    ("GET", "/v1/office/events", EVERYONE),
];

/// The roles besides `admin` that may call `method route`; none (admin
/// only) for a route not in the table.
pub fn allowed(method: &Method, route: &str) -> &'static [Role] {
    TABLE
        .iter()
        .find(|(m, r, _)| *m == method.as_str() && *r == route)
        .map_or(ADMIN_ONLY, |(_, _, roles)| roles)
}

/// The role of `held` that allows `method route`, if any (`admin` last).
pub fn permits(held: &[Role], method: &Method, route: &str) -> Option<Role> {
    let needed = allowed(method, route);
    held.iter()
        .copied()
        .find(|r| needed.contains(r))
        .or_else(|| held.contains(&Role::Admin).then_some(Role::Admin))
}

/// The roles that may call `method route`, for the 403 message: "dispatcher or admin".
pub fn needed_text(method: &Method, route: &str) -> String {
    let mut names: Vec<&str> = allowed(method, route).iter().map(|r| r.as_str()).collect();
    names.push(Role::Admin.as_str());
    names.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_do_everything_and_unknown_routes_are_admin_only() {
        assert_eq!(permits(&[Role::Admin], &Method::PUT, "/v1/office/rule-set"), Some(Role::Admin));
        assert_eq!(permits(&[Role::Manager], &Method::POST, "/v1/office/new-thing"), None);
        assert_eq!(permits(&[Role::Admin], &Method::POST, "/v1/office/new-thing"), Some(Role::Admin));
    }

    #[test]
    fn roles_get_their_endpoints_and_no_others() {
        let post = Method::POST;
        assert_eq!(permits(&[Role::Dispatcher], &post, "/v1/office/work-orders"), Some(Role::Dispatcher));
        assert_eq!(permits(&[Role::Manager], &post, "/v1/office/work-orders"), None);
        assert_eq!(
            permits(&[Role::Manager, Role::Reviewer], &post, "/v1/office/records/{record_id}/review"),
            Some(Role::Reviewer)
        );
        assert_eq!(needed_text(&post, "/v1/office/work-orders/{id}/follow-up"), "customer_service or admin");
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
