//! hearth-copy — the customer's copy (一式两份) as a PDF.
//!
//! Two halves. [`build`] makes the copy's content from sealed records — the
//! visit replayed through hearth-domain ([`replay`]), its Chinese wording
//! ([`text`], also the text the customer signs) — for the tablet at the
//! sign-off and the server's reprint alike, so both print the same. [`render`]
//! lays that content out as a PDF and decides nothing.
//!
//! After a repair visit (入户维修服务确认单) or a two-person room-temperature
//! test (入户测温记录) the customer signs on the tablet or refuses, and is left a
//! copy. This crate owns turning a [`CustomerCopy`] — already-formatted
//! Chinese strings, the signature PNG and the sign-off record's id and content
//! hash — into the bytes of an A4 PDF: a header with the company and hotline,
//! the centred title, a bordered information block, the steps and parts or the
//! table of readings (flowing onto further pages, numbered 第 1 页 / 共 N 页),
//! the signature box (用户签字) or the refusal, and at the bottom right a QR
//! code holding [`qr_payload`] so the office can check the copy against the
//! server.
//!
//! Text is real text in a subset of a system CJK font (only the glyphs used are
//! embedded, with a ToUnicode map, so it can be searched and copied). The font
//! is found by [`CjkFont::find`] (fonts-noto-cjk on Linux, the system fonts on
//! Android), read once and reused.
//!
//! Layout rules worth knowing when building the data: every string is printed
//! as given (wrapped: Chinese at any character, Latin words and numbers kept
//! whole when they fit; `\n` breaks a line); table rows too tall for the rest
//! of a page are split, short ones move to the next page, and the table
//! header is repeated; a character the font lacks (an emoji, say) is printed
//! as `[U+1F600]` rather than an anonymous box; the signature is cropped to
//! its strokes and scaled into the box keeping its aspect ratio; the same
//! input always gives the same bytes.
//!
//! It must never: do I/O other than reading the font file (records, blobs and
//! snapshots arrive as values from their holder); apply domain rules other
//! than by calling hearth-domain (the layout gets them decided and formatted);
//! know who holds the records (the tablet's store, the server's); drop text (over-long text wraps
//! and flows onto new pages); or panic on bad input (a corrupt PNG, a bad hash
//! or an out-of-range rating is a [`CopyError`]).
//!
//! ```no_run
//! # fn demo(copy: &hearth_copy::CustomerCopy) -> Result<(), hearth_copy::CopyError> {
//! let font = hearth_copy::CjkFont::find(None)?; // once, at start-up
//! let pdf: Vec<u8> = hearth_copy::render(copy, &font)?;
//! # let _ = pdf; Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod build;
mod error;
mod font;
mod layout;
mod pdf;
mod qr;
pub mod replay;
mod signature;
pub mod text;
mod wrap;

pub use build::{BuildError, Contact, Holder, Printing, SignedOff, latest_signoff};
pub use error::CopyError;
pub use font::{CjkFont, FONT_ENV, WELL_KNOWN_FONT_PATHS};
pub use qr::{parse_qr_payload, qr_payload};

/// The heating company, printed in the header and footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    /// e.g. "幸福市热力有限公司".
    pub name: String,
    /// The service hotline, e.g. "400-123-4567" (printed as "如有问题请拨打 …").
    pub hotline: String,
}

/// A technician named on the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technician {
    /// The role as printed, e.g. "维修人员", "测温人员（主测）", "测温人员（复核）".
    pub role: String,
    /// Full name.
    pub name: String,
    /// Staff number, printed as "工号 …" (may be empty).
    pub tech_id: String,
    /// Phone number as printed.
    pub phone: String,
}

/// One step of a visit, e.g. "一、预约".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSection {
    /// The step's Chinese title, e.g. "一、预约".
    pub title: String,
    /// When it was done, formatted, e.g. "2026-12-01 09:12".
    pub time: String,
    /// Its lines of text, each a paragraph (wrapped as needed; `\n` breaks a line).
    pub lines: Vec<String>,
}

/// A part replaced during a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRow {
    /// e.g. "DN20 温控阀 ×1".
    pub name: String,
    /// e.g. "¥ 85.00" or "免费".
    pub price: String,
    /// The customer's consent as printed, e.g. "用户已同意".
    pub consent: String,
}

/// The thermometer a test was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thermometer {
    /// Serial number.
    pub serial: String,
    /// Calibration certificate number.
    pub certificate: String,
    /// The certificate's expiry date, formatted.
    pub valid_until: String,
}

