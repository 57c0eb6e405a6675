//! `latchkey completions SHELL`: the shell completion scripts, generated from the command
//! line's own definition (what the packages install; `man.rs` writes the manual page).

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::failure::{Exit, Failure};

/// The binary's name as shells and `man` know it.
const BIN: &str = "latchkey";

/// What completes a `--profile` value: the profile names, asked of `latchkey` itself when the
/// user presses TAB (the file may have changed since the script was installed).
const PROFILE_NAMES: &str = "latchkey profile list --names 2>/dev/null";

pub fn completions(shell: Shell) -> ExitCode {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut out);
    let script = String::from_utf8_lossy(&out);
    write_stdout(complete_profile_names(shell, &script).as_bytes())
}

/// clap_complete's scripts are static: a `--profile` value would complete as a file name. In
/// bash, zsh and fish it completes the profile names instead (PowerShell and Elvish complete
/// no values); the script's line for that value is replaced, nothing else.
fn complete_profile_names(shell: Shell, script: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut after_profile_flag = false;
    for line in script.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let patched = match shell {
            Shell::Bash if after_profile_flag && trimmed.starts_with("COMPREPLY=") => Some(
                format!("{indent}COMPREPLY=($(compgen -W \"$({PROFILE_NAMES})\" -- \"${{cur}}\"))"),
            ),
            Shell::Zsh if trimmed.starts_with("'-p+[") || trimmed.starts_with("'--profile=[") => {
                let action = format!(":NAME:{{compadd -- ${{(f)\"$({PROFILE_NAMES})\"}}}}'");
                Some(line.replacen(":NAME:_default'", &action, 1))
            }
            Shell::Fish if line.contains(" -l profile ") && line.ends_with(" -r") => {
                Some(format!("{line} -f -a \"({PROFILE_NAMES})\""))
            }
            _ => None,
        };
        after_profile_flag = matches!(trimmed, "--profile)" | "-p)");
        lines.push(patched.unwrap_or_else(|| line.to_owned()));
    }
    lines.join("\n") + "\n"
}

pub(super) fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Ok.into(),
        // A closed pipe (`| head`) is the reader's choice, not a failure worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok.into(),
        Err(e) => Failure::new(Exit::Other, format!("cannot write to stdout ({e}).")).report(false),
    }
}
