//! `cargo xtask bundle`: the release app packaged as .deb and .rpm with the Tauri bundler.
//! Uses the prebuilt Tauri CLI pinned in tools/tauri-cli; the packages include the `latchkey` CLI.
//! `cargo xtask test` packages the debug binaries its tests use instead ([`Build::Tests`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::prereq::{answers, ensure_debian_packages, ensure_npm_packages, APP_PACKAGES};
use crate::{cargo, project_root};

/// The Tauri CLI's npm package (`@tauri-apps/cli`, pinned by its committed lockfile).
const TAURI_CLI_DIR: &str = "tools/tauri-cli";

/// The one committed source image every icon is derived from (drawn by icons/make_icon.py).
const ICON_SOURCE: &str = "icons/icon-source.png";

/// What `tauri icon` derives from the source, as (file in icons/, file `tauri icon` writes):
/// PNGs for Linux, .ico and .icns for builds on Windows and macOS. 256x256.png is the 256 px
/// image under a name the Linux bundler files as `hicolor/256x256` (its `@2x` twin lands in a
/// non-standard `256x256@2` directory, so tauri.conf.json lists the plain one).
const DERIVED_ICONS: &[(&str, &str)] = &[
    ("32x32.png", "32x32.png"),
    ("64x64.png", "64x64.png"),
    ("128x128.png", "128x128.png"),
    ("128x128@2x.png", "128x128@2x.png"),
    ("256x256.png", "128x128@2x.png"),
    ("icon.png", "icon.png"),
    ("icon.ico", "icon.ico"),
    ("icon.icns", "icon.icns"),
];

/// The bundles built when none are asked for. AppImage is left out on purpose: its bundler
/// downloads a runtime from outside the package registries (see CONTRIBUTING.md, "Building
/// the packages").
const DEFAULT_BUNDLES: &str = "deb,rpm";

const USAGE: &str = "\
cargo xtask bundle [--bundles LIST] [--icons]

Builds the release CLI (`latchkey`) and the release app, then packages both with the Tauri
bundler into target/release/bundle/. LIST is comma-separated (default: deb,rpm); `appimage`
works only where the AppImage runtime can be downloaded. --icons derives the icon set from
icons/icon-source.png again first (after changing it; missing icons are always derived).";

pub fn bundle(args: &[String]) -> Result<(), String> {
    let options = parse_args(args)?;
    let root = project_root();
    let packages = package(&root, &options.bundles, options.icons, Build::Release)?;
    report(&root, &packages)
}

/// Which binaries a package is made of. Both go through the same bundler configuration
/// (tauri.conf.json): the same files, control data, desktop entry and icons.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Build {
    /// What users install (`cargo xtask bundle`): the CLI and the app compiled here with the
    /// shipped release profile (size-optimised, whole-program LTO), packaged into
    /// target/release/bundle/, xz at its smallest.
    Release,
    /// CI's install test (`cargo xtask test`): the debug binaries `cargo test --workspace`
    /// has just built, packaged into target/debug/bundle/ without compiling anything again
    /// (the release build was 12 of CI's 40 minutes). It proves the packaging — files,
    /// control data, an installed app that opens its window — not the release profile,
    /// whose sizes BENCHMARKS.md measures.
    Tests,
}

impl Build {
    /// The cargo profile directory under target/ the binaries come from.
    fn profile_dir(self) -> &'static str {
        match self {
            Build::Release => "release",
            Build::Tests => "debug",
        }
    }

    /// `dpkg-deb`'s xz options: the smallest download for users; for CI's package of debug
    /// binaries (≈ 250 MB unpacked) the fastest xz, since only the format is under test.
    fn xz_options(self) -> &'static [&'static str] {
        match self {
            Build::Release => &["-Zxz", "-z9", "-Sextreme"],
            Build::Tests => &["-Zxz", "-z0"],
        }
    }
}

