//! docs/cli.md against the CLI: each command's `--json` output is checked against the schema
//! the page documents for it, every schema is checked by some test, and every `--json` has one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::Value;

use crate::messages::cli_definition;

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One row of a schema table: a field's path, the JSON types it may have, whether it is in
/// every output.
struct Field {
    path: String,
    types: Vec<String>,
    always: bool,
}

/// docs/cli.md's schemas by their heading (`latchkey status --json`, backticks removed).
fn schemas() -> BTreeMap<String, Vec<Field>> {
    let text = std::fs::read_to_string(root().join("docs/cli.md")).unwrap();
    let mut schemas: BTreeMap<String, Vec<Field>> = BTreeMap::new();
    let mut heading = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            heading = Some(h.replace('`', ""));
            continue;
        }
        let (Some(h), Some(row)) = (&heading, line.strip_prefix("| `")) else {
            continue;
        };
        let cells: Vec<&str> = row.split(" | ").collect();
        assert!(
            cells.len() >= 3,
            "docs/cli.md, {h}: a row needs field, type, present: {line}"
        );
        schemas.entry(h.clone()).or_default().push(Field {
            path: cells[0].trim_end_matches('`').to_owned(),
            types: cells[1].split(" or ").map(str::to_owned).collect(),
            always: cells[2].trim() == "always",
        });
    }
    schemas
}

/// `value` is of the documented type `ty`.
fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "time" => value
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        "integer" => value.is_u64() || value.is_i64(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        "any" => true,
        other => panic!("docs/cli.md names an unknown type `{other}`"),
    }
}

fn child(path: &str, key: &str) -> String {
    match path {
        "" => key.to_owned(),
        _ => format!("{path}.{key}"),
    }
}

/// Walk `value` at `path`, noting every field the schema does not document, has another type,
/// or says is always there and is missing.
fn walk(fields: &[Field], path: &str, value: &Value, problems: &mut Vec<String>) {
    let documents_inside = |p: &str| {
        let (field, element) = (format!("{p}."), format!("{p}[]"));
        fields
            .iter()
            .any(|f| f.path.starts_with(&field) || f.path.starts_with(&element))
    };
    match value {
        Value::Array(items) if documents_inside(path) || path.is_empty() => {
            let inner = format!("{path}[]");
            for item in items {
                walk(fields, &inner, item, problems);
            }
        }
        Value::Object(map) if documents_inside(path) || path.is_empty() => {
            for f in fields.iter().filter(|f| f.always && !f.path.ends_with('*')) {
                let (parent, key) = f.path.rsplit_once('.').unwrap_or(("", &f.path));
                if parent == path && !map.contains_key(key) {
                    problems.push(format!(
                        "`{}` is documented as always there; missing",
                        f.path
                    ));
                }
            }
            for (key, v) in map {
                let exact = child(path, key);
                let wildcard = child(path, "*");
                let Some(f) = fields
                    .iter()
                    .find(|f| f.path == exact || f.path == wildcard)
                else {
                    problems.push(format!("`{exact}` is not documented"));
                    continue;
                };
                if !f.types.iter().any(|t| has_type(v, t)) {
                    problems.push(format!(
                        "`{exact}` is {v}, documented as {}",
                        f.types.join(" or ")
                    ));
                }
                if f.path == exact {
                    walk(fields, &exact, v, problems);
                }
            }
        }
        _ => {}
    }
}

/// `output` matches docs/cli.md's schema under the heading `command` (as written there,
/// without backticks).
pub fn assert_documented(command: &str, output: &Value) {
    let schemas = schemas();
    let fields = schemas
        .get(command)
        .unwrap_or_else(|| panic!("docs/cli.md has no schema headed `{command}`"));
    let mut problems = Vec::new();
    walk(fields, "", output, &mut problems);
    assert!(
        problems.is_empty(),
        "`{command}` against docs/cli.md:\n  {}\noutput: {output:#}",
        problems.join("\n  ")
    );
}

/// Every command (and subcommand) path that takes `--json`: `latchkey status`, `latchkey profile list`, …
fn json_commands(cmd: &clap::Command, prefix: &str, out: &mut BTreeSet<String>) {
    let here = format!("{prefix} {}", cmd.get_name());
    if cmd.get_arguments().any(|a| a.get_long() == Some("json")) {
        out.insert(here.clone());
    }
    for sub in cmd.get_subcommands() {
        json_commands(sub, &here, out);
    }
}

#[test]
fn every_json_output_has_a_schema_in_the_docs_and_a_test_that_checks_it() {
    let schemas = schemas();
    let mut commands = BTreeSet::new();
    json_commands(&cli_definition::Cli::command(), "", &mut commands);
    let undocumented: Vec<&String> = commands
        .iter()
        .filter(|c| {
            !schemas
                .keys()
                .any(|h| h.starts_with(&format!("{} ", c.trim())))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "no schema in docs/cli.md for {undocumented:?}"
    );

    let mut tests = String::new();
    for entry in std::fs::read_dir(root().join("crates/cli/tests/it")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            tests.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let unchecked: Vec<&String> = schemas
        .keys()
        .filter(|h| !tests.contains(&format!("{h:?}")))
        .collect();
    assert!(
        unchecked.is_empty(),
        "no test checks the output against the schema of {unchecked:?}"
    );
}
