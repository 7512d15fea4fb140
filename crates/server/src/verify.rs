//! The public verification page: anyone holding the customer's paper copy
//! checks it against the server, no login (issue 15).
//!
//! - `GET /verify` shows a form: the record id and the content hash, or the
//!   whole text of the copy's QR code (`hearth:copy:v1:<record_id>:<hash>`).
//! - `GET /verify?record=<id>&hash=<hex64>` or `GET /verify?code=<QR text>`
//!   shows the verdict: whether the record is on file; whether the paper
//!   copy matches it (the content hash recomputed from the stored
//!   envelope with hearth-protocol, not a column compared); whether its
//!   signatures verify (device and technicians, re-checked as ingest checks
//!   them); whether a later record corrects or voids it (the office's
//!   `versions_of`); and, only when the copy matches, what kind of record it
//!   is, its work order, its date (company time, UTC+8) and the customer's
//!   data **masked** (张**, 138****5678, community and building only).
//! - `GET /v1/verify?record=&hash=` (or `code=`) answers the same as JSON
//!   ([`VerifyAnswer`]); bad input is `400 {"error", "message"}`.
//! - `GET /verify.css` is the page's only style sheet. The page carries no
//!   script, and its Content-Security-Policy allows none.
//!
//! zh-CN first (`?lang=en` for English, a link switches). Every word a
//! person reads is in the tables [`ZH`] and [`EN`]; the markup code holds
//! none, and every value written into the HTML is escaped.
//!
//! Each lookup (a request that carries `record`, `hash` or `code`) takes a
//! token from a per-address bucket (the limits of `limits::per_address`,
//! in a bucket of its own): an empty one answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use hearth_domain::Customer;
use hearth_domain::time::{bracket, company_offset, ms_to_utc};
use hearth_protocol::api::ErrorBody;
use hearth_protocol::{Digest, schema};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::office::views::{record_facts, versions_of};
use crate::orders::work_order_body;
use crate::state::AppState;
use crate::storage::{SnapshotKind, StoredEntry};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/verify", get(page))
        .route("/verify.css", get(stylesheet))
        .route("/v1/verify", get(verify_json))
}

/// The operations of this module, for `/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <VerifyDoc as utoipa::OpenApi>::openapi()
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(verify_json), components(schemas(VerifyAnswer, MaskedData)))]
struct VerifyDoc;

// ---------------------------------------------------------------- words

/// Every word the page and the JSON messages show, one table per language.
/// `{n}` in a message is replaced by a number.
#[derive(Debug)]
struct Text {
    html_lang: &'static str,
    /// The `lang` value of this language, and of the other one.
    code: &'static str,
    other_code: &'static str,
    other_name: &'static str,
    title: &'static str,
    intro: &'static str,
    form_parts: &'static str,
    label_record: &'static str,
    label_hash: &'static str,
    form_code: &'static str,
    label_code: &'static str,
    submit: &'static str,
    privacy: &'static str,
    headline_ok: &'static str,
    headline_corrected: &'static str,
    headline_differs: &'static str,
    headline_unknown: &'static str,
    headline_damaged: &'static str,
    headline_unsigned: &'static str,
    on_file_yes: &'static str,
    on_file_no: &'static str,
    unaltered_yes: &'static str,
    unaltered_no: &'static str,
    damaged: &'static str,
    signatures_yes: &'static str,
    signatures_no: &'static str,
    not_corrected: &'static str,
    corrected: &'static str,
    voided: &'static str,
    contact: &'static str,
    field_record: &'static str,
    field_kind: &'static str,
    field_work_order: &'static str,
    field_date: &'static str,
    field_customer: &'static str,
    field_phone: &'static str,
    field_address: &'static str,
    time_zone: &'static str,
    kind_customer_signoff: &'static str,
    kind_temperature_test: &'static str,
    kind_temperature_reading: &'static str,
    kind_visit_step: &'static str,
    kind_visit_outcome: &'static str,
    kind_work_order_local: &'static str,
    kind_void: &'static str,
    kind_late_notice: &'static str,
    kind_order_accepted: &'static str,
    kind_other: &'static str,
    error_title: &'static str,
    err_missing: &'static str,
    err_record_missing: &'static str,
    err_hash_missing: &'static str,
    err_bad_record: &'static str,
    err_hash_length: &'static str,
    err_hash_chars: &'static str,
    err_bad_code: &'static str,
    err_both: &'static str,
    err_too_long: &'static str,
    err_parameter: &'static str,
    err_rate_limited: &'static str,
}

