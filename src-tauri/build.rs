//! Build script: Tauri's code generation with the app's command manifest (so that
//! `capabilities/default.json` really is the allow-list of what the window may call), plus two
//! facts for the About box: the commit this was built from and the licences of every bundled
//! crate (generated from `cargo metadata`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

fn main() {
    println!("cargo:rustc-env=LATCHKEY_COMMIT={}", commit());
    println!("cargo:rerun-if-changed=Cargo.lock");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(format!("{out}/licences.txt"), licences()).expect("write licences.txt");
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build");
}

/// Every command of `src-tauri/src/commands/` (and of `ui/bridge.js`): each gets `allow-…`/`deny-…`
/// permissions, and only those the capability file grants can be called. A test in
/// `commands/tests.rs` keeps this list, the capability file, the handler and the bridge the same.
const COMMANDS: &[&str] = &[
    "app_info",
    "session_state",
    "sign_in",
    "switch_user",
    "cancel_sign_in",
    "open_authorize_url_again",
    "refresh_now",
    "sign_out",
    "inspect_token",
    "inspect_pasted",
    "inspect_with_keys",
    "save_expectations",
    "userinfo",
    "refresh_token_info",
    "reveal_token",
    "copy_token",
    "copy_text",
    "call_api",
    "cancel_api_call",
    "console_load",
    "console_save",
    "console_delete",
    "console_clear_history",
    "curl_command",
    "aws_identity",
    "reveal_aws",
    "copy_aws_environment",
    "aws_config_snippet",
    "activity_log",
    "clear_activity",
    "export_activity",
    "use_profile",
    "remove_profile",
    "save_profile",
    "profile_draft",
    "test_connection",
    "export_profile",
    "review_import_file",
    "review_import_text",
    "confirm_import",
    "stray_sessions",
    "remove_stray_sessions",
    "discover_browsers",
    "ui_ready",
    "set_keep_in_tray",
    "quit_app",
];

fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

/// Every crate linked into the app (normal and build dependencies for this target), grouped
/// by licence expression.
fn licences() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &target,
        ])
        .output();
    let Some(output) = output.ok().filter(|o| o.status.success()) else {
        return "The licence list could not be generated for this build.".into();
    };
    let meta: serde_json::Value = match serde_json::from_slice(&output.stdout) {
        Ok(v) => v,
        Err(_) => return "The licence list could not be generated for this build.".into(),
    };
    let packages: HashMap<&str, (&str, &str, &str)> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["id"].as_str()?,
                (
                    p["name"].as_str()?,
                    p["version"].as_str()?,
                    p["license"].as_str().unwrap_or("(no licence field)"),
                ),
            ))
        })
        .collect();
    let mut by_licence: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for id in linked_packages(&meta) {
        if let Some((name, version, licence)) = packages.get(id) {
            by_licence
                .entry(licence)
                .or_default()
                .push(format!("{name} {version}"));
        }
    }
    let total: usize = by_licence.values().map(Vec::len).sum();
    let mut text = format!("{total} crates are compiled into this app.\n");
    for (licence, crates) in by_licence {
        text.push_str(&format!(
            "\n{licence} ({}):\n  {}\n",
            crates.len(),
            crates.join(", ")
        ));
    }
    text
}

/// The ids of the packages reachable from the app through normal and build dependencies.
fn linked_packages(meta: &serde_json::Value) -> BTreeSet<&str> {
    let nodes: HashMap<&str, Vec<&str>> = meta["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let deps = n["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|k| k["kind"].as_str() != Some("dev"))
                })
                .filter_map(|d| d["pkg"].as_str())
                .collect();
            Some((n["id"].as_str()?, deps))
        })
        .collect();
    let root = meta["resolve"]["root"].as_str().unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(nodes.get(id).into_iter().flatten().copied());
        }
    }
    seen
}