/// Packages `build`'s CLI and app as `bundles` (e.g. `deb`), compiling them first for a
/// release; returns the packages' paths.
pub fn package(
    root: &Path,
    bundles: &str,
    icons: bool,
    build: Build,
) -> Result<Vec<PathBuf>, String> {
    if !cfg!(target_os = "linux") {
        return Err(
            "`cargo xtask bundle` packages for Linux (.deb, .rpm); on macOS or Windows run \
             `tools/tauri-cli/node_modules/.bin/tauri build` there"
                .into(),
        );
    }
    ensure_debian_packages("building the desktop app", APP_PACKAGES)?;
    let tauri = tauri_cli(root)?;
    derive_icons(root, &tauri, icons)?;

    if build == Build::Release {
        step("cargo build --release -p latchkey-cli");
        run(Command::new(cargo())
            .args(["build", "--release", "-p", "latchkey-cli"])
            .current_dir(root))?;
    }
    // The bundler copies the CLI and its share files from target/package/ into the packages
    // (tauri.conf.json, bundle.linux.{deb,rpm}.files), whichever build they come from.
    stage_cli(root, build)?;

    match build {
        // `tauri build` compiles the app itself (release, with Tauri's production cfg) and
        // bundles.
        Build::Release => {
            step(&format!("tauri build --bundles {bundles}"));
            run(Command::new(&tauri)
                .args(["build", "--ci", "--bundles", bundles])
                .current_dir(root))?;
        }
        // `tauri bundle` packages target/debug/latchkey-app as it is. No binary patching: it
        // marks the executable with its bundle type for Tauri's updater (which Latchkey does
        // not use), in place, and this executable is the one the app's tests run.
        Build::Tests => {
            step(&format!("tauri bundle --debug --bundles {bundles}"));
            run(Command::new(&tauri)
                .args(["bundle", "--ci", "--debug", "--no-binary-patching"])
                .args(["--bundles", bundles])
                .current_dir(root))?;
        }
    }

    let packages = packages_built(root, bundles, build)?;
    for deb in packages
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
    {
        recompress_deb(deb, build)?;
    }
    Ok(packages)
}

/// Repacks a .deb from the Tauri bundler (gzip, with no option to change it) with xz, the
/// compression Debian's own packages use: the same files, control data and checksums, and
/// less than half the download (BENCHMARKS.md, row 7). Where dpkg-deb is missing (building
/// on a non-Debian system) the package stays as the bundler made it, and the run says so.
fn recompress_deb(deb: &Path, build: Build) -> Result<(), String> {
    if !answers("dpkg-deb") {
        println!(
            "xtask: dpkg-deb not found: {} stays gzip-compressed (about twice the size)",
            deb.display()
        );
        return Ok(());
    }
    step("dpkg-deb: repack the .deb with xz");
    let scratch = deb.with_extension("repack");
    let repacked = deb.with_extension("deb.xz-tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    run(Command::new("dpkg-deb")
        .arg("--raw-extract")
        .arg(deb)
        .arg(&scratch))?;
    run(Command::new("dpkg-deb")
        .arg("--root-owner-group")
        .args(build.xz_options())
        .arg("--build")
        .arg(&scratch)
        .arg(&repacked))?;
    std::fs::rename(&repacked, deb)
        .map_err(|e| format!("replacing {} with its xz repack: {e}", deb.display()))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

struct Options {
    bundles: String,
    icons: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        bundles: DEFAULT_BUNDLES.to_string(),
        icons: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--icons" => options.icons = true,
            "--bundles" | "-b" => {
                options.bundles = args
                    .next()
                    .ok_or("--bundles needs a value, e.g. --bundles deb,rpm")?
                    .clone();
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unexpected argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(options)
}

/// The pinned Tauri CLI, installed with `npm ci` when missing or older than the lockfile.
fn tauri_cli(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join(TAURI_CLI_DIR);
    ensure_npm_packages(&dir)?;
    let binary = dir.join("node_modules").join(".bin").join("tauri");
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!(
            "the Tauri CLI is missing at {}; run `npm ci` in {}",
            binary.display(),
            dir.display()
        ))
    }
}

/// Derives the icon set from the source image with `tauri icon`, when asked (`--icons`, after
/// changing the source) or when a derived file is missing. The derived files are committed
/// (modification times after a checkout say nothing), so this normally does nothing.
fn derive_icons(root: &Path, tauri: &Path, force: bool) -> Result<(), String> {
    let icons = root.join("icons");
    let source = root.join(ICON_SOURCE);
    if !source.is_file() {
        return Err(format!(
            "the icon source {} is missing; draw it with `python3 icons/make_icon.py`",
            source.display()
        ));
    }
    let missing: Vec<&str> = DERIVED_ICONS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !icons.join(name).is_file())
        .collect();
    if !force && missing.is_empty() {
        return Ok(());
    }
    step(&format!("tauri icon {ICON_SOURCE}"));
    // `tauri icon` also writes Windows Store, Android and iOS icons: derive into a scratch
    // directory and keep the ones the desktop bundles use.
    let scratch = root.join("target").join("icon-set");
    let _ = std::fs::remove_dir_all(&scratch);
    run(Command::new(tauri)
        .arg("icon")
        .arg(&source)
        .arg("--output")
        .arg(&scratch)
        .current_dir(root))?;
    for (name, derived) in DERIVED_ICONS {
        std::fs::copy(scratch.join(derived), icons.join(name))
            .map_err(|e| format!("copying the derived icon {derived} to {name}: {e}"))?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The packages of this version in `target/<profile>/bundle/<kind>/` for each of `bundles`.
fn packages_built(root: &Path, bundles: &str, build: Build) -> Result<Vec<PathBuf>, String> {
    let version = package_version(root)?;
    let release = root.join("target").join(build.profile_dir());
    let mut packages = Vec::new();
    for kind in bundles.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let dir = release.join("bundle").join(kind);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Err(format!(
                "the bundler reported success but {} does not exist",
                dir.display()
            ));
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(&version))
            })
            .collect();
        if found.is_empty() {
            return Err(format!(
                "no {kind} package for version {version} in {}",
                dir.display()
            ));
        }
        found.sort();
        packages.extend(found);
    }
    Ok(packages)
}