/// One row of the readings table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingRow {
    /// e.g. "主卧".
    pub room: String,
    /// The measuring point, e.g. "房间中央 1.5 m".
    pub label: String,
    /// e.g. "17.60℃".
    pub reading: String,
    /// e.g. "2026-12-01 14:05".
    pub time: String,
    /// The required minimum, e.g. "18℃".
    pub minimum: String,
    /// e.g. "达标", "不达标", "不计入".
    pub verdict: String,
    /// Draw the reading and verdict in red bold (decided by the caller).
    pub below_standard: bool,
    /// A correction or outlier note (may be empty).
    pub note: String,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A repair visit: 入户维修服务确认单.
    Visit {
        /// The steps done, in order.
        steps: Vec<StepSection>,
        /// Parts replaced (empty: "本次未更换配件").
        parts: Vec<PartRow>,
        /// The outcome line, e.g. "故障已排除，供热恢复正常。".
        outcome: String,
    },
    /// A two-person room-temperature test: 入户测温记录.
    Test {
        /// The instrument.
        thermometer: Thermometer,
        /// The readings, one table row each.
        rows: Vec<ReadingRow>,
        /// The overall conclusion, e.g. "室温达标" / "室温不达标".
        conclusion: String,
        /// Draw the conclusion in red (decided by the caller).
        below_standard: bool,
    },
}

/// The customer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Signed on the pad.
    Signed {
        /// The pad's PNG: dark strokes on a transparent or white background.
        signature_png: Vec<u8>,
        /// 1–5, printed as stars.
        satisfaction: u8,
        /// The customer's remark, if any.
        comment: Option<String>,
        /// When, formatted.
        at: String,
    },
    /// Refused to sign (用户拒绝签字).
    Refused {
        /// The reason given, as recorded.
        reason: String,
        /// When, formatted.
        at: String,
    },
}

/// Everything printed on the customer's copy, as formatted strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCopy {
    /// The heating company.
    pub company: Company,
    /// "入户维修服务确认单" or "入户测温记录".
    pub title: String,
    /// The work order id.
    pub work_order_id: String,
    /// The customer's name.
    pub customer_name: String,
    /// The address, e.g. "幸福小区 3 号楼 2 单元 501 室".
    pub address: String,
    /// One technician for a visit, two (performer and witness) for a test.
    pub technicians: Vec<Technician>,
    /// Start time, formatted.
    pub started_at: String,
    /// End time, formatted.
    pub ended_at: String,
    /// The visit's steps or the test's readings.
    pub body: Body,
    /// Signature or refusal.
    pub answer: Answer,
    /// The sign-off record's id: 1–64 of `A-Z a-z 0-9 . _ -` (a UUID fits).
    pub record_id: String,
    /// The sign-off record's content hash: 64 lowercase hex digits.
    pub content_hash: String,
    /// When this copy was made, formatted.
    pub made_at: String,
    /// The server's public address: the QR code links to its verification
    /// page (`qr_payload`). Empty: the QR code holds the record id and hash.
    pub verify_url: String,
}

/// Renders the customer's copy as PDF bytes (A4 portrait, one or more pages).
///
/// Errors: [`CopyError::BadInput`] for a bad record id, content hash or
/// satisfaction; [`CopyError::BadSignatureImage`] for a signature PNG that does
/// not decode, is over 4096 px a side or is blank; [`CopyError::CopyFailed`] if
/// the PDF writer fails.
pub fn render(copy: &CustomerCopy, font: &CjkFont) -> Result<Vec<u8>, CopyError> {
    qr::validate(&copy.record_id, &copy.content_hash)?;
    let signature = match &copy.answer {
        Answer::Signed { signature_png, satisfaction, .. } => {
            if !(1..=5).contains(satisfaction) {
                return Err(CopyError::BadInput {
                    field: "answer.satisfaction",
                    reason: format!("{satisfaction} is not in 1..=5"),
                });
            }
            Some(signature::decode(signature_png)?)
        }
        Answer::Refused { .. } => None,
    };
    let qr = qr::Matrix::encode(&qr_payload(&copy.verify_url, &copy.record_id, &copy.content_hash))?;
    let metrics = font.metrics()?;
    let pages = layout::lay_out(copy, &metrics, signature.as_ref().map(|s| s.size()), &qr);
    pdf::write(copy, font, &metrics, &pages, signature, &qr)
}

/// "★★★★☆ (4/5)" for a rating of 4.
pub(crate) fn stars(satisfaction: u8) -> String {
    let n = usize::from(satisfaction.min(5));
    format!("{}{} ({n}/5)", "★".repeat(n), "☆".repeat(5 - n))
}
