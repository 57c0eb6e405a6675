//! The Windows tests of `cargo xtask cross`: core's and the CLI's test binaries under Wine, in
//! a prefix of our own, against a development provider running natively on Linux.

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use super::{cross_target_dir, debian_cargo, debian_first_path, Clock, WINDOWS};
use crate::cargo;
use crate::report::{run_ok, Tally};

/// The packages whose tests run under Wine.
const WINE_TESTED_PACKAGES: &[&str] = &["latchkey-core", "latchkey-cli"];

/// The CLI's test modules compiled out on Windows (`#![cfg(unix)]` at the top of their file in
/// crates/cli/tests/it/), with the reason.
pub const UNIX_ONLY_TEST_MODULES: &[(&str, &str)] = &[
    (
        "latchkey-cli it::cli",
        "its browser hook is a shell script and it checks the Secret Service; \
         the module windows (crates/cli/tests/it/windows.rs) signs in, checks status and token \
         and signs out instead",
    ),
    (
        "latchkey-cli it::aws",
        "its browser hook is a shell script; core's aws and aws_session modules run the \
         identity pool chain under Wine",
    ),
    (
        "latchkey-cli it::aws_consumer",
        "its browser hook is a shell script and botocore and moto are Linux Python programs",
    ),
    (
        "latchkey-cli it::kubectl",
        "its browser hook is a shell script; kubectl and its TLS front run on Linux",
    ),
    (
        "latchkey-cli it::keychain_locked",
        "it locks a gnome-keyring on its own D-Bus session",
    ),
];

/// Tests that cannot run under Wine, by their path in the `it` test binary, each with the
/// reason (passed to the test binaries as `--skip PATH`, which skips every test whose path
/// contains PATH).
pub const NOT_UNDER_WINE: &[(&str, &str)] = &[
    (
        "keychain::keychain_absent_secret_service_gives_specific_error_and_memory_only_session",
        "Linux only: a child process without a D-Bus session bus (no Secret Service)",
    ),
    (
        "keychain::keychain_locked_collection_gives_specific_error_and_memory_only_session",
        "Linux only: a locked gnome-keyring collection",
    ),
    (
        "catalogue::b1_browser_command_runs_without_shell_with_url_as_one_argument",
        "its browser command is a /bin/sh script, which Windows cannot start",
    ),
];

/// The Windows test binaries under Wine, then the browser hand-over test; counted in `tally`.
pub(super) fn run_tests(root: &Path, clock: &Clock, tally: &mut Tally) -> Result<(), String> {
    clock.banner("Wine: a 64-bit prefix with the bcryptprimitives.dll stub");
    let wine = WinePrefix::prepare(root)?;

    clock.banner("a development provider on Linux for the cross-OS sign-in");
    let provider = HostProvider::start(root)?;
    println!(
        "latchkey-devidp (Linux) at {} with client {}",
        provider.issuer, provider.client_id
    );

    clock.banner(&format!(
        "Windows tests under Wine: cargo test --target {WINDOWS} -p {}",
        WINE_TESTED_PACKAGES.join(" -p ")
    ));
    println!("not run under Wine:");
    for (name, why) in UNIX_ONLY_TEST_MODULES.iter().chain(NOT_UNDER_WINE) {
        println!("    {name}: {why}");
    }
    let browser = RecordingBrowser::install(root)?;
    let mut test = all_tests(root, &provider);
    wine.configure(&mut test);
    browser.configure(&mut test);
    let mut wine_tally = Tally::default();
    let mut result = wine_tally.run_cargo_test(&mut test);

    if result.is_ok() {
        clock.banner(&format!(
            "Windows: the browser hand-over (ShellExecuteExW → Wine → {})",
            browser.script.display()
        ));
        let mut handover = browser_handover_test(root);
        wine.configure(&mut handover);
        browser.configure(&mut handover);
        result = wine_tally.run_cargo_test(&mut handover);
    }
    drop(provider);
    wine.stop();
    result?;
    println!(
        "Wine: {} passed, {} failed; {} tests and {} test modules not run (listed above)",
        wine_tally.passed(),
        wine_tally.failed(),
        NOT_UNDER_WINE.len(),
        UNIX_ONLY_TEST_MODULES.len()
    );
    tally.absorb(wine_tally);
    Ok(())
}

/// Every test of the packages tested under Wine, but those in [`NOT_UNDER_WINE`].
fn all_tests(root: &Path, provider: &HostProvider) -> Command {
    let mut test = debian_cargo("test", WINDOWS, root);
    for package in WINE_TESTED_PACKAGES {
        test.args(["-p", package]);
    }
    test.args(["--lib", "--bins", "--tests", "--no-fail-fast", "--"]);
    for (name, _) in NOT_UNDER_WINE {
        test.args(["--skip", name]);
    }
    test.env("LATCHKEY_TEST_HOST_ISSUER", &provider.issuer)
        .env("LATCHKEY_TEST_HOST_CLIENT_ID", &provider.client_id);
    test
}

/// The ignored test that hands an authorize URL to the system browser (Wine's winebrowser).
fn browser_handover_test(root: &Path) -> Command {
    let mut handover = debian_cargo("test", WINDOWS, root);
    // Both packages, as above, so the features (and the build) are the same.
    handover.args([
        "-p",
        "latchkey-core",
        "-p",
        "latchkey-cli",
        "--test",
        "it",
        "--",
        "--ignored",
        "--exact",
        "windows::the_system_browser_hands_the_authorize_url_over_unchanged",
    ]);
    handover
}

/// Rust's std on Windows gets its random bytes from `ProcessPrng` in bcryptprimitives.dll,
/// which Wine 8 (Debian 12) does not have. This stub forwards to `RtlGenRandom`
/// (advapi32's SystemFunction036, which Wine has); it is only ever put into the test prefix.
const BCRYPTPRIMITIVES_STUB: &str = r#"/* Test-only stand-in for Windows' bcryptprimitives.dll under Wine 8 (see xtask/src/cross/wine.rs). */
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
