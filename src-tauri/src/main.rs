//! The desktop entry point; phones enter through `hearth_app_lib::run`.
// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    hearth_app_lib::run()
}
