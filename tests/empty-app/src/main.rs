//! An empty Tauri 2 app, as `npm create tauri-app` makes it less the
//! greeting: one window, one page, one button. `tests/benches/cold_start.rs`
//! times how long it takes from exec to that button and holds `hearth-app`
//! against it; built by the workspace, so with the same Tauri and profile.

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("hearth-empty-app: {e}");
        std::process::exit(1);
    }
}