/// Prints each package with its size, and the binaries inside.
fn report(root: &Path, packages: &[PathBuf]) -> Result<(), String> {
    let version = package_version(root)?;
    let release = root.join("target").join("release");
    println!();
    println!("Latchkey {version} packages:");
    for package in packages {
        println!("    {:>9}  {}", size_of(package), package.display());
    }
    println!("binaries inside (stripped):");
    for binary in ["latchkey-app", "latchkey"] {
        let path = release.join(binary);
        println!("    {:>9}  /usr/bin/{binary}", size_of(&path));
    }
    println!(
        "install: sudo apt install {}",
        packages
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "./<package>.deb".into())
    );
    Ok(())
}

/// The version the bundler uses: the root package's, from Cargo.toml (tauri.conf.json
/// deliberately has no `version`).
fn package_version(root: &Path) -> Result<String, String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("reading Cargo.toml: {e}"))?;
    manifest_version(&manifest).ok_or_else(|| "Cargo.toml has no [package] version".into())
}

fn manifest_version(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            let value = line
                .strip_prefix("version")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='));
            if let Some(value) = value {
                return Some(value.trim().trim_matches('"').to_string());
            }
        }
    }
    None
}

fn size_of(path: &Path) -> String {
    match path.metadata() {
        Ok(meta) => human_size(meta.len()),
        Err(_) => "missing".into(),
    }
}

fn human_size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    }
}

/// Where the bundler takes the CLI and its share files from (tauri.conf.json,
/// bundle.linux.{deb,rpm}.files): one place for both builds.
const PACKAGE_STAGING_DIR: &str = "target/package";

/// Puts `build`'s CLI into target/package/ (a hard link where it can) and generates its
/// completions (bash, zsh, fish) and gzipped manual page with that CLI itself, so they always
/// match its commands.
fn stage_cli(root: &Path, build: Build) -> Result<(), String> {
    step("latchkey completions bash|zsh|fish, latchkey man");
    let built = root
        .join("target")
        .join(build.profile_dir())
        .join("latchkey");
    let staging = root.join(PACKAGE_STAGING_DIR);
    let share = staging.join("share");
    std::fs::create_dir_all(&share)
        .map_err(|e| format!("cannot create {}: {e}", share.display()))?;
    let cli = staging.join("latchkey");
    let _ = std::fs::remove_file(&cli);
    std::fs::hard_link(&built, &cli)
        .or_else(|_| std::fs::copy(&built, &cli).map(|_| ()))
        .map_err(|e| format!("cannot stage {} as {}: {e}", built.display(), cli.display()))?;
    let files: [(&[&str], &str); 4] = [
        (&["completions", "bash"], "latchkey.bash"),
        (&["completions", "zsh"], "_latchkey"),
        (&["completions", "fish"], "latchkey.fish"),
        (&["man"], "latchkey.1"),
    ];
    for (args, name) in files {
        let out = Command::new(&cli)
            .args(args)
            .output()
            .map_err(|e| format!("could not run {}: {e}", cli.display()))?;
        if !out.status.success() {
            return Err(format!(
                "`latchkey {}` failed ({})",
                args.join(" "),
                out.status
            ));
        }
        let path = share.join(name);
        std::fs::write(&path, out.stdout)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    // -n: no name or time stamp inside, so the package is reproducible.
    run(Command::new("gzip")
        .args(["-n", "-9", "-f"])
        .arg(share.join("latchkey.1")))
}

fn step(what: &str) {
    println!("xtask: {what}");
}

/// Variables cargo sets for the xtask process itself (`cargo run -p xtask`). Some build
/// scripts (ring's) list them in `rerun-if-env-changed`, so passing them on would make every
/// nested build differ from a plain `cargo build --release` and rebuild half the tree.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let status = command
        .status()
        .map_err(|e| format!("could not run `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_package_table() {
        let manifest = "[package]\nname = \"latchkey\"\nversion = \"1.2.3\"\n\n\
                        [workspace.package]\nversion = \"9.9.9\"\n";
        assert_eq!(manifest_version(manifest).as_deref(), Some("1.2.3"));
        assert_eq!(manifest_version("[workspace]\nversion = \"1\"\n"), None);
        assert!(package_version(&project_root()).is_ok());
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(3 * 1024 * 1024 + 300 * 1024), "3.3 MiB");
        assert_eq!(human_size(2048), "2 KiB");
    }
}
