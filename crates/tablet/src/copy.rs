//! The customer's copy (一式两份): after a sign-off or a refusal the tablet
//! makes, offline, a Chinese PDF of what the customer answered — the visit's
//! steps or the test's readings, the signature or the refusal and its
//! reason — with a QR code holding the sign-off record's id and content hash,
//! so anyone can check a copy against the server later. Its content is built
//! by `hearth_copy::build` from the sealed records, as the server's reprint
//! is, so the two print the same; it is made once and kept beside the store
//! (the signature image leaves the tablet after upload; the copy stays).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;

use hearth_copy::{CjkFont, Contact, Holder, Printing, SignedOff};
use hearth_domain::Thermometer;
use hearth_protocol::api::FeedKind;
use hearth_store::{ChainRecord, Store};
use serde_json::Value;

use crate::app::{App, lock};
use crate::error::AppError;
use crate::views::CustomerCopyView;

/// Where copies are kept inside the store's directory.
const COPY_DIR: &str = "copies";

/// Technicians' names and phones from the office's list.
fn contacts(store: &Store) -> Result<HashMap<String, Contact>, AppError> {
    Ok(store
        .snapshots(FeedKind::Technician)?
        .into_iter()
        .map(|(id, _, body)| {
            let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            (id, Contact { name: text("name"), phone: text("phone") })
        })
        .collect())
}

fn copy_view(
    work_order_id: &str,
    record: &ChainRecord,
    path: &std::path::Path,
) -> Result<CustomerCopyView, AppError> {
    let bytes = std::fs::metadata(path).map_err(storage)?.len();
    Ok(CustomerCopyView {
        work_order_id: work_order_id.to_owned(),
        signoff_record_id: record.content.record_id.clone(),
        content_hash: record.content_hash.to_hex(),
        path: path.display().to_string(),
        bytes,
    })
}

impl App {
    /// The customer's copy of the order's sign-off (the temperature test's,
    /// else the visit's): made on first asking, then kept. `no_signoff` until
    /// the customer has signed or refused.
    pub fn customer_copy(&self, work_order_id: &str) -> Result<CustomerCopyView, AppError> {
        let store = self.db();
        self.make_customer_copy(&store, work_order_id)
    }

    pub(crate) fn make_customer_copy(
        &self,
        store: &Store,
        work_order_id: &str,
    ) -> Result<CustomerCopyView, AppError> {
        let order = self.order(store, work_order_id).ok();
        let records = store.chain_records(Some(work_order_id))?;
        let Some(signoff) = hearth_copy::latest_signoff(&records) else {
            return Err(match order {
                Some(_) => hearth_copy::BuildError::NoSignoff.into(),
                None => AppError::unknown_work_order(work_order_id),
            });
        };
        // The copy made at sign-off is the customer's copy: once made it is
        // kept and opened as it is, even after the signature image it holds
        // was pruned from the tablet (the server has it, protocol §10.9).
        let dir = store.dir().join(COPY_DIR);
        let path = dir.join(format!("{}.pdf", signoff.content.record_id));
        if path.is_file() {
            return copy_view(work_order_id, signoff, &path);
        }
        let signed_off = SignedOff::new(&records, &signoff.content.record_id)?;
        let thermometer = match signed_off.thermometer_serial() {
            Some(serial) => self.test_thermometer(store, work_order_id, serial)?,
            None => None,
        };
        let signature_png = match signed_off.signature_png_sha256() {
            Some(sha) => store.read_blob(
                &sha.parse().map_err(|_| AppError::internal("a sign-off names a bad signature hash"))?,
            )?,
            None => None,
        };
        let rules = self.rules(store)?;
        let contacts = contacts(store)?;
        // The server the tablet syncs with over 4G answers the customer's phone too.
        let verify_url = store.server_link()?.map(|l| l.server_url).unwrap_or_default();
        let holder = Holder {
            order: order.as_ref(),
            rules: &rules,
            contacts: &contacts,
            thermometer: thermometer.as_ref(),
            verify_url: &verify_url,
        };
        let copy = signed_off.copy(&holder, Printing::Original(self.now()), signature_png)?;
        let pdf = hearth_copy::render(&copy, &self.cjk_font()?)?;
        write_durably(&dir, &path, &pdf)?;
        copy_view(work_order_id, signoff, &path)
    }

    /// The test's thermometer as the testers chose it from the office's
    /// list (kept with the test's start), else as the list has it now.
    fn test_thermometer(
        &self,
        store: &Store,
        work_order_id: &str,
        serial: &str,
    ) -> Result<Option<Thermometer>, AppError> {
        if let Some(start) = self.test_start(store, work_order_id)?
            && start.thermometer.serial.as_str() == serial
        {
            return Ok(Some(start.thermometer));
        }
        self.thermometer(store, serial)
    }

    /// The device's CJK font, found once (fonts-noto-cjk on Linux, the system font on Android).
    fn cjk_font(&self) -> Result<CjkFont, AppError> {
        let mut cached = lock(&self.font);
        if let Some(font) = cached.as_ref() {
            return Ok(font.clone());
        }
        let font = CjkFont::find(None)?;
        *cached = Some(font.clone());
        Ok(font)
    }
}

fn storage(e: std::io::Error) -> AppError {
    AppError::new("storage", e.to_string())
}

/// Temporary file, fsynced, renamed, directory fsynced: a half-written copy
/// never looks made.
fn write_durably(dir: &std::path::Path, path: &PathBuf, bytes: &[u8]) -> Result<(), AppError> {
    std::fs::create_dir_all(dir).map_err(storage)?;
    let temp = path.with_extension("partial");
    let mut file = std::fs::File::create(&temp).map_err(storage)?;
    file.write_all(bytes).map_err(storage)?;
    file.sync_all().map_err(storage)?;
    drop(file);
    std::fs::rename(&temp, path).map_err(storage)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(storage)
}