const ZH: Text = Text {
    html_lang: "zh-CN",
    code: "zh",
    other_code: "en",
    other_name: "English",
    title: "核验纸质副本",
    intro: "输入纸质副本上的记录编号和内容哈希，或粘贴副本二维码的内容，即可核对这份副本与公司存档的记录是否一致。",
    form_parts: "记录编号和内容哈希",
    label_record: "记录编号",
    label_hash: "内容哈希（64 个字符）",
    form_code: "或：二维码内容",
    label_code: "二维码内容（扫出的网址，或以 hearth:copy:v1: 开头的文字）",
    submit: "核验",
    privacy: "本页只显示遮盖后的个人信息，不显示完整姓名、电话、门牌号、签名或照片。",
    headline_ok: "这份纸质副本与存档记录一致。",
    headline_corrected: "这份纸质副本与存档记录一致，但该记录此后已被更正或作废。",
    headline_differs: "不一致：纸质副本与存档记录不同。",
    headline_unknown: "未找到这条记录。",
    headline_damaged: "存档记录未能通过校验。",
    headline_unsigned: "这份纸质副本与存档记录一致，但记录的签名未通过核验。",
    on_file_yes: "已存档：公司服务器上有这条记录。",
    on_file_no: "未存档：服务器上没有这个编号的记录。请核对记录编号。",
    unaltered_yes: "未被改动：纸质副本与存档记录一致。",
    unaltered_no: "不一致：纸质副本与存档记录不同。",
    damaged: "存档记录未能通过完整性校验，无法确认纸质副本。",
    signatures_yes: "签名有效：平板和技术人员的签名均核验通过。",
    signatures_no: "签名无效：这条记录的签名未通过核验。",
    not_corrected: "未被更正：此后没有记录更正或作废它。",
    corrected: "已被更正：此后有新记录更正了这条记录，请向公司索取最新版本。",
    voided: "已被作废：此后有新记录作废了这条记录。",
    contact: "如有疑问，请拨打供热公司客服电话并提供记录编号。",
    field_record: "记录编号",
    field_kind: "记录类型",
    field_work_order: "工单号",
    field_date: "日期",
    field_customer: "用户",
    field_phone: "电话",
    field_address: "地址",
    time_zone: "（北京时间）",
    kind_customer_signoff: "客户签收",
    kind_temperature_test: "室温检测报告",
    kind_temperature_reading: "室温读数",
    kind_visit_step: "上门服务步骤",
    kind_visit_outcome: "上门服务结果",
    kind_work_order_local: "现场开单",
    kind_void: "作废记录",
    kind_late_notice: "迟到告知",
    kind_order_accepted: "接单",
    kind_other: "其他记录",
    error_title: "输入有误",
    err_missing: "请填写记录编号和内容哈希，或粘贴二维码内容。",
    err_record_missing: "请填写记录编号。",
    err_hash_missing: "请填写内容哈希。",
    err_bad_record: "记录编号格式不对：应为 36 个字符，形如 0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e。",
    err_hash_length: "内容哈希长度不对：应为 64 个字符，这里是 {n} 个。",
    err_hash_chars: "内容哈希含有无效字符：只能是数字 0–9 和字母 a–f。",
    err_bad_code: "二维码内容不对：应是本页的核验网址（含 record 和 hash），或以 hearth:copy:v1: 开头，后接记录编号、冒号和内容哈希。",
    err_both: "请只用一种方式：填写记录编号和内容哈希，或粘贴二维码内容。",
    err_too_long: "输入过长：请只填写记录编号、内容哈希或二维码内容。",
    err_parameter: "参数不对：只接受 record、hash、code 和 lang。",
    err_rate_limited: "查询过于频繁，请 {n} 秒后再试。",
};

