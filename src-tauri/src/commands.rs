//! One command per use case of [`hearth_tablet::App`], named alike
//! (docs/app.md). Each is a few lines: the work runs off the UI thread
//! (store and Argon2 calls on the blocking pool), errors are `{code, message}`.

use hearth_tablet::today::TodayItem;
use hearth_tablet::{
    App, AppError, AppState, CustomerCopyView, ErrorCode, LateNoticeInput, LocalOrderInput, PhotoRef,
    ReadingInput, RecordView, RescueSummary, SignoffInput, SignoffResult, StepEvidence, SyncStatus, TestView,
    ThermometerView, VisitOutcome, VisitView,
};
use tauri::ipc::{InvokeBody, Request};
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::{Shell, start_sync_if_enrolled};

type Answer<T> = Result<T, AppError>;

/// The screens' live checks of typed numbers (°C, yuan, whole numbers):
/// the one grammar of `hearth_domain::input`, never a copy in the UI.
#[tauri::command]
pub fn parse_numbers(items: Vec<(hearth_tablet::NumberKind, String)>) -> Vec<Option<i64>> {
    hearth_tablet::parse_numbers(&items)
}

/// Runs a use case on the blocking pool: the store and PIN checks must not
/// stall the window.
async fn blocking<T, F>(shell: &Shell, f: F) -> Answer<T>
where
    T: Send + 'static,
    F: FnOnce(&App) -> Answer<T> + Send + 'static,
{
    let app = shell.app.clone();
    logged(
        tauri::async_runtime::spawn_blocking(move || f(&app))
            .await
            .map_err(AppError::internal)
            .and_then(|r| r),
    )
}

/// Every refusal is logged here, once, with its English cause; the screens
/// show only the translation of its code.
fn logged<T>(answer: Answer<T>) -> Answer<T> {
    if let Err(e) = &answer {
        match e.code {
            ErrorCode::Internal | ErrorCode::Storage => {
                tracing::error!(code = %e.code, field = ?e.field, "{}", e.message)
            }
            _ => tracing::info!(code = %e.code, field = ?e.field, "refused: {}", e.message),
        }
    }
    answer
}

pub(crate) fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_state,
        parse_numbers,
        enrol_device,
        enrol_technician,
        sign_in,
        sign_out,
        today,
        work_order,
        create_local_order,
        accept_order,
        visit,
        complete_step,
        correct_step,
        running_late,
        conclude_visit,
        customer_signoff,
        customer_copy,
        open_customer_copy,
        put_photo,
        photo_thumbnail,
        thermometers,
        start_temperature_test,
        temperature_test,
        abandon_temperature_test,
        add_reading,
        correct_reading,
        sign_report,
        records,
        void_record,
        sync_status,
        sync_now,
        connectivity_regained,
        export_rescue,
        reveal_rescue_export,
        save_draft,
        load_draft,
    ]
}

// ---- session and enrolment ---------------------------------------------------

/// Before enrolment `server_url` is the default address to offer.
#[tauri::command]
pub async fn app_state(shell: State<'_, Shell>) -> Answer<AppState> {
    let mut state = blocking(&shell, App::app_state).await?;
    if !state.enrolled && state.server_url.is_none() {
        state.server_url = shell.default_server_url.clone();
    }
    Ok(state)
}

#[tauri::command]
pub async fn enrol_device(
    handle: AppHandle,
    shell: State<'_, Shell>,
    server_url: String,
    code: String,
    name: String,
) -> Answer<AppState> {
    let state = logged(shell.app.enrol_device(&server_url, &code, &name).await)?;
    start_sync_if_enrolled(&handle, &shell);
    Ok(state)
}

#[tauri::command]
pub async fn enrol_technician(
    shell: State<'_, Shell>,
    tech_id: String,
    code: String,
    pin: String,
    pin_again: String,
) -> Answer<AppState> {
    logged(shell.app.enrol_technician(&tech_id, &code, &pin, &pin_again).await)
}

#[tauri::command]
pub async fn sign_in(shell: State<'_, Shell>, tech_id: String, pin: String) -> Answer<AppState> {
    blocking(&shell, move |app| app.sign_in(&tech_id, &pin)).await
}

#[tauri::command]
pub async fn sign_out(shell: State<'_, Shell>) -> Answer<AppState> {
    blocking(&shell, App::sign_out).await
}

