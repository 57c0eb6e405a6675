//! The test build that lints: clippy and rustdoc run on each workspace target while cargo
//! compiles it, so a full run has no check pass of its own (CI time, issue 27 item 5).
//!
//! `cargo clippy` and `cargo doc` each need every dependency's check-mode metadata, a pass of
//! their own over the whole tree (≈ 13 of a CI run's 60 CPU-minutes) on top of the test build's.
//! Here xtask is cargo's `RUSTC_WORKSPACE_WRAPPER` for the test build: for every workspace
//! target it runs `clippy-driver` in rustc's place (clippy's lints, then the normal
//! compilation), then `rustdoc` on the same arguments for a library (and for a binary or an
//! example, from its test build, which every one of them has under `--all-targets`). Both
//! report through cargo's JSON messages as rustc would, so [`LintCount`] sees every warning of
//! either; warnings are counted rather than denied, so a lint does not stop the tests.
//!
//! The wrapper is part of cargo's fingerprint of workspace targets: every cargo step of a full
//! run that reuses the test build (the doc tests) must run with the same [`env()`], or it
//! compiles the workspace again.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::project_root;

/// Set (to clippy-driver's path) in the environment of cargo steps that use the wrapper;
/// xtask started by cargo with it and rustc's path as its first argument is the wrapper.
const DRIVER_VAR: &str = "LATCHKEY_XTASK_CLIPPY_DRIVER";

/// The lints the wrapper turns on: clippy's defaults and rustc's, as warnings (CLIPPY_ARGS is
/// how `cargo clippy` hands arguments to clippy-driver; none are needed for warn-level).
const CLIPPY_ARGS: &str = "";

/// The environment of every cargo step of a full run that builds or reuses the test build.
pub fn env() -> Result<Vec<(String, OsString)>, String> {
    let driver = clippy_driver()?;
    let mut env = vec![
        ("RUSTC_WORKSPACE_WRAPPER".into(), wrapper_copy()?.into()),
        (DRIVER_VAR.into(), driver.into()),
        ("CLIPPY_ARGS".into(), CLIPPY_ARGS.into()),
    ];
    // CI builds from nothing and never again: incremental compilation's caches of the
    // workspace's crates would only cost time there.
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        env.push(("CARGO_INCREMENTAL".into(), "0".into()));
    }
    Ok(env)
}

/// Whether this xtask process was started by cargo as the wrapper (`xtask RUSTC ARGS…`).
pub fn is_wrapper_invocation(first_arg: Option<&str>) -> bool {
    std::env::var_os(DRIVER_VAR).is_some()
        && first_arg.is_some_and(|arg| Path::new(arg).file_stem().is_some_and(|s| s == "rustc"))
}

/// clippy-driver of the toolchain that runs us (`rustup which`), or the one on PATH.
fn clippy_driver() -> Result<PathBuf, String> {
    let rustup = Command::new("rustup")
        .args(["which", "clippy-driver"])
        .output();
    if let Ok(out) = rustup {
        if out.status.success() {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            return Ok(PathBuf::from(path));
        }
    }
    let on_path = Command::new("clippy-driver").arg("-V").output();
    match on_path {
        Ok(out) if out.status.success() => Ok(PathBuf::from("clippy-driver")),
        _ => Err(
            "clippy-driver was not found: install clippy (`rustup component add clippy`)".into(),
        ),
    }
}

/// A copy of this xtask executable for cargo to run as the wrapper: the test build compiles
/// xtask's own tests, and the wrapper must not be the file a build may replace. The path is
/// fixed, since cargo fingerprints it.
fn wrapper_copy() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("where is xtask? {e}"))?;
    let copy = project_root().join("target").join("xtask-rustc-wrapper");
    std::fs::create_dir_all(copy.parent().expect("target/ has a parent"))
        .map_err(|e| format!("cannot create target/: {e}"))?;
    // A new file, not an overwrite: a wrapper of an earlier build may still be running.
    let staged = copy.with_extension("new");
    std::fs::copy(&exe, &staged)
        .and_then(|_| std::fs::rename(&staged, &copy))
        .map_err(|e| format!("cannot copy xtask to {}: {e}", copy.display()))?;
    Ok(copy)
}

/// The wrapper: `args` are rustc's path and arguments. Compiles (and lints) with clippy-driver,
/// then documents the target when it is one `cargo doc` documents.
pub fn wrap(args: &[String]) -> ExitCode {
    let driver = std::env::var_os(DRIVER_VAR).expect("checked by is_wrapper_invocation");
    let (rustc, rustc_args) = args.split_first().expect("rustc's path comes first");
    let outcome = succeeded(Command::new(driver).args(args), "clippy-driver").and_then(|()| {
        match RustdocRun::for_compilation(rustc_args) {
            Some(doc) => succeeded(&mut doc.command(rustc), "rustdoc"),
            None => Ok(()),
        }
    });
    outcome.err().unwrap_or(ExitCode::SUCCESS)
}