const EN: Text = Text {
    html_lang: "en",
    code: "en",
    other_code: "zh",
    other_name: "中文",
    title: "Check a paper copy",
    intro: "Enter the record id and the content hash printed on your paper copy, or paste the text of its QR code, to check the copy against the record the company keeps on file.",
    form_parts: "Record id and content hash",
    label_record: "Record id",
    label_hash: "Content hash (64 characters)",
    form_code: "Or: the QR code text",
    label_code: "QR code text (the scanned link, or text starting with hearth:copy:v1:)",
    submit: "Check",
    privacy: "This page shows personal data only masked: never a full name, phone number, room, signature or photo.",
    headline_ok: "This paper copy matches the record on file.",
    headline_corrected: "This paper copy matches the record on file, but the record has been corrected or voided since.",
    headline_differs: "Does not match: the paper copy differs from the record on file.",
    headline_unknown: "This record was not found.",
    headline_damaged: "The record on file failed its check.",
    headline_unsigned: "This paper copy matches the record on file, but the record's signatures are not valid.",
    on_file_yes: "On file: the company's server holds this record.",
    on_file_no: "Not on file: the server holds no record with this id. Check the record id.",
    unaltered_yes: "Unaltered: the paper copy matches the record on file.",
    unaltered_no: "Does not match: the paper copy differs from the record on file.",
    damaged: "The record on file failed its integrity check; the paper copy cannot be confirmed.",
    signatures_yes: "Signatures valid: the tablet's and the technicians' signatures check out.",
    signatures_no: "Signatures not valid: the record's signatures do not check out.",
    not_corrected: "Not corrected: no later record corrects or voids it.",
    corrected: "Corrected since: a later record corrects this one; ask the company for the current version.",
    voided: "Voided since: a later record withdraws this one.",
    contact: "Questions? Call the heating company's service line and give the record id.",
    field_record: "Record id",
    field_kind: "Kind of record",
    field_work_order: "Work order",
    field_date: "Date",
    field_customer: "Customer",
    field_phone: "Phone",
    field_address: "Address",
    time_zone: " (UTC+8)",
    kind_customer_signoff: "Customer sign-off",
    kind_temperature_test: "Temperature test report",
    kind_temperature_reading: "Temperature reading",
    kind_visit_step: "Visit step",
    kind_visit_outcome: "Visit outcome",
    kind_work_order_local: "Work order opened on site",
    kind_void: "Void",
    kind_late_notice: "Late-arrival notice",
    kind_order_accepted: "Order accepted",
    kind_other: "Other record",
    error_title: "Please check your input",
    err_missing: "Enter the record id and the content hash, or paste the QR code text.",
    err_record_missing: "Enter the record id.",
    err_hash_missing: "Enter the content hash.",
    err_bad_record: "The record id is malformed: a record id has 36 characters, like 0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e.",
    err_hash_length: "The content hash has the wrong length: a content hash has 64 characters, this one has {n}.",
    err_hash_chars: "The content hash contains invalid characters: only the digits 0-9 and the letters a-f.",
    err_bad_code: "The QR code text is malformed: it is this page's link (with record and hash), or hearth:copy:v1: followed by the record id, a colon and the content hash.",
    err_both: "Use one way only: the record id and the content hash, or the QR code text.",
    err_too_long: "The input is too long: enter only the record id, the content hash or the QR code text.",
    err_parameter: "Unknown parameter: only record, hash, code and lang are taken.",
    err_rate_limited: "Too many checks from your network; try again in {n} seconds.",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn from_query(query: &HashMap<String, String>, default: Lang) -> Lang {
        match query.get("lang").map(|l| l.trim().to_ascii_lowercase()).as_deref() {
            Some("en") => Lang::En,
            Some("zh" | "zh-cn") => Lang::Zh,
            _ => default,
        }
    }

    fn text(self) -> &'static Text {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

impl Text {
    fn kind(&self, schema_name: &str) -> &'static str {
        match schema_name {
            schema::CUSTOMER_SIGNOFF => self.kind_customer_signoff,
            schema::TEMPERATURE_TEST => self.kind_temperature_test,
            schema::TEMPERATURE_READING => self.kind_temperature_reading,
            schema::VISIT_STEP => self.kind_visit_step,
            schema::VISIT_OUTCOME => self.kind_visit_outcome,
            schema::WORK_ORDER_LOCAL => self.kind_work_order_local,
            schema::VOID => self.kind_void,
            schema::LATE_NOTICE => self.kind_late_notice,
            schema::ORDER_ACCEPTED => self.kind_order_accepted,
            _ => self.kind_other,
        }
    }
}

// ---------------------------------------------------------------- input

/// The QR code text on the customer's copy (`hearth_copy::qr_payload`).
const QR_PREFIX: &str = "hearth:copy:v1:";
/// Longer input is refused without being looked at or echoed.
const MAX_INPUT_CHARS: usize = 300;
const LOOKUP_PARAMETERS: [&str; 3] = ["record", "hash", "code"];

/// What is wrong with the input; each names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BadInput {
    Missing,
    RecordMissing,
    HashMissing,
    BadRecord,
    HashLength(usize),
    HashChars,
    BadCode,
    Both,
    TooLong,
    UnknownParameter,
}

impl BadInput {
    fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_input",
            Self::RecordMissing => "missing_record",
            Self::HashMissing => "missing_hash",
            Self::BadRecord => "bad_record_id",
            Self::HashLength(_) | Self::HashChars => "bad_hash",
            Self::BadCode => "bad_code",
            Self::Both => "ambiguous_input",
            Self::TooLong => "input_too_long",
            Self::UnknownParameter => "bad_parameter",
        }
    }

    fn message(&self, t: &Text) -> String {
        match self {
            Self::Missing => t.err_missing.to_owned(),
            Self::RecordMissing => t.err_record_missing.to_owned(),
            Self::HashMissing => t.err_hash_missing.to_owned(),
            Self::BadRecord => t.err_bad_record.to_owned(),
            Self::HashLength(n) => t.err_hash_length.replace("{n}", &n.to_string()),
            Self::HashChars => t.err_hash_chars.to_owned(),
            Self::BadCode => t.err_bad_code.to_owned(),
            Self::Both => t.err_both.to_owned(),
            Self::TooLong => t.err_too_long.to_owned(),
            Self::UnknownParameter => t.err_parameter.to_owned(),
        }
    }
}

/// A well-formed lookup: a UUIDv7 record id and a content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lookup {
    record_id: String,
    hash: Digest,
}

fn given<'a>(query: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Whether the query asks for a verdict (else the page shows the empty form).
fn is_lookup(query: &HashMap<String, String>) -> bool {
    LOOKUP_PARAMETERS.iter().any(|k| query.contains_key(*k))
}

fn record_id(text: &str) -> Result<String, BadInput> {
    let id = text.trim().to_ascii_lowercase();
    if hearth_protocol::seal::is_uuid_v7(&id) { Ok(id) } else { Err(BadInput::BadRecord) }
}

/// A content hash as people type it: spaces and line breaks (the copy
/// prints it in two halves) are dropped, capitals allowed.
fn content_hash(text: &str) -> Result<Digest, BadInput> {
    let hex: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(BadInput::HashChars);
    }
    let n = hex.chars().count();
    if n != 64 {
        return Err(BadInput::HashLength(n));
    }
    hex.parse().map_err(|_| BadInput::HashChars)
}

