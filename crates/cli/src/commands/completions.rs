//! `latchkey completions SHELL` and `latchkey man`: the shell completion scripts and the one
//! manual page, generated from the command line's own definition (what the packages install).

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use roff::{roman, Roff};

use crate::cli::{Cli, EXIT_CODES_HELP};
use crate::failure::{Exit, Failure};

/// The binary's name as shells and `man` know it.
const BIN: &str = "latchkey";

pub fn completions(shell: Shell) -> ExitCode {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut out);
    write_stdout(&out)
}

/// One complete page: clap_mangen's title, name, synopsis, description and options, then
/// every command with its full `--help` (clap_mangen would list them as `latchkey-login(1)`
/// pages, which are not installed), then the examples, exit codes and environment.
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
        .and_then(|()| examples_section(&mut root).to_writer(&mut out))
        .and_then(|()| page.render_version_section(&mut out));
    match rendered {
        Ok(()) => write_stdout(&out),
        Err(e) => {
            Failure::new(Exit::Other, format!("cannot render the manual page ({e}).")).report(false)
        }
    }
}

/// `COMMANDS`: each command and subcommand as `--help` shows it, in order, without the exit
/// code table every one of them repeats (it is in the last section once).
fn commands_section(root: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    // A stack, so each command is followed by its own subcommands.
    let children = |name: &str, command: &clap::Command| {
        let mut list: Vec<(String, clap::Command)> = command
            .get_subcommands()
            .map(|c| (format!("{name} {}", c.get_name()), c.clone()))
            .collect();
        list.reverse();
        list
    };
    let mut pending = children(BIN, root);
    while let Some((name, mut command)) = pending.pop() {
        if command.get_name() == "help" {
            continue;
        }
        let help = command.render_long_help().to_string();
        let help = help.replace(EXIT_CODES_HELP, "");
        roff.control("SS", [name.as_str()]);
        roff.control("nf", []);
        roff.text([roman(help.trim_end())]);
        roff.control("fi", []);
        pending.extend(children(&name, &command));
    }
    roff
}

/// The top-level examples, exit codes and environment variables (its `after_help`).
fn examples_section(root: &mut clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES, EXIT CODES, ENVIRONMENT"]);
    roff.control("nf", []);
    let text = root
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    roff.text([roman(text.trim_end())]);
    roff.control("fi", []);
    roff
}

fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Ok.into(),
        // A closed pipe (`| head`) is the reader's choice, not a failure worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok.into(),
        Err(e) => Failure::new(Exit::Other, format!("cannot write to stdout ({e}).")).report(false),
    }
}
