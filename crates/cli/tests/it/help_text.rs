//! `--help` and the man page read well: every option says what it does, global options stand
//! apart, each command lists only the exit codes it can return, the full table appears once,
//! examples fit 80 columns, and `--profile` completes profile names.

use clap::CommandFactory;

use crate::common::*;
use crate::failure::EXIT_TABLE;
use crate::help::{self, COMMAND_EXITS};
use crate::messages::cli_definition::Cli;

/// Every command under `latchkey` with its path (`profile add`), the root as "".
fn commands() -> Vec<(String, clap::Command)> {
    let mut root = Cli::command();
    root.build();
    let mut all = vec![];
    let mut pending = vec![(String::new(), root)];
    while let Some((path, command)) = pending.pop() {
        for sub in command.get_subcommands().filter(|c| c.get_name() != "help") {
            let sub_path = format!("{path} {}", sub.get_name()).trim().to_owned();
            pending.push((sub_path, sub.clone()));
        }
        all.push((path, command));
    }
    all
}

/// The codes of the `Exit codes…:` block of a help text, in order.
fn listed_codes(help: &str) -> Vec<u8> {
    help.lines()
        .skip_while(|l| !l.starts_with("Exit codes"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn help_of(env: &Env, path: &str) -> Run {
    let mut args: Vec<&str> = path.split_whitespace().collect();
    match path {
        // The provider parses its own arguments: clap's `help` shows the wrapper's page.
        "devidp" => args.insert(0, "help"),
        _ => args.push("--help"),
    }
    let r = env.run(&args);
    assert_eq!(r.code, 0, "latchkey {path} --help: {}", r.stderr);
    r
}

#[test]
fn every_option_and_value_has_a_description() {
    let mut missing = vec![];
    for (path, command) in commands() {
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            if arg.get_help().is_none() {
                missing.push(format!("latchkey {path}: {}", arg.get_id()));
            }
            // Shell names explain themselves (clap_complete's own list).
            if arg.get_id() == "shell" {
                continue;
            }
            for value in arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
            {
                if value.get_help().is_none() {
                    missing.push(format!(
                        "latchkey {path}: {} {}",
                        arg.get_id(),
                        value.get_name()
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "without a description: {missing:#?}");
}

#[test]
fn each_command_lists_only_the_exit_codes_it_can_return() {
    let env = Env::new();
    let leaves: Vec<String> = commands()
        .into_iter()
        .filter(|(path, c)| !path.is_empty() && !c.has_subcommands())
        .map(|(path, _)| path)
        .collect();
    let listed: Vec<&str> = COMMAND_EXITS.iter().map(|(path, _)| *path).collect();
    for path in &leaves {
        assert!(listed.contains(&path.as_str()), "`{path}` has exit codes");
    }
    for (path, exits) in COMMAND_EXITS {
        assert!(leaves.contains(&path.to_string()), "`{path}` is a command");
        let help = help_of(&env, path).stdout;
        let want: Vec<u8> = exits.iter().map(|e| *e as u8).collect();
        assert_eq!(listed_codes(&help), want, "latchkey {path} --help");
        assert!(
            !help.contains("Environment:"),
            "{path}: the environment once, at the top"
        );
    }
    // The full table once, at the top, with the environment.
    let top = help_of(&env, "").stdout;
    let all: Vec<u8> = EXIT_TABLE.iter().map(|(code, _)| *code).collect();
    assert_eq!(listed_codes(&top), all);
    assert_eq!(top.matches("Exit codes").count(), 1, "{top}");
    assert!(top.contains("Environment:"));
}

#[test]
fn global_options_stand_apart_from_each_commands_own() {
    let env = Env::new();
    for path in ["", "token", "profile add", "aws credentials"] {
        let help = help_of(&env, path).stdout;
        let (own, global) = help
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("latchkey {path} --help has Global options:\n{help}"));
        for flag in ["--profile", "--config", "--verbose"] {
            assert!(!own.contains(flag), "{path}: {flag} is not among its own");
            assert!(global.contains(flag), "{path}: {flag} is global");
        }
    }
}

#[test]
fn examples_fit_80_columns_and_are_never_wrapped() {
    for (path, command) in commands() {
        let Some(after) = command.get_after_help().map(|h| h.to_string()) else {
            continue;
        };
        let rendered = command
            .clone()
            .term_width(80)
            .render_long_help()
            .to_string();
        let examples = after
            .lines()
            .skip_while(|l| !l.starts_with("Examples:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty());
        for line in examples {
            assert!(
                line.chars().count() <= 80,
                "latchkey {path}: an example over 80 columns: {line}"
            );
            assert!(
                rendered.lines().any(|l| l.trim_end() == line.trim_end()),
                "latchkey {path}: `{line}` is shown whole at 80 columns:\n{rendered}"
            );
        }
    }
}

#[test]
fn the_man_page_has_its_sections_and_the_exit_table_once() {
    let env = Env::new();
    let page = env.run(&["man"]);
    assert_eq!(page.code, 0, "{}", page.stderr);
    let Some(rendered) = rendered_man(&env, &page.stdout) else {
        eprintln!("man is not installed: the page's rendering was not checked");
        return;
    };
    for section in [
        "EXAMPLES",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "CONFIGURATION",
    ] {
        let headings = rendered.lines().filter(|l| l.trim_end() == section).count();
        assert_eq!(headings, 1, "the page has one {section} section");
    }
    // The table once; each command says which codes it can return in one line.
    let words = rendered.split_whitespace().collect::<Vec<_>>().join(" ");
    for (code, meaning) in EXIT_TABLE {
        let row = format!(" {code} {meaning}");
        assert_eq!(
            words.matches(&row).count(),
            1,
            "exit {code} is described once"
        );
    }
    let token_line = help::exit_line(help::exits_of("token"));
    assert!(
        words.contains(&token_line),
        "`token` lists its codes: {token_line}"
    );
    for variable in help::ENVIRONMENT.iter().map(|(name, _)| name) {
        assert!(
            words.contains(&format!(" {variable} ")),
            "ENVIRONMENT names {variable}"
        );
    }
}

/// The page as `man` shows it in the C locale (plain ASCII, no hyphenation at this width),
/// or `None` where `man` is not installed.
fn rendered_man(env: &Env, roff: &str) -> Option<String> {
    let page = env.dir.path().join("latchkey.1");
    std::fs::write(&page, roff).unwrap();
    let out = std::process::Command::new("man")
        .args(["-l", path_str(&page)])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "200")
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "man -l: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn bash_completes_profile_names_after_profile() {
    let env = Env::new();
    let profile = |name: &str| {
        format!("[profiles.{name}]\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\n")
    };
    std::fs::write(env.config_path(), profile("work") + &profile("staging")).unwrap();
    let script = env.dir.path().join("latchkey.bash");
    std::fs::write(&script, env.run(&["completions", "bash"]).stdout).unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_latchkey"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // What bash does on TAB: COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY read.
    let complete = |line: &str| -> Vec<String> {
        let program = format!(
            "source {script}
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< \"$COMP_LINE\"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_latchkey latchkey \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"
printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script = path_str(&script)
        );
        let out = env
            .program(std::path::Path::new("bash"), &["-c", &program])
            .env("PATH", &path)
            .output()
            .unwrap();
        let out = Run::from(out);
        assert_eq!(out.code, 0, "{line}: {}", out.stderr);
        out.stdout
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect()
    };
    assert_eq!(complete("latchkey --profile "), ["staging", "work"]);
    assert_eq!(complete("latchkey status -p w"), ["work"]);
    assert_eq!(complete("latchkey token --profile st"), ["staging"]);
}

#[test]
fn the_readme_exit_code_table_has_every_code_the_cli_has() {
    let readme = include_str!("../../../../README.md");
    // The full table: the `| code | meaning |` table that has 130 (the AWS one does not).
    let tables = readme.split("| code | meaning |").skip(1);
    let codes_of = |table: &str| -> Vec<u8> {
        table
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.trim_matches('|').split('|').next()?.trim().parse().ok())
            .collect()
    };
    let full = tables
        .map(codes_of)
        .find(|codes| codes.contains(&130))
        .expect("README has the full exit-code table");
    let all: Vec<u8> = EXIT_TABLE.iter().map(|(code, _)| *code).collect();
    assert_eq!(full, all, "README's exit codes are the CLI's");
}
