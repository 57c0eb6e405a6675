//! The bridge's rules, read from the source: the window's command names are one set in four
//! places, only `ui/bridge.js` touches Tauri, and no view imports another view.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every piece of `text` that sits between `open` and the next `close`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    text.split(open)
        .skip(1)
        .filter_map(|rest| rest.split_once(close).map(|(piece, _)| piece))
        .collect()
}

/// The commands `ui/bridge.js` calls: each `invoke("name"`.
fn bridge_commands() -> BTreeSet<String> {
    let bridge = read(&root().join("ui/bridge.js"));
    between(&bridge, "invoke(\"", "\"")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The names in `src-tauri/build.rs`'s `COMMANDS`.
fn build_rs_commands() -> BTreeSet<String> {
    let build = read(&root().join("src-tauri/build.rs"));
    let list = between(&build, "const COMMANDS: &[&str] = &[", "];");
    assert_eq!(list.len(), 1, "build.rs declares COMMANDS once");
    // the odd pieces between quotes are the quoted names
    list[0]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The commands the capability files allow: each `allow-NAME` of the app's own permissions.
fn capability_commands() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("capabilities")).expect("capabilities/") {
        let path = entry.expect("a capability file").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let capability: serde_json::Value =
            serde_json::from_str(&read(&path)).expect("a capability file is JSON");
        let permissions = capability["permissions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for permission in permissions {
            let id = permission
                .as_str()
                .or_else(|| permission["identifier"].as_str())
                .unwrap_or_default();
            if let Some(command) = id.strip_prefix("allow-").filter(|_| !id.contains(':')) {
                names.insert(command.replace('-', "_"));
            }
        }
    }
    names
}

/// The commands `handler()` registers with the builder.
fn handler_commands() -> BTreeSet<String> {
    let commands = read(&root().join("src-tauri/src/commands/mod.rs"));
    let list = between(&commands, "generate_handler![", "]");
    assert_eq!(list.len(), 1, "mod.rs generates the handler once");
    list[0]
        .split(',')
        .filter_map(|path| path.trim().rsplit("::").next())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn assert_same(what: &str, left: &BTreeSet<String>, right: &BTreeSet<String>) {
    let only_left: Vec<_> = left.difference(right).collect();
    let only_right: Vec<_> = right.difference(left).collect();
    assert!(
        only_left.is_empty() && only_right.is_empty(),
        "{what}: only in the first {only_left:?}, only in the second {only_right:?}"
    );
}

#[test]
fn bridge_build_rs_capabilities_and_handler_name_the_same_commands() {
    let bridge = bridge_commands();
    assert!(bridge.len() > 30, "bridge.js wraps every command");
    assert_same(
        "bridge.js vs build.rs COMMANDS",
        &bridge,
        &build_rs_commands(),
    );
    assert_same(
        "bridge.js vs capabilities/",
        &bridge,
        &capability_commands(),
    );
    assert_same(
        "bridge.js vs commands::handler()",
        &bridge,
        &handler_commands(),
    );
}

/// Every file under `ui/` (relative paths), views and their parts included.
fn ui_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read ui/") {
        let path = entry.expect("a ui entry").path();
        if path.is_dir() {
            ui_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|e| e == "js" || e == "mjs" || e == "html")
        {
            found.push(path);
        }
    }
}

fn all_ui_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    ui_files(&root().join("ui"), &mut found);
    assert!(found.len() > 5, "the UI's files are found");
    found
}

#[test]
fn only_the_bridge_touches_tauri() {
    let bridge = root().join("ui/bridge.js");
    let offenders: Vec<_> = all_ui_files()
        .into_iter()
        .filter(|path| *path != bridge)
        .filter(|path| {
            let text = read(path);
            text.contains("invoke(") || text.contains("__TAURI__")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "only ui/bridge.js may say invoke( or __TAURI__: {offenders:?}"
    );
}

/// The modules `text` imports (`from "./x.js"`, `import "./x.js"`, `import("./x.js")`),
/// resolved against `dir`.
fn imports(dir: &Path, text: &str) -> Vec<PathBuf> {
    let mut specifiers = Vec::new();
    for open in [
        "from \"",
        "from '",
        "import \"",
        "import '",
        "import(\"",
        "import('",
    ] {
        let quote = &open[open.len() - 1..];
        specifiers.extend(between(text, open, quote));
    }
    specifiers
        .into_iter()
        .filter(|s| s.starts_with('.') || s.starts_with('/'))
        .map(|s| normalise(&dir.join(s)))
        .collect()
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The view a file belongs to: `ui/views/NAME.js` and everything under `ui/views/NAME/`.
fn view_of(path: &Path) -> Option<String> {
    let rest = path.strip_prefix(root().join("ui/views")).ok()?;
    let first = rest.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".js").to_owned())
}

#[test]
fn no_view_imports_another_view() {
    let app = root().join("ui/app.js");
    let mut offenders = Vec::new();
    for file in all_ui_files() {
        let dir = file.parent().expect("a file has a folder");
        for target in imports(dir, &read(&file)) {
            let Some(view) = view_of(&target) else {
                continue;
            };
            if file != app && view_of(&file).as_deref() != Some(&*view) {
                offenders.push(format!("{} imports {}", file.display(), target.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a view imports bridge, dom and format (and its own parts), never another view: {offenders:?}"
    );
}
