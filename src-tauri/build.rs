//! Every app command is declared here, so that each one needs an explicit
//! `allow-<command>` in a capability (least privilege): a command the
//! screens are not granted cannot be invoked. `tests/config.rs` checks this
//! list against `src/commands.rs` and `capabilities/default.json`.

const COMMANDS: &[&str] = &[
    "app_state",
    "parse_numbers",
    "enrol_device",
    "enrol_technician",
    "sign_in",
    "sign_out",
    "today",
    "work_order",
    "create_local_order",
    "accept_order",
    "visit",
    "complete_step",
    "correct_step",
    "running_late",
    "conclude_visit",
    "customer_signoff",
    "customer_copy",
    "open_customer_copy",
    "put_photo",
    "photo_thumbnail",
    "thermometers",
    "start_temperature_test",
    "temperature_test",
    "abandon_temperature_test",
    "add_reading",
    "correct_reading",
    "sign_report",
    "records",
    "void_record",
    "sync_status",
    "sync_now",
    "connectivity_regained",
    "export_rescue",
    "reveal_rescue_export",
    "save_draft",
    "load_draft",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .unwrap_or_else(|e| panic!("tauri-build: {e}"));
}