/// `hearth:copy:v1:<record_id>:<content_hash>`, or the link the copy's QR
/// code holds once the tablet knows its server
/// (`…/verify?record=<record_id>&hash=<content_hash>`), as
/// `hearth_copy::parse_qr_payload` reads them.
fn qr_code(text: &str) -> Result<Lookup, BadInput> {
    let text = text.trim();
    if let Some((_, query)) = text.split_once("/verify?") {
        let param = |name: &str| {
            query.split('&').find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        let (id, hash) = (param("record").ok_or(BadInput::BadCode)?, param("hash").ok_or(BadInput::BadCode)?);
        return Ok(Lookup { record_id: record_id(id)?, hash: content_hash(hash)? });
    }
    let rest = text
        .get(..QR_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(QR_PREFIX))
        .and_then(|_| text.get(QR_PREFIX.len()..))
        .ok_or(BadInput::BadCode)?;
    let (id, hash) = rest.rsplit_once(':').ok_or(BadInput::BadCode)?;
    Ok(Lookup { record_id: record_id(id)?, hash: content_hash(hash)? })
}

fn parse_lookup(query: &HashMap<String, String>) -> Result<Lookup, BadInput> {
    if LOOKUP_PARAMETERS.iter().any(|k| query.get(*k).is_some_and(|v| v.chars().count() > MAX_INPUT_CHARS)) {
        return Err(BadInput::TooLong);
    }
    let (record, hash, code) = (given(query, "record"), given(query, "hash"), given(query, "code"));
    match (record, hash, code) {
        (None, None, None) => Err(BadInput::Missing),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => Err(BadInput::Both),
        (None, None, Some(code)) => qr_code(code),
        (None, Some(_), None) => Err(BadInput::RecordMissing),
        (Some(_), None, None) => Err(BadInput::HashMissing),
        (Some(record), Some(hash), None) => {
            Ok(Lookup { record_id: record_id(record)?, hash: content_hash(hash)? })
        }
    }
}

// ---------------------------------------------------------------- the verdict

/// The customer's data as the page may show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MaskedData {
    /// The family name's first character and `**`, e.g. `张**`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// First three and last four digits, e.g. `138****5678`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Community and building only, e.g. `阳光花园 9号楼`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// What the record is, shown only to someone whose copy matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    schema: String,
    work_order_id: Option<String>,
    /// The record's time, the device's claim bracketed by the server (§8).
    at: DateTime<Utc>,
    masked: Option<MaskedData>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    record_id: String,
    on_file: bool,
    /// The stored envelope decodes and hashes to what the entry says.
    intact: bool,
    unaltered: bool,
    signatures_valid: bool,
    corrected: bool,
    voided: bool,
    superseded_by: Vec<String>,
    details: Option<Details>,
}

impl Verdict {
    fn not_on_file(record_id: &str) -> Self {
        Self {
            record_id: record_id.to_owned(),
            on_file: false,
            intact: false,
            unaltered: false,
            signatures_valid: false,
            corrected: false,
            voided: false,
            superseded_by: vec![],
            details: None,
        }
    }
}

fn mask_name(name: &str) -> Option<String> {
    name.trim().chars().next().map(|first| format!("{first}**"))
}

/// A mobile number keeps its first three and last four digits (a country
/// code in front is dropped: the last 11 digits are the number); a shorter
/// one only its last four (or two).
fn mask_phone(phone: &str) -> Option<String> {
    let all: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let digits = all.get(all.len().saturating_sub(11)..).unwrap_or_default();
    let n = digits.len();
    let tail = |k: usize| digits.get(n.saturating_sub(k)..).unwrap_or_default().iter().collect::<String>();
    match n {
        0 => None,
        11.. => {
            Some(format!("{}****{}", digits.get(..3).unwrap_or_default().iter().collect::<String>(), tail(4)))
        }
        8..=10 => Some(format!("****{}", tail(4))),
        _ => Some(format!("****{}", tail(2))),
    }
}

fn masked(customer: &Customer) -> MaskedData {
    let a = &customer.address;
    MaskedData {
        customer_name: mask_name(customer.name.expose()),
        phone: mask_phone(customer.phone.expose()),
        address: Some(format!("{} {}", a.community.as_str(), a.building.as_str())),
    }
}

