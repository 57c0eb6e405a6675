//! `latchkey completions SHELL` and `latchkey man`: the shell completion scripts and the
//! manual page, generated from the command line's own definition (what the packages install).

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::failure::{Exit, Failure};

/// The binary's name as shells and `man` know it.
const BIN: &str = "latchkey";

pub fn completions(shell: Shell) -> ExitCode {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut out);
    write_stdout(&out)
}

pub fn man() -> ExitCode {
    let mut out = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut out) {
        Ok(()) => write_stdout(&out),
        Err(e) => {
            Failure::new(Exit::Other, format!("cannot render the manual page ({e}).")).report(false)
        }
    }
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