/// Runs `command` (`what`, for the message when it cannot start); its failure as this
/// process's exit code.
fn succeeded(command: &mut Command, what: &str) -> Result<(), ExitCode> {
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(ExitCode::from(status.code().unwrap_or(1) as u8)),
        Err(e) => {
            eprintln!("xtask: could not start {what}: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// What rustdoc needs from one rustc command line of cargo's.
#[derive(Debug, PartialEq)]
struct RustdocRun {
    args: Vec<String>,
    /// A binary or an example: documented with its private items, as `cargo doc` does.
    binary: bool,
    out_dir: PathBuf,
}

impl RustdocRun {
    /// `None` when `cargo doc --lib --bins --examples` would not document this compilation:
    /// probes (`-vV`, `--print`), a library's test build, integration tests and benches, and a
    /// binary's non-test build (its test build is documented instead: see the module doc).
    fn for_compilation(rustc_args: &[String]) -> Option<Self> {
        let args = expand_argfiles(rustc_args);
        let test = args.iter().any(|a| a == "--test");
        let crate_type = value_of(&args, "--crate-type");
        let binary = std::env::var_os("CARGO_BIN_NAME").is_some();
        let documented = match (test, crate_type.as_deref()) {
            (true, _) => binary,
            (false, Some("lib" | "rlib" | "proc-macro")) => true,
            (false, _) => false,
        };
        if !documented || args.iter().any(|a| a.starts_with("--print")) {
            return None;
        }
        let out_dir = PathBuf::from(value_of(&args, "--out-dir")?);
        // target/debug/deps (or examples) → target/doc
        let doc_dir = out_dir.parent()?.parent()?.join("doc");
        Some(RustdocRun {
            args: rustdoc_args(&args),
            binary,
            out_dir: doc_dir,
        })
    }

    /// rustdoc next to `rustc` (or `RUSTDOC`), writing where `cargo doc` writes.
    fn command(&self, rustc: &str) -> Command {
        let rustdoc = std::env::var_os("RUSTDOC").unwrap_or_else(|| {
            let rustc = Path::new(rustc);
            match rustc.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.join("rustdoc").into(),
                _ => "rustdoc".into(),
            }
        });
        let mut command = Command::new(rustdoc);
        command.args(&self.args).arg("-o").arg(&self.out_dir);
        if self.binary {
            command.args(["--crate-type", "bin", "--document-private-items"]);
        }
        command
    }
}

/// The arguments rustc and rustdoc share: the crate, its source, edition, cfgs, search paths,
/// dependencies, lint levels and the diagnostics' format (so cargo reads rustdoc's warnings as
/// it reads rustc's). Code generation, outputs and `--test` are rustc's alone.
fn rustdoc_args(args: &[String]) -> Vec<String> {
    const WITH_VALUE: [&str; 11] = [
        "--crate-name",
        "--edition",
        "--cfg",
        "--check-cfg",
        "-L",
        "--extern",
        "--cap-lints",
        "-W",
        "-A",
        "-D",
        "-F",
    ];
    const FLAGS_WITH_VALUE_DROPPED: [&str; 5] = [
        "--crate-type",
        "--emit",
        "--out-dir",
        "-C",
        "--diagnostic-width",
    ];
    let mut kept = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(name) = WITH_VALUE.iter().find(|n| *n == arg) {
            kept.push(name.to_string());
            kept.extend(iter.next().cloned());
        } else if FLAGS_WITH_VALUE_DROPPED.contains(&arg.as_str()) {
            iter.next();
        } else if let Some(json) = arg.strip_prefix("--json=") {
            // rustdoc makes no artifacts; cargo must not wait for one from it.
            let kinds: Vec<&str> = json.split(',').filter(|k| *k != "artifacts").collect();
            kept.push(format!("--json={}", kinds.join(",")));
        } else if arg.starts_with("--error-format=")
            || arg.starts_with("--color=")
            || arg.starts_with("--edition=")
            || arg.starts_with("--crate-name=")
            || arg.ends_with(".rs")
        {
            kept.push(arg.clone());
        }
    }
    kept
}

/// The value after `flag` (`--flag VALUE` or `--flag=VALUE`).
fn value_of(args: &[String], flag: &str) -> Option<String> {
    let prefix = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, arg)| {
        if arg == flag {
            args.get(i + 1).cloned()
        } else {
            arg.strip_prefix(&prefix).map(str::to_owned)
        }
    })
}