/// The verdict on `lookup`, from storage, re-checking everything.
async fn verdict(state: &AppState, lookup: &Lookup) -> ApiResult<Verdict> {
    let Some(stored) = state.storage.entry_by_record_id(&lookup.record_id).await? else {
        return Ok(Verdict::not_on_file(&lookup.record_id));
    };
    let checked = match state.storage.device_keys(&stored.device_id).await? {
        Some(keys) => {
            let directory =
                crate::ingest::directory(state, &keys, std::slice::from_ref(&stored.envelope)).await?;
            crate::ingest::check(&stored.envelope, &directory)
        }
        // A device the server does not know signed nothing it can verify.
        None => crate::ingest::Checked {
            decoded: hearth_protocol::verify::decode_envelope(&stored.envelope),
            signatures: None,
        },
    };
    let decoded = checked.decoded.as_ref().ok().filter(|d| {
        d.content().record_id == stored.record_id
            && d.content.hash().to_hex() == stored.content_hash
            && d.entry_hash.to_hex() == stored.entry_hash
            && d.entry.device_id == stored.device_id
    });
    let Some(decoded) = decoded else {
        tracing::warn!(record_id = %stored.record_id, "a stored record failed its integrity check on the verification page");
        return Ok(Verdict { on_file: true, ..Verdict::not_on_file(&lookup.record_id) });
    };
    // The hash of the content bytes on file, recomputed, against the paper.
    let unaltered = decoded.content.hash() == lookup.hash;
    let signatures_valid =
        matches!(&checked.signatures, Some(Ok(report)) if report.missing_signers.is_empty());
    let content = decoded.content();

    let mut verdict = Verdict {
        record_id: stored.record_id.clone(),
        on_file: true,
        intact: true,
        unaltered,
        signatures_valid,
        corrected: false,
        voided: false,
        superseded_by: vec![],
        details: None,
    };
    let claimed = ms_to_utc(content.created.device_time_ms);
    let mut at = bracket(claimed, None, ms_to_utc(stored.receipt.received_at_ms)).at;
    if let Some(work_order_id) = &stored.work_order_id {
        let facts = record_facts(state, work_order_id).await?;
        let versions = versions_of(&facts);
        if let Some(v) = versions.get(&stored.record_id) {
            verdict.corrected = !v.latest;
            verdict.superseded_by.clone_from(&v.superseded_by);
            verdict.voided = verdict.corrected
                && facts
                    .iter()
                    .any(|f| f.stored.record_id == v.latest_version && f.stored.schema == schema::VOID);
        }
        if let Some(fact) = facts.iter().find(|f| f.stored.record_id == stored.record_id) {
            at = fact.bracket(claimed).at;
        }
    }
    if unaltered {
        verdict.details = Some(Details {
            schema: content.schema.clone(),
            work_order_id: stored.work_order_id.clone(),
            at,
            masked: customer_of(state, &stored).await?.as_ref().map(masked),
        });
    }
    Ok(verdict)
}

/// The customer of the record's work order, as the office holds it.
async fn customer_of(state: &AppState, stored: &StoredEntry) -> ApiResult<Option<Customer>> {
    let Some(id) = &stored.work_order_id else { return Ok(None) };
    let Some(snapshot) = state.storage.snapshot(SnapshotKind::WorkOrder, id).await? else { return Ok(None) };
    Ok(Some(work_order_body(&snapshot)?.order.customer))
}

fn local_time(at: DateTime<Utc>) -> DateTime<chrono::FixedOffset> {
    at.with_timezone(&company_offset())
}

// ---------------------------------------------------------------- limits and headers

/// Takes a token from the client address's verification bucket; `Err(seconds)` when empty.
fn take_token(state: &AppState, peer: Option<SocketAddr>) -> Result<(), u64> {
    let Some(peer) = peer else { return Ok(()) };
    let key = format!("verify:{}", crate::limits::address_key(peer.ip()));
    let limits = state.limits;
    state.rate.take_per_min(&key, state.now_ms(), limits.address_rate_per_min, limits.address_burst)
}

const CSP: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers of every answer of this module.
fn secured(mut response: Response, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    let set: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, cache),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

fn peer_of(peer: Peer) -> Option<SocketAddr> {
    peer.map(|Extension(ConnectInfo(addr))| addr)
}

// ---------------------------------------------------------------- the page

async fn page(
    State(state): State<AppState>,
    peer: Peer,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let lang = Lang::from_query(&query, Lang::Zh);
    let t = lang.text();
    if !is_lookup(&query) {
        return html(StatusCode::OK, render(t, &query, None));
    }
    if let Err(wait) = take_token(&state, peer_of(peer)) {
        let message = t.err_rate_limited.replace("{n}", &wait.to_string());
        return with_retry_after(
            html(StatusCode::TOO_MANY_REQUESTS, render(t, &query, Some(Shown::Error(&message)))),
            wait,
        );
    }
    let lookup = match parse_lookup(&query) {
        Ok(lookup) => lookup,
        Err(bad) => {
            let message = bad.message(t);
            return html(StatusCode::BAD_REQUEST, render(t, &query, Some(Shown::Error(&message))));
        }
    };
    match verdict(&state, &lookup).await {
        Ok(v) => html(StatusCode::OK, render(t, &query, Some(Shown::Verdict(&v)))),
        Err(e) => secured(e.into_response(), "no-store"),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let response =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], body)
            .into_response();
    secured(response, "no-store")
}

async fn stylesheet() -> Response {
    let response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"))], STYLESHEET)
            .into_response();
    secured(response, "public, max-age=3600")
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the page shows above the form.
#[derive(Debug, Clone, Copy)]
enum Shown<'a> {
    Error(&'a str),
    Verdict(&'a Verdict),
}

/// The value the user typed, echoed into the form (never a very long one).
fn echo<'a>(query: &'a HashMap<String, String>, key: &str) -> &'a str {
    query.get(key).map(String::as_str).filter(|v| v.chars().count() <= MAX_INPUT_CHARS).unwrap_or("")
}

