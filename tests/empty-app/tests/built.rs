//! `cargo test --workspace` builds the yardstick's binary, which
//! `tests/benches/cold_start.rs` launches beside `hearth-app`.

#[test]
fn the_empty_app_is_built_beside_the_tests() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_hearth-empty-app"));
    assert!(bin.is_file(), "{} was not built", bin.display());
}
