//! The dependency rule of docs/ARCHITECTURE.md, read from the source: layers point inward.
//! `services/` (the use cases) names nothing of HTTP, and `openapi.rs` (the document's shared
//! parts) names no handler. Crate boundaries enforce the rest (domain ← storage ← server).

use std::path::{Path, PathBuf};

/// The code lines of every `.rs` file under `dir` (comments left out).
fn code_lines(dir: &Path) -> Vec<(PathBuf, usize, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("").trim();
                    if !code.is_empty() {
                        out.push((path.clone(), n + 1, code.to_owned()));
                    }
                }
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn services_name_nothing_of_http() {
    let outward =
        ["crate::http", "crate::openapi", "crate::extract", "crate::error", "crate::auth", "crate::state", "axum"];
    let lines = code_lines(&src().join("services"));
    assert!(lines.len() > 500, "read only {} lines of services/", lines.len());
    let found: Vec<String> = lines
        .iter()
        .filter(|(_, _, code)| outward.iter().any(|o| code.contains(o)))
        .map(|(path, n, code)| format!("{}:{n}: {code}", path.display()))
        .collect();
    assert!(found.is_empty(), "services/ reaches out to the HTTP layer:\n{}", found.join("\n"));
}

#[test]
fn the_openapi_parts_name_no_handler() {
    let path = src().join("openapi.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        assert!(
            !code.contains("crate::http") && !code.contains("crate::services"),
            "openapi.rs:{}: {code}: the document's shared parts must stay a leaf",
            n + 1
        );
    }
}
