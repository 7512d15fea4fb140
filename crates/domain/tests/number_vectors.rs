//! The number grammar (`hearth_domain::input`) pinned as vectors the UI's
//! parser is tested against (`ui/tests/parse.test.ts`): one grammar, so the
//! screens never accept what the tablet refuses. `HEARTH_BLESS=1` rewrites
//! the file after a deliberate change.

use hearth_domain::input::{VECTOR_TEXTS, parse_celsius, parse_whole, parse_yuan_to_fen};
use serde_json::{Value, json};

fn vectors() -> Value {
    let rows = |f: &dyn Fn(&str) -> Option<i64>| -> Vec<Value> {
        VECTOR_TEXTS.iter().map(|t| json!([t, f(t)])).collect()
    };
    json!({
        "generated_by": "cargo test -p hearth-domain --test number_vectors (HEARTH_BLESS=1 to rewrite)",
        "celsius_centi": rows(&|t| parse_celsius(t).map(i64::from)),
        "yuan_fen": rows(&|t| parse_yuan_to_fen(t).map(i64::from)),
        "whole": rows(&|t| parse_whole(t)),
    })
}

#[test]
fn the_ui_number_vectors_are_what_the_grammar_answers() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/tests/number-vectors.json");
    let generated = format!("{}\n", serde_json::to_string_pretty(&vectors()).unwrap_or_default());
    if std::env::var_os("HEARTH_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(committed, generated, "ui/tests/number-vectors.json is stale: run with HEARTH_BLESS=1");
}