// ---- today and work orders -----------------------------------------------------

#[tauri::command]
pub async fn today(shell: State<'_, Shell>, query: String) -> Answer<Vec<TodayItem>> {
    blocking(&shell, move |app| app.today(&query)).await
}

#[tauri::command]
pub async fn work_order(shell: State<'_, Shell>, work_order_id: String) -> Answer<TodayItem> {
    blocking(&shell, move |app| app.work_order(&work_order_id)).await
}

#[tauri::command]
pub async fn create_local_order(shell: State<'_, Shell>, input: LocalOrderInput) -> Answer<TodayItem> {
    blocking(&shell, move |app| app.create_local_order(input)).await
}

#[tauri::command]
pub async fn accept_order(shell: State<'_, Shell>, work_order_id: String) -> Answer<TodayItem> {
    blocking(&shell, move |app| app.accept_order(&work_order_id)).await
}

// ---- repair visit --------------------------------------------------------------

#[tauri::command]
pub async fn visit(shell: State<'_, Shell>, work_order_id: String) -> Answer<VisitView> {
    blocking(&shell, move |app| app.visit(&work_order_id)).await
}

#[tauri::command]
pub async fn complete_step(
    shell: State<'_, Shell>,
    work_order_id: String,
    evidence: StepEvidence,
) -> Answer<VisitView> {
    blocking(&shell, move |app| app.complete_step(&work_order_id, evidence)).await
}

#[tauri::command]
pub async fn correct_step(
    shell: State<'_, Shell>,
    work_order_id: String,
    original_record_id: String,
    reason: String,
    evidence: StepEvidence,
) -> Answer<VisitView> {
    blocking(&shell, move |app| app.correct_step(&work_order_id, &original_record_id, &reason, evidence))
        .await
}

#[tauri::command]
pub async fn running_late(
    shell: State<'_, Shell>,
    work_order_id: String,
    input: LateNoticeInput,
) -> Answer<VisitView> {
    blocking(&shell, move |app| app.running_late(&work_order_id, input)).await
}

#[tauri::command]
pub async fn conclude_visit(
    shell: State<'_, Shell>,
    work_order_id: String,
    outcome: VisitOutcome,
) -> Answer<VisitView> {
    blocking(&shell, move |app| app.conclude_visit(&work_order_id, outcome)).await
}

#[tauri::command]
pub async fn customer_signoff(
    shell: State<'_, Shell>,
    work_order_id: String,
    input: SignoffInput,
) -> Answer<SignoffResult> {
    blocking(&shell, move |app| app.customer_signoff(&work_order_id, input)).await
}

/// The customer's copy (a PDF on the tablet), made at the sign-off.
#[tauri::command]
pub async fn customer_copy(shell: State<'_, Shell>, work_order_id: String) -> Answer<CustomerCopyView> {
    blocking(&shell, move |app| app.customer_copy(&work_order_id)).await
}

/// Hands the customer's copy to the system's PDF app, to print or share.
#[tauri::command]
pub async fn open_customer_copy(
    handle: AppHandle,
    shell: State<'_, Shell>,
    work_order_id: String,
) -> Answer<CustomerCopyView> {
    let copy = blocking(&shell, move |app| app.customer_copy(&work_order_id)).await?;
    let opened = handle.opener().open_path(&copy.path, None::<&str>).map_err(|e| {
        AppError::coded(ErrorCode::NoViewer, format!("no app on this tablet opens the copy: {e}"))
    });
    logged(opened)?;
    Ok(copy)
}

// ---- photos --------------------------------------------------------------------

/// The photo's bytes are the request body itself (no base64): a 6 MB photo
/// from the camera crosses once, and is decoded off the UI thread.
#[tauri::command]
pub async fn put_photo(shell: State<'_, Shell>, request: Request<'_>) -> Answer<PhotoRef> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return logged(Err(AppError::invalid_field("body", "send the photo's bytes as the request body")));
    };
    let bytes = bytes.clone();
    blocking(&shell, move |app| app.put_photo(&bytes)).await
}

/// A stored photo's thumbnail as a data URL, for the screens (the CSP allows `data:` images).
#[tauri::command]
pub async fn photo_thumbnail(shell: State<'_, Shell>, sha256: String) -> Answer<String> {
    blocking(&shell, move |app| app.photo_thumbnail_data_url(&sha256)).await
}