/// cargo passes a long command line as `@FILE` (one argument per line).
fn expand_argfiles(args: &[String]) -> Vec<String> {
    args.iter()
        .flat_map(|arg| match arg.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .map(|text| text.lines().map(str::to_owned).collect())
                .unwrap_or_else(|_| vec![arg.clone()]),
            None => vec![arg.clone()],
        })
        .collect()
}

/// The warnings and errors of a build's JSON messages (`--message-format
/// json-diagnostic-rendered-ansi`): each printed as cargo would, and counted.
#[derive(Debug, Default)]
pub struct LintCount {
    pub warnings: usize,
    pub errors: usize,
}

impl LintCount {
    /// Reads one message: prints a diagnostic's rendered text on stderr and counts it.
    pub fn read(&mut self, message: &serde_json::Value) {
        if message["reason"] != "compiler-message" {
            return;
        }
        let diagnostic = &message["message"];
        if let Some(rendered) = diagnostic["rendered"].as_str() {
            eprint!("{rendered}");
        }
        // rustc's closing "N warnings emitted" carries no span: it is a summary, not a finding.
        let summary = diagnostic["spans"].as_array().is_some_and(|s| s.is_empty())
            && diagnostic["code"].is_null();
        match diagnostic["level"].as_str() {
            Some("warning") if !summary => self.warnings += 1,
            Some("error") if !summary => self.errors += 1,
            _ => {}
        }
    }

    pub fn clean(&self) -> bool {
        self.warnings == 0 && self.errors == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn rustdoc_gets_the_crate_its_dependencies_and_lint_levels_but_no_codegen_or_outputs() {
        let rustc = strings(&[
            "--crate-name",
            "latchkey_core",
            "--edition=2021",
            "crates/core/src/lib.rs",
            "--error-format=json",
            "--json=diagnostic-rendered-ansi,artifacts,future-incompat",
            "--crate-type",
            "lib",
            "--emit=dep-info,metadata,link",
            "-C",
            "embed-bitcode=no",
            "-C",
            "debuginfo=line-tables-only",
            "--cfg",
            "feature=\"default\"",
            "--check-cfg",
            "cfg(docsrs,test)",
            "-C",
            "metadata=0123",
            "--out-dir",
            "/t/debug/deps",
            "-L",
            "dependency=/t/debug/deps",
            "--extern",
            "url=/t/debug/deps/liburl-1.rmeta",
            "-W",
            "unsafe_code",
        ]);
        assert_eq!(
            rustdoc_args(&rustc),
            strings(&[
                "--crate-name",
                "latchkey_core",
                "--edition=2021",
                "crates/core/src/lib.rs",
                "--error-format=json",
                "--json=diagnostic-rendered-ansi,future-incompat",
                "--cfg",
                "feature=\"default\"",
                "--check-cfg",
                "cfg(docsrs,test)",
                "-L",
                "dependency=/t/debug/deps",
                "--extern",
                "url=/t/debug/deps/liburl-1.rmeta",
                "-W",
                "unsafe_code",
            ])
        );
    }

    #[test]
    fn a_librarys_test_build_is_not_documented_and_its_normal_build_is() {
        let lib = strings(&[
            "--crate-name",
            "x",
            "src/lib.rs",
            "--crate-type",
            "lib",
            "--out-dir",
            "/t/debug/deps",
        ]);
        let run = RustdocRun::for_compilation(&lib).expect("a library is documented");
        assert_eq!(run.out_dir, PathBuf::from("/t/doc"));
        assert!(!run.binary);
        let test = strings(&[
            "--crate-name",
            "x",
            "src/lib.rs",
            "--test",
            "--out-dir",
            "/t/d/deps",
        ]);
        assert_eq!(RustdocRun::for_compilation(&test), None);
    }

    #[test]
    fn probes_are_not_documented() {
        let probe = strings(&[
            "-",
            "--crate-name",
            "___",
            "--print=file-names",
            "--crate-type",
            "lib",
        ]);
        assert_eq!(RustdocRun::for_compilation(&probe), None);
        assert_eq!(RustdocRun::for_compilation(&strings(&["-vV"])), None);
    }

    #[test]
    fn a_summary_is_not_counted_a_finding_is() {
        let mut count = LintCount::default();
        let summary = serde_json::json!({"reason": "compiler-message", "message": {
            "level": "warning", "code": null, "spans": [], "rendered": ""}});
        let finding = serde_json::json!({"reason": "compiler-message", "message": {
            "level": "warning", "code": {"code": "clippy::needless_return"},
            "spans": [{"file_name": "src/lib.rs"}], "rendered": ""}});
        count.read(&summary);
        assert!(count.clean());
        count.read(&finding);
        assert_eq!(count.warnings, 1);
    }
}
