//! `latchkey exec -- CMD ARGS…`: runs a program with the profile's AWS credentials in its own
//! environment only, forwards the signals that would end it, and passes its exit status on.

use std::ffi::OsString;
use std::process::ExitStatus;

use latchkey_core::aws::{credential_variables, SDK_CONFUSING_VARIABLES};
use latchkey_core::Error as CoreError;
use tokio::process::{Child, Command};

use super::aws::profile_credentials;
use crate::cli::ExecArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};

/// A shell's status for a program it cannot find.
const NOT_FOUND: u8 = 127;
/// A shell's status for a program it found but cannot run (not executable, a directory, …).
const CANNOT_RUN: u8 = 126;

/// Runs the command; its exit status (or 128 + the signal that killed it) is ours.
pub async fn run(ctx: &Ctx, args: ExecArgs) -> CliResult<u8> {
    let (program, program_args) = args
        .command
        .split_first()
        .expect("clap requires the command");
    let command = with_credentials(ctx, program, program_args, args.wait_for_sign_in).await?;
    let signals = forwarding::Signals::listen().map_err(|e| {
        Failure::new(
            Exit::Other,
            format!("exec: cannot listen for signals to pass on ({e}); nothing was run."),
        )
    })?;
    let child = match spawn(command) {
        Ok(child) => child,
        Err(e) => return Ok(cannot_start(program, &e)),
    };
    let status = forwarding::wait(child, signals).await.map_err(|e| {
        Failure::new(
            Exit::Other,
            format!("exec: lost track of the program it started ({e}); it may still be running."),
        )
    })?;
    Ok(exit_code(status))
}

/// `program` with the credentials (and the identity pool's region) set and the variables that
/// would compete with them removed; everything else of our environment is inherited.
async fn with_credentials(
    ctx: &Ctx,
    program: &OsString,
    program_args: &[OsString],
    wait: u64,
) -> CliResult<Command> {
    let region = ctx.profile()?.identity_pool()?.region;
    let creds = profile_credentials(ctx, wait).await?;
    let variables = credential_variables(&creds, &region).map_err(CoreError::from)?;
    let mut command = Command::new(program);
    command.args(program_args);
    for name in SDK_CONFUSING_VARIABLES {
        command.env_remove(name);
    }
    for variable in &variables {
        command.env(variable.name, variable.expose());
    }
    Ok(command)
}

fn spawn(mut command: Command) -> std::io::Result<Child> {
    command.kill_on_drop(false).spawn()
}

/// The message and the shell's status for a program that did not start.
fn cannot_start(program: &OsString, error: &std::io::Error) -> u8 {
    let name = program.to_string_lossy();
    if error.kind() == std::io::ErrorKind::NotFound {
        eprintln!(
            "latchkey: exec: `{name}` was not found (no such file, or not on PATH); check the command's name."
        );
        return NOT_FOUND;
    }
    eprintln!("latchkey: exec: cannot run `{name}` ({error}); check that it is an executable file you may run.");
    CANNOT_RUN
}

/// The child's exit code; a child killed by signal N: 128 + N, as shells report it.
fn exit_code(status: ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128u8.saturating_add(u8::try_from(signal).unwrap_or(127));
        }
    }
    status
        .code()
        .map_or(1, |code| u8::try_from(code & 0xff).unwrap_or(1))
}

#[cfg(unix)]
mod forwarding {
    use tokio::signal::unix::{signal, Signal, SignalKind};

    use super::*;

    /// SIGINT, SIGTERM and SIGHUP, caught from before the child starts: each one latchkey gets
    /// is sent on to the child, which decides whether to end (latchkey ends with it); a SIGINT
    /// only when the terminal did not send it to the child already.
    pub struct Signals {
        interrupt: Signal,
        terminate: Signal,
        hangup: Signal,
    }

    impl Signals {
        pub fn listen() -> std::io::Result<Signals> {
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: signal(SignalKind::hangup())?,
            })
        }

        async fn next(&mut self) -> libc::c_int {
            tokio::select! {
                _ = self.interrupt.recv() => libc::SIGINT,
                _ = self.terminate.recv() => libc::SIGTERM,
                _ = self.hangup.recv() => libc::SIGHUP,
            }
        }
    }

    /// Waits for the child, forwarding every caught signal to it.
    pub async fn wait(mut child: Child, mut signals: Signals) -> std::io::Result<ExitStatus> {
        let pid = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
        loop {
            tokio::select! {
                status = child.wait() => return status,
                signal = signals.next() => forward(pid, signal),
            }
        }
    }

    fn forward(pid: Option<libc::pid_t>, signal: libc::c_int) {
        let Some(pid) = pid else { return };
        if signal == libc::SIGINT && terminal_interrupts_child() {
            // Ctrl-C: the terminal sent it to the child as well; a second one would make
            // programs such as terraform exit at once instead of cleaning up.
            return;
        }
        // SAFETY: kill(2) with our own child's pid (not yet reaped: we are still waiting for
        // it, so the pid cannot have been reused) and a valid signal number.
        let sent = unsafe { libc::kill(pid, signal) };
        if sent != 0 {
            tracing::debug!(signal, "could not forward the signal to the child");
        }
    }

    /// Whether the terminal's Ctrl-C reaches the child by itself: latchkey's process group
    /// (which the child shares) is the foreground group of its controlling terminal. Then a
    /// SIGINT latchkey gets is taken to be the terminal's; `kill -INT` by hand in that case is
    /// not passed on (a shell's job control makes the same assumption).
    fn terminal_interrupts_child() -> bool {
        use std::os::fd::AsRawFd;
        let Ok(tty) = std::fs::File::open("/dev/tty") else {
            return false; // no controlling terminal: only a kill(2) can have sent it
        };
        // SAFETY: tcgetpgrp on a descriptor we hold open, and getpgrp, which cannot fail.
        let (foreground, ours) = unsafe { (libc::tcgetpgrp(tty.as_raw_fd()), libc::getpgrp()) };
        foreground != -1 && foreground == ours
    }
}

#[cfg(not(unix))]
mod forwarding {
    use super::*;

    /// Windows: Ctrl-C reaches every process of the console, the child included; latchkey
    /// only keeps waiting for it instead of ending first.
    pub struct Signals;

    impl Signals {
        pub fn listen() -> std::io::Result<Signals> {
            Ok(Signals)
        }
    }

    pub async fn wait(mut child: Child, _: Signals) -> std::io::Result<ExitStatus> {
        loop {
            tokio::select! {
                status = child.wait() => return status,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
}
