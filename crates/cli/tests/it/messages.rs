//! The CLI's messages against its own help: every `--flag` a message suggests (the string
//! literals of the CLI's and core's sources) must be one `latchkey --help` documents.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::common;

#[allow(dead_code)]
#[path = "../../src/cli.rs"]
pub(crate) mod cli_definition;

/// Every documented long flag (and visible alias) of `latchkey` and all its subcommands;
/// hidden arguments and hidden aliases are not documented, so a message must not send anyone there.
fn documented_flags() -> BTreeSet<String> {
    let mut flags = BTreeSet::from(["help".to_owned(), "version".to_owned()]);
    collect_flags(&cli_definition::Cli::command(), &mut flags);
    flags
}

fn collect_flags(cmd: &clap::Command, flags: &mut BTreeSet<String>) {
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        flags.extend(arg.get_long().map(str::to_owned));
        flags.extend(
            arg.get_visible_aliases()
                .into_iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    for sub in cmd.get_subcommands() {
        collect_flags(sub, flags);
    }
}

/// The options `latchkey devidp --help` lists (the provider parses its own arguments).
pub(crate) fn devidp_flags() -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["devidp", "--help"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "latchkey devidp --help: {}",
        out.status
    );
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .filter(|line| line.trim_start().starts_with('-'))
        .flat_map(suggested_flags)
        .collect()
}

/// The Rust sources whose strings the CLI prints: its own and core's (core's error texts).
fn message_sources() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["cli/src", "core/src"] {
        rust_files(&crates.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} source files", files.len());
    files
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of a source file outside comments and `#[cfg(test)]` code (a unit
/// test's strings are argument lists and fixtures, not messages); with `docs_are_help`, its
/// `///` comments too (clap prints them as the help).
fn string_literals(source: &str, docs_are_help: bool) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut literals = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                let comment: String = chars.by_ref().take_while(|c| *c != '\n').collect();
                if docs_are_help && comment.starts_with("//") {
                    literals.push(comment);
                }
            }
            '\'' => skip_char_literal(&mut chars),
            '"' => {
                let mut literal = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => literal.extend(['\\'].into_iter().chain(chars.next())),
                        '"' => break,
                        c => literal.push(c),
                    }
                }
                literals.push(literal);
            }
            _ => {}
        }
    }
    literals
}

/// After a `'`: a char literal (`'"'`, `'\''`) is skipped whole; a lifetime is left alone.
fn skip_char_literal(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut ahead = chars.clone();
    let is_literal = match ahead.next() {
        Some('\\') => true,
        Some(_) => ahead.next() == Some('\''),
        None => false,
    };
    if is_literal {
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' => break,
                _ => {}
            }
        }
    }
}

/// The `--flag`s a message names. A flag right after an escaped quote is an argument of some
/// other program in an example list (`[\"firefox\", \"--new-window\"]`), not Latchkey's.
fn suggested_flags(literal: &str) -> Vec<String> {
    let bytes = literal.as_bytes();
    let mut flags = Vec::new();
    let mut i = 0;
    while let Some(at) = literal[i..].find("--").map(|p| p + i) {
        let name: String = literal[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        let before = at.checked_sub(1).map(|b| bytes[b]);
        let other_program = at >= 2 && &bytes[at - 2..at] == b"\\\"";
        let starts_word = !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-');
        if starts_word && !other_program && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            flags.push(name.trim_end_matches('-').to_owned());
        }
        i = at + 2 + name.len();
    }
    flags
}

#[test]
fn every_flag_a_message_suggests_is_one_the_cli_documents() {
    let documented = documented_flags();
    assert!(documented.contains("profile") && documented.contains("allow-any-origin"));
    let mut unknown = Vec::new();
    let devidp = devidp_flags();
    assert!(devidp.contains("port"), "{devidp:?}");
    for file in message_sources() {
        let source = std::fs::read_to_string(&file).unwrap();
        let docs_are_help =
            file.ends_with("cli/src/cli.rs") || file.ends_with("cli/src/profile_args.rs");
        for literal in string_literals(&source, docs_are_help) {
            // `latchkey devidp ARGS` hands ARGS to the provider's own parser.
            let about_devidp = literal.contains("latchkey devidp");
            // `agent install` prints systemctl command lines: their flags are systemctl's.
            if literal.trim_start().starts_with("systemctl ") || literal.contains(": systemctl ") {
                continue;
            }
            for flag in suggested_flags(&literal) {
                let known = documented.contains(&flag) || about_devidp && devidp.contains(&flag);
                if !known {
                    unknown.push(format!("--{flag} in {}: {literal:?}", file.display()));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "messages name flags `latchkey --help` does not document:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_scanner_finds_flags_in_messages_and_not_elsewhere() {
    let source = r#"
        // a comment naming --not-scanned
        let c = '"'; let d = '\''; fn f<'a>(x: &'a str) {}
        Err(format!("allow it for this call (`--allow-origin`), or --profile NAME"))
        let argv = ["firefox", "\"--new-window\""];
        #[cfg(test)]
        mod tests { const A: &str = "--in-a-test"; }
    "#;
    let flags: Vec<String> = string_literals(source, false)
        .iter()
        .flat_map(|l| suggested_flags(l))
        .collect();
    assert_eq!(flags, ["allow-origin", "profile"]);
    let help = string_literals("/// wins over --browser-command\n// not --this\n", true);
    let help_flags: Vec<String> = help.iter().flat_map(|l| suggested_flags(l)).collect();
    assert_eq!(help_flags, ["browser-command"]);
}

/// `aws credentials` runs under an SDK's `credential_process`, far from any window: a missing
/// sign-in names the CLI command for this profile, not the app's button.
#[cfg(unix)]
#[test]
fn aws_credentials_without_a_sign_in_names_the_login_command_for_the_profile() {
    let env = common::Env::new();
    let (idp, profile) = common::start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    let run = env.run(&["aws", "credentials", "--profile", "work"]);
    assert_eq!(run.code, 12, "{}", run.stderr);
    // The point of this test is which command the message hands the user.
    assert!(
        run.stderr.contains("`latchkey login --profile work`") && !run.stderr.contains("press"),
        "{}",
        run.stderr
    );
    assert_eq!(idp.stats().identity_get_credentials, 0);
}

/// A profile that was never signed in is removed without a claim that it was signed out, and
/// nothing is revoked.
#[test]
fn removing_a_profile_never_signed_in_does_not_say_signed_out() {
    let env = common::Env::new();
    let (idp, profile) = common::start_cognito("unused");
    env.write_profile(&profile);
    let run = env.run(&["profile", "remove", "unused"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(idp.stats().revocations, 0);
    assert!(
        !run.stdout.contains("Signed out"),
        "nothing was signed out:\n{}",
        run.stdout
    );
}

/// `doctor`'s keychain line names the store once, also when the store is broken (here: no
/// D-Bus session, so no Secret Service answers).
#[cfg(target_os = "linux")]
#[test]
fn doctor_names_the_keychain_store_once() {
    let env = common::Env::new();
    let mut cmd = env.cmd(&["doctor", "--json"]);
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/latchkey-test-bus",
    )
    // The Secret Service, unreachable (`auto` would use the kernel keyring).
    .env("LATCHKEY_KEYCHAIN", "secret-service");
    let out = cmd.output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let keychain = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "keychain")
        .expect("a keychain check");
    assert_eq!(keychain["status"], "fail", "{keychain}");
    let message = keychain["message"].as_str().unwrap();
    let store = message.split(':').next().unwrap();
    assert_eq!(
        message.matches(store).count(),
        1,
        "the store name is said once: {message}"
    );
}