fn render(t: &Text, query: &HashMap<String, String>, shown: Option<Shown<'_>>) -> String {
    let mut switch = format!("/verify?lang={}", t.other_code);
    for key in LOOKUP_PARAMETERS {
        let value = echo(query, key);
        if !value.is_empty() {
            switch.push_str(&format!("&{key}={}", url_encode(value)));
        }
    }
    let mut h = String::with_capacity(4096);
    h.push_str(&format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title>\n\
         <link rel=\"stylesheet\" href=\"/verify.css\">\n</head>\n<body>\n",
        esc(t.html_lang),
        esc(t.title)
    ));
    h.push_str(&format!(
        "<header>\n<h1>{}</h1>\n<p class=\"lang\"><a href=\"{}\" hreflang=\"{}\">{}</a></p>\n</header>\n<main>\n",
        esc(t.title),
        esc(&switch),
        esc(t.other_code),
        esc(t.other_name)
    ));
    match shown {
        Some(Shown::Error(message)) => h.push_str(&format!(
            "<section class=\"verdict bad\" role=\"alert\">\n<h2>{}</h2>\n<p>{}</p>\n</section>\n",
            esc(t.error_title),
            esc(message)
        )),
        Some(Shown::Verdict(v)) => h.push_str(&render_verdict(t, v)),
        None => h.push_str(&format!("<p class=\"intro\">{}</p>\n", esc(t.intro))),
    }
    let lang_field = format!("<input type=\"hidden\" name=\"lang\" value=\"{}\">\n", esc(t.code));
    h.push_str(&format!(
        "<form method=\"get\" action=\"/verify\">\n<fieldset>\n<legend>{}</legend>\n{lang_field}\
         <label for=\"record\">{}</label>\n\
         <input id=\"record\" name=\"record\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\" maxlength=\"{MAX_INPUT_CHARS}\">\n\
         <label for=\"hash\">{}</label>\n\
         <input id=\"hash\" name=\"hash\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\" maxlength=\"{MAX_INPUT_CHARS}\">\n\
         <button type=\"submit\">{}</button>\n</fieldset>\n</form>\n",
        esc(t.form_parts),
        esc(t.label_record),
        esc(echo(query, "record")),
        esc(t.label_hash),
        esc(echo(query, "hash")),
        esc(t.submit)
    ));
    h.push_str(&format!(
        "<form method=\"get\" action=\"/verify\">\n<fieldset>\n<legend>{}</legend>\n{lang_field}\
         <label for=\"code\">{}</label>\n\
         <input id=\"code\" name=\"code\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\" maxlength=\"{MAX_INPUT_CHARS}\">\n\
         <button type=\"submit\">{}</button>\n</fieldset>\n</form>\n",
        esc(t.form_code),
        esc(t.label_code),
        esc(echo(query, "code")),
        esc(t.submit)
    ));
    h.push_str(&format!("<p class=\"note\">{}</p>\n</main>\n</body>\n</html>\n", esc(t.privacy)));
    h
}

fn render_verdict(t: &Text, v: &Verdict) -> String {
    let (class, headline) = if !v.on_file {
        ("bad", t.headline_unknown)
    } else if !v.intact {
        ("bad", t.headline_damaged)
    } else if !v.unaltered {
        ("bad", t.headline_differs)
    } else if !v.signatures_valid {
        ("bad", t.headline_unsigned)
    } else if v.corrected {
        ("warn", t.headline_corrected)
    } else {
        ("ok", t.headline_ok)
    };
    let mut checks: Vec<(&str, &str)> = Vec::new();
    if !v.on_file {
        checks.push(("bad", t.on_file_no));
    } else {
        checks.push(("ok", t.on_file_yes));
        if !v.intact {
            checks.push(("bad", t.damaged));
        } else if !v.unaltered {
            checks.push(("bad", t.unaltered_no));
        } else {
            checks.push(("ok", t.unaltered_yes));
            checks.push(if v.signatures_valid { ("ok", t.signatures_yes) } else { ("bad", t.signatures_no) });
            checks.push(match (v.corrected, v.voided) {
                (false, _) => ("ok", t.not_corrected),
                (true, false) => ("warn", t.corrected),
                (true, true) => ("warn", t.voided),
            });
        }
    }
    let mut h = format!(
        "<section class=\"verdict {class}\" role=\"status\">\n<h2>{}</h2>\n<ul class=\"checks\">\n",
        esc(headline)
    );
    for (class, line) in checks {
        h.push_str(&format!("<li class=\"{class}\">{}</li>\n", esc(line)));
    }
    h.push_str("</ul>\n<dl>\n");
    let mut field = |label: &str, value: &str| {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(label), esc(value)));
    };
    field(t.field_record, &v.record_id);
    if let Some(d) = &v.details {
        field(t.field_kind, t.kind(&d.schema));
        if let Some(wo) = &d.work_order_id {
            field(t.field_work_order, wo);
        }
        field(t.field_date, &format!("{}{}", local_time(d.at).format("%Y-%m-%d %H:%M"), t.time_zone));
        if let Some(m) = &d.masked {
            for (label, value) in [
                (t.field_customer, &m.customer_name),
                (t.field_phone, &m.phone),
                (t.field_address, &m.address),
            ] {
                if let Some(value) = value {
                    field(label, value);
                }
            }
        }
    }
    h.push_str(&format!("</dl>\n<p class=\"contact\">{}</p>\n</section>\n", esc(t.contact)));
    h
}

