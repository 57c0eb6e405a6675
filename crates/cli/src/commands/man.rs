//! `latchkey man`: the one manual page, from the command line's own definition (clap_mangen)
//! plus the hand-written EXIT STATUS, ENVIRONMENT, FILES and CONFIGURATION sections.

use std::process::ExitCode;

use clap::CommandFactory;
use roff::{bold, roman, Roff};

use super::completions::write_stdout;
use crate::cli::Cli;
use crate::failure::{Exit, Failure, EXIT_TABLE};
use crate::help;

/// The binary's name as `man` knows it.
const BIN: &str = "latchkey";

/// One complete page: clap_mangen's title, name, synopsis, description and (global) options,
/// then every command with its full `--help` (clap_mangen would list them as `latchkey-login(1)`
/// pages, which are not installed), the examples, and the sections clap cannot know.
pub fn man() -> ExitCode {
    // A fixed width: the page is the same whoever generates it, at whatever terminal size.
    let mut root = Cli::command().term_width(80);
    root.build();
    let page = clap_mangen::Man::new(root.clone());
    let mut out = Vec::new();
    let rendered = page
        .render_title(&mut out)
        .and_then(|()| page.render_name_section(&mut out))
        .and_then(|()| page.render_synopsis_section(&mut out))
        .and_then(|()| page.render_description_section(&mut out))
        .and_then(|()| page.render_options_section(&mut out))
        .and_then(|()| commands_section(&root).to_writer(&mut out))
        .and_then(|()| hand_written_sections().to_writer(&mut out))
        .and_then(|()| page.render_version_section(&mut out));
    match rendered {
        Ok(()) => write_stdout(&out),
        Err(e) => {
            Failure::new(Exit::Other, format!("cannot render the manual page ({e}).")).report(false)
        }
    }
}

/// `COMMANDS`: each command and subcommand as `--help` shows it, in order; its exit codes as
/// one line (the table is in EXIT STATUS, once).
fn commands_section(root: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    // A stack, so each command is followed by its own subcommands.
    let children = |path: &str, command: &clap::Command| {
        let mut list: Vec<(String, clap::Command)> = command
            .get_subcommands()
            .map(|c| {
                (
                    format!("{path} {}", c.get_name()).trim().to_owned(),
                    c.clone(),
                )
            })
            .collect();
        list.reverse();
        list
    };
    let mut pending = children("", root);
    while let Some((path, mut command)) = pending.pop() {
        if command.get_name() == "help" {
            continue;
        }
        let exits = help::exits_of(&path);
        let text = command.render_long_help().to_string();
        let text = text.replace(&help::exit_block(exits), &help::exit_line(exits));
        roff.control("SS", [format!("{BIN} {path}").as_str()]);
        roff.control("nf", []);
        roff.text([roman(text.trim_end())]);
        roff.control("fi", []);
        pending.extend(children(&path, &command));
    }
    roff
}

/// EXAMPLES, EXIT STATUS, ENVIRONMENT, FILES and CONFIGURATION.
fn hand_written_sections() -> Roff {
    let mut roff = Roff::new();
    // Ragged right: paths and flags are not stretched apart.
    roff.control("ad", ["l"]);
    roff.control("SH", ["EXAMPLES"]);
    preformatted(
        &mut roff,
        help::MAIN_EXAMPLES.trim_start_matches("Examples:\n"),
    );
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_TABLE {
        tagged(&mut roff, &code.to_string(), meaning);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in help::ENVIRONMENT {
        tagged(&mut roff, name, meaning);
    }
    roff.control("SH", ["FILES"]);
    // Paths are not hyphenated: a reader copies them.
    roff.control("nh", []);
    for (path, meaning) in FILES {
        tagged(&mut roff, path, meaning);
    }
    roff.control("SH", ["CONFIGURATION"]);
    roff.text([roman(CONFIGURATION_INTRO)]);
    roff.control("PP", []);
    roff.control("RS", []);
    preformatted(&mut roff, CONFIGURATION_EXAMPLE);
    roff.control("RE", []);
    roff.control("PP", []);
    roff.text([roman(CONFIGURATION_MORE)]);
    roff
}

/// One `.TP` entry: `tag` in bold, `text` indented under it.
fn tagged(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []);
    roff.text([bold(tag)]);
    roff.text([roman(text)]);
}

/// Lines kept as written (examples, a file's text).
fn preformatted(roff: &mut Roff, text: &str) {
    roff.control("nf", []);
    roff.text([roman(text.trim_end())]);
    roff.control("fi", []);
}

const FILES: &[(&str, &str)] = &[
    (
        "~/.config/latchkey/config.toml",
        "The profiles, shared with the Latchkey app; LATCHKEY_CONFIG or --config names another \
         file. On macOS in ~/Library/Application Support/dev.latchkey.Latchkey/, on Windows in \
         %APPDATA%\\latchkey\\Latchkey\\config\\.",
    ),
    (
        "Secret Service / Keychain / Credential Manager, service latchkey",
        "The refresh token, the cached ID and access tokens and the AWS credentials of each \
         profile. Latchkey never writes a token to a file.",
    ),
    (
        "$XDG_RUNTIME_DIR/latchkey/",
        "The refresh locks (one refresh at a time across the CLI and the app) and the record \
         of how a session ended (no secret in it). LATCHKEY_RUNTIME_DIR names another folder.",
    ),
];

const CONFIGURATION_INTRO: &str = "The profile file is TOML: a [profiles.NAME] table per \
profile and an optional top-level default = \"NAME\". `latchkey profile add` writes one for you \
and `latchkey profile show` prints the callback URLs to register at the provider. A Cognito \
user pool, and a generic OpenID Connect provider:";

const CONFIGURATION_EXAMPLE: &str = r#"default = "work"

[profiles.work]
region = "eu-west-1"
user_pool_id = "eu-west-1_AbCdEf123"
domain = "https://myapp.auth.eu-west-1.amazoncognito.com"
client_id = "1example23456789"
api_base_urls = ["https://api.example.com/"]

[profiles.work.aws]
identity_pool_id = "eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"

[profiles.google]
issuer = "https://accounts.google.com"
client_id = "123.apps.googleusercontent.com""#;

const CONFIGURATION_MORE: &str = "Other settings: scopes, ports, any_port, redirect_host, \
redirect_path, sign_out_uri, identity_provider, authorize_params, api_token, api_scheme, \
api_token_header, api_response_limit_mib, browser, sign_in_timeout_secs, \
http_timeout_secs, refresh_margin_secs, clock_leeway_secs and expect; docs/configuration.md \
gives each one's default and meaning. `latchkey doctor` \
checks the file and the provider.";

#[cfg(test)]
mod tests {
    use latchkey_core::config::Config;

    use super::CONFIGURATION_EXAMPLE;

    #[test]
    fn the_configuration_example_is_a_valid_profile_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, CONFIGURATION_EXAMPLE).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.default_profile().unwrap().name, "work");
        assert!(config.profile("work").unwrap().aws.is_some());
        assert!(!config.profile("google").unwrap().is_cognito());
    }
}
