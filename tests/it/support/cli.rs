//! The `latchkey` CLI binary for tests of the app package (its own package's binaries are not
//! this package's `CARGO_BIN_EXE_*`): built when missing or older than its sources.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The CLI binary (`latchkey` from crates/cli), next to this test's directory; built when it is
/// missing or older than the sources it is made from.
pub fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("latchkey"))
        .expect("target directory");
    let root = super::project_root();
    let newest_source = ["crates/cli/src", "crates/core/src"]
        .iter()
        .flat_map(|d| walk(&root.join(d)))
        .chain(
            [
                "Cargo.lock",
                "crates/cli/Cargo.toml",
                "crates/core/Cargo.toml",
            ]
            .map(|f| root.join(f)),
        )
        .filter_map(|p| p.metadata().and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let built = bin.metadata().and_then(|m| m.modified()).ok();
    if built.is_none_or(|b| b < newest_source) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "latchkey-cli",
                "--bin",
                "latchkey",
            ])
            .current_dir(&root)
            .status()
            .expect("run cargo build -p latchkey-cli");
        assert!(status.success(), "`cargo build -p latchkey-cli` failed");
    }
    assert!(
        bin.exists(),
        "the CLI binary is missing at {}",
        bin.display()
    );
    bin
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