const STYLESHEET: &str = "\
:root { color-scheme: light; --ok: #1b6e3a; --bad: #a61b1b; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 40rem; padding: 1rem; font: 16px/1.6 system-ui, -apple-system, \"PingFang SC\", \"Microsoft YaHei\", sans-serif; color: #1a1a1a; background: #fafafa; }
header { display: flex; justify-content: space-between; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.4rem; margin: 0.5rem 0; }
h2 { font-size: 1.15rem; margin: 0 0 0.5rem; }
.lang a { color: #0b57d0; }
.intro, .note, .contact { color: #444; }
.note { font-size: 0.9rem; }
.verdict { border: 2px solid #999; border-radius: 0.5rem; padding: 0.75rem 1rem; margin: 1rem 0; background: #fff; }
.verdict.ok { border-color: var(--ok); }
.verdict.bad { border-color: var(--bad); }
.verdict.warn { border-color: var(--warn); }
.checks { list-style: none; padding: 0; margin: 0 0 0.75rem; }
.checks li { padding-left: 1.6rem; position: relative; margin: 0.25rem 0; }
.checks li::before { position: absolute; left: 0; font-weight: bold; }
.checks li.ok::before { content: \"\\2713\"; color: var(--ok); }
.checks li.bad::before { content: \"\\2717\"; color: var(--bad); }
.checks li.warn::before { content: \"!\"; color: var(--warn); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dt { color: #555; }
dd { margin: 0; word-break: break-all; }
form { margin: 1rem 0; }
fieldset { border: 1px solid #ccc; border-radius: 0.5rem; padding: 0.75rem 1rem; background: #fff; }
legend { font-weight: bold; padding: 0 0.25rem; }
label { display: block; margin-top: 0.5rem; }
input { width: 100%; padding: 0.5rem; font: inherit; font-family: ui-monospace, monospace; border: 1px solid #888; border-radius: 0.25rem; }
button { margin-top: 0.75rem; padding: 0.5rem 1.5rem; font: inherit; border: 0; border-radius: 0.25rem; background: #0b57d0; color: #fff; cursor: pointer; }
";

// ---------------------------------------------------------------- JSON

/// The verdict on a paper copy. `kind`, `work_order_id`, `date`, `at` and
/// `masked` are given only when the copy matches the record on file
/// (`unaltered`): a record id alone reveals nothing about the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyAnswer {
    pub record_id: String,
    /// The server holds a record with this id.
    pub on_file: bool,
    /// The content hash recomputed from the stored record equals the given one.
    pub unaltered: bool,
    /// The device's and every technician's signature on the stored record
    /// verify (false when it is not on file).
    pub signatures_valid: bool,
    /// A later record names this one in `supersedes` (a correction or a void).
    pub corrected: bool,
    /// The latest version of this record is a void (`hearth.void/1`).
    pub voided: bool,
    /// The records that name this one in `supersedes`; only when the copy matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<Vec<String>>,
    /// The schema's name, e.g. `customer_signoff`, `temperature_test`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The full schema, e.g. `hearth.customer_signoff/1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_order_id: Option<String>,
    /// Company-local date (UTC+8), `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The record's time, RFC 3339 at UTC+08:00.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked: Option<MaskedData>,
}

/// `hearth.customer_signoff/1` → `customer_signoff`.
fn kind_name(schema_name: &str) -> String {
    let name = schema_name.strip_prefix("hearth.").unwrap_or(schema_name);
    name.split_once('/').map_or(name, |(n, _)| n).to_owned()
}

impl From<&Verdict> for VerifyAnswer {
    fn from(v: &Verdict) -> Self {
        let d = v.details.as_ref();
        Self {
            record_id: v.record_id.clone(),
            on_file: v.on_file,
            unaltered: v.unaltered,
            signatures_valid: v.signatures_valid,
            corrected: v.corrected,
            voided: v.voided,
            superseded_by: d.and(Some(v.superseded_by.clone())).filter(|s| !s.is_empty()),
            kind: d.map(|d| kind_name(&d.schema)),
            schema: d.map(|d| d.schema.clone()),
            work_order_id: d.and_then(|d| d.work_order_id.clone()),
            date: d.map(|d| local_time(d.at).format("%Y-%m-%d").to_string()),
            at: d.map(|d| local_time(d.at).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
            masked: d.and_then(|d| d.masked.clone()),
        }
    }
}

fn json_error(status: StatusCode, code: &'static str, message: String) -> Response {
    secured(ApiError::new(status, code, message).into_response(), "no-store")
}

#[utoipa::path(get, path = "/v1/verify", tag = "verify",
    summary = "Check a customer's paper copy against the record on file (public, no token)",
    description = "Give `record` and `hash`, or `code` (the QR text `hearth:copy:v1:<record_id>:<hash>`). Personal data is only ever masked, and only when the hash matches.",
    params(
        ("record" = Option<String>, Query, description = "the record id (UUIDv7)"),
        ("hash" = Option<String>, Query, description = "the content hash, 64 hex characters"),
        ("code" = Option<String>, Query, description = "the QR code text instead of record and hash"),
        ("lang" = Option<String>, Query, description = "language of error messages: en (default) or zh"),
    ),
    responses(
        (status = 200, body = VerifyAnswer, description = "The verdict (also for a record not on file)"),
        (status = 400, body = ErrorBody, description = "missing_input, missing_record, missing_hash, bad_record_id, bad_hash, bad_code, ambiguous_input, input_too_long, bad_parameter"),
        (status = 429, body = ErrorBody, description = "rate_limited: too many checks from this address"),
    ))]
pub async fn verify_json(
    State(state): State<AppState>,
    peer: Peer,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(_) => return json_error(StatusCode::BAD_REQUEST, "bad_parameter", EN.err_parameter.to_owned()),
    };
    let t = Lang::from_query(&query, Lang::En).text();
    if query.keys().any(|k| k != "lang" && !LOOKUP_PARAMETERS.contains(&k.as_str())) {
        let bad = BadInput::UnknownParameter;
        return json_error(StatusCode::BAD_REQUEST, bad.code(), bad.message(t));
    }
    if let Err(wait) = take_token(&state, peer_of(peer)) {
        let message = t.err_rate_limited.replace("{n}", &wait.to_string());
        return with_retry_after(json_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message), wait);
    }
    let lookup = match parse_lookup(&query) {
        Ok(lookup) => lookup,
        Err(bad) => return json_error(StatusCode::BAD_REQUEST, bad.code(), bad.message(t)),
    };
    let answer: ApiResult<VerifyAnswer> = verdict(&state, &lookup).await.map(|v| VerifyAnswer::from(&v));
    match answer {
        Ok(answer) => secured(Json(answer).into_response(), "no-store"),
        Err(e) => secured(e.into_response(), "no-store"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const ID: &str = "0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e";

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn names_are_masked_to_the_first_character() {
        assert_eq!(mask_name("张伟明").as_deref(), Some("张**"));
        assert_eq!(mask_name("李四").as_deref(), Some("李**"));
        assert_eq!(mask_name(" "), None);
    }

    #[test]
    fn phones_keep_at_most_the_first_three_and_last_four_digits() {
        assert_eq!(mask_phone("13812345678").as_deref(), Some("138****5678"));
        assert_eq!(mask_phone("+86 138-1234-5678").as_deref(), Some("138****5678"));
        assert_eq!(mask_phone("0471 6543210").as_deref(), Some("047****3210"));
        assert_eq!(mask_phone("0471-654321").as_deref(), Some("****4321"));
        assert_eq!(mask_phone("6543210").as_deref(), Some("****10"));
    }

    #[test]
    fn the_qr_text_and_the_two_fields_give_the_same_lookup() {
        let from_code = parse_lookup(&q(&[("code", &format!("hearth:copy:v1:{ID}:{HASH}"))]));
        let from_link =
            parse_lookup(&q(&[("code", &format!("https://heat.example.cn/verify?record={ID}&hash={HASH}"))]));
        assert_eq!(from_link, from_code, "the scanned link reads as the code does");
        let from_parts = parse_lookup(&q(&[("record", ID), ("hash", HASH)]));
        assert_eq!(from_code, from_parts);
        assert_eq!(from_code.map(|l| l.hash.to_hex()), Ok(HASH.to_owned()));
        // As people type it: capitals, the two printed halves with a space.
        let (a, b) = HASH.split_at(32);
        let typed = parse_lookup(&q(&[
            ("record", &ID.to_uppercase()),
            ("hash", &format!(" {a} {} ", b.to_uppercase())),
        ]));
        assert_eq!(typed, from_parts);
    }

    #[test]
    fn malformed_input_names_what_is_wrong() {
        let cases: [(&[(&str, &str)], BadInput); 9] = [
            (&[("record", ""), ("hash", "")], BadInput::Missing),
            (&[("hash", HASH)], BadInput::RecordMissing),
            (&[("record", ID)], BadInput::HashMissing),
            (&[("record", "12345"), ("hash", HASH)], BadInput::BadRecord),
            (&[("record", ID), ("hash", "abc")], BadInput::HashLength(3)),
            (&[("record", ID), ("hash", &HASH.replace('a', "g"))], BadInput::HashChars),
            (&[("code", "garbage")], BadInput::BadCode),
            (&[("code", "hearth:copy:v1:"), ("record", ID)], BadInput::Both),
            (&[("code", &"x".repeat(MAX_INPUT_CHARS + 1))], BadInput::TooLong),
        ];
        for (query, expected) in cases {
            assert_eq!(parse_lookup(&q(query)), Err(expected.clone()), "{query:?}");
        }
        assert_eq!(
            BadInput::HashLength(3).message(&EN),
            "The content hash has the wrong length: a content hash has 64 characters, this one has 3."
        );
        assert!(BadInput::HashLength(3).message(&ZH).contains("这里是 3 个"));
    }

    #[test]
    fn everything_written_into_the_page_is_escaped() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let page = render(&ZH, &q(&[("record", "\"><script>alert(1)</script>")]), Some(Shown::Error("<b>")));
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<b>"));
    }

    #[test]
    fn kinds_are_named_by_schema() {
        assert_eq!(kind_name(schema::CUSTOMER_SIGNOFF), "customer_signoff");
        assert_eq!(ZH.kind(schema::TEMPERATURE_TEST), "室温检测报告");
        assert_eq!(EN.kind("hearth.unknown/1"), "Other record");
    }
}