// ---- temperature test ----------------------------------------------------------

#[tauri::command]
pub async fn thermometers(shell: State<'_, Shell>) -> Answer<Vec<ThermometerView>> {
    blocking(&shell, App::thermometers).await
}

#[tauri::command]
pub async fn start_temperature_test(
    shell: State<'_, Shell>,
    work_order_id: String,
    witness_tech_id: String,
    witness_pin: String,
    thermometer_serial: String,
) -> Answer<TestView> {
    blocking(&shell, move |app| {
        app.start_temperature_test(&work_order_id, &witness_tech_id, &witness_pin, &thermometer_serial)
    })
    .await
}

#[tauri::command]
pub async fn temperature_test(shell: State<'_, Shell>, work_order_id: String) -> Answer<Option<TestView>> {
    blocking(&shell, move |app| app.temperature_test(&work_order_id)).await
}

#[tauri::command]
pub async fn abandon_temperature_test(
    shell: State<'_, Shell>,
    work_order_id: String,
    reason: String,
) -> Answer<()> {
    blocking(&shell, move |app| app.abandon_temperature_test(&work_order_id, &reason)).await
}

#[tauri::command]
pub async fn add_reading(
    shell: State<'_, Shell>,
    work_order_id: String,
    input: ReadingInput,
) -> Answer<TestView> {
    blocking(&shell, move |app| app.add_reading(&work_order_id, input)).await
}

#[tauri::command]
pub async fn correct_reading(
    shell: State<'_, Shell>,
    work_order_id: String,
    original_record_id: String,
    reason: String,
    input: ReadingInput,
) -> Answer<TestView> {
    blocking(&shell, move |app| app.correct_reading(&work_order_id, &original_record_id, &reason, input))
        .await
}

#[tauri::command]
pub async fn sign_report(
    shell: State<'_, Shell>,
    work_order_id: String,
    performer_pin: String,
    witness_pin: String,
    customer_side_cause: Option<String>,
) -> Answer<TestView> {
    blocking(&shell, move |app| {
        app.sign_report(&work_order_id, &performer_pin, &witness_pin, customer_side_cause.as_deref())
    })
    .await
}

// ---- records and sync ----------------------------------------------------------

#[tauri::command]
pub async fn records(shell: State<'_, Shell>, work_order_id: Option<String>) -> Answer<Vec<RecordView>> {
    blocking(&shell, move |app| app.records(work_order_id.as_deref())).await
}

#[tauri::command]
pub async fn void_record(shell: State<'_, Shell>, record_id: String, reason: String) -> Answer<RecordView> {
    blocking(&shell, move |app| app.void_record(&record_id, &reason)).await
}

#[tauri::command]
pub async fn sync_status(shell: State<'_, Shell>) -> Answer<SyncStatus> {
    blocking(&shell, App::sync_status).await
}

#[tauri::command]
pub async fn sync_now(shell: State<'_, Shell>) -> Answer<SyncStatus> {
    logged(shell.app.sync_now().await)
}

#[tauri::command]
pub async fn connectivity_regained(shell: State<'_, Shell>) -> Answer<()> {
    shell.app.connectivity_regained();
    Ok(())
}

#[tauri::command]
pub async fn export_rescue(shell: State<'_, Shell>) -> Answer<RescueSummary> {
    blocking(&shell, App::export_rescue).await
}

/// Shows the newest rescue export in the system's file manager, to copy it
/// off (the screens never name a path).
#[tauri::command]
pub async fn reveal_rescue_export(handle: AppHandle, shell: State<'_, Shell>) -> Answer<()> {
    let path = blocking(&shell, App::latest_rescue_export).await?;
    logged(handle.opener().reveal_item_in_dir(&path).map_err(|e| {
        AppError::coded(ErrorCode::NoViewer, format!("no file manager shows {}: {e}", path.display()))
    }))
}

#[tauri::command]
pub async fn save_draft(shell: State<'_, Shell>, key: String, json: String) -> Answer<()> {
    blocking(&shell, move |app| app.save_draft(&key, &json)).await
}

#[tauri::command]
pub async fn load_draft(shell: State<'_, Shell>, key: String) -> Answer<Option<String>> {
    blocking(&shell, move |app| app.load_draft(&key)).await
}
