//! `latchkey agent`'s command line: run the session agent, or ask the running one.
//! Part of `cli.rs` (the tests read the command line's definition from it).

use clap::{Args, Subcommand};

pub const AGENT_HELP: &str = "Examples:
  latchkey agent                   # hold every session; Ctrl-C ends it
  latchkey agent status            # is one running, and what it holds
  latchkey agent stop
  latchkey agent install           # a systemd user unit starts it on first use

While an agent runs, `latchkey token`, `token --format kubectl`, `aws credentials` and `status`
ask it over its socket ($XDG_RUNTIME_DIR/latchkey/agent.sock, else /tmp/latchkey-UID/agent.sock;
only your user may connect), so the keychain is read once and one refresh serves every caller.
Set LATCHKEY_AGENT=off to keep a command away from it. A caller without a terminal never starts
a sign-in: when one is needed it exits 13 and says how to sign in, and the agent shows one
desktop notification whose Sign in button signs in (`token --wait-for-sign-in SECONDS`
waits for that).
The agent is not available on Windows yet.";

#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: Option<AgentCommand>,
    /// Seconds the agent waits for each request line before closing the connection
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub read_timeout: u64,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Whether an agent runs, its pid, and the profiles it holds
    #[command(after_help = crate::help::after("agent status", "Examples:
  latchkey agent status
  latchkey agent status --json"))]
    Status {
        /// The agent's own status answer as JSON
        #[arg(long)]
        json: bool,
    },
    /// Stop the running agent
    #[command(after_help = crate::help::after("agent stop", "Examples:
  latchkey agent stop"))]
    Stop,
    /// Write the systemd user units that start the agent on first use (socket activation)
    #[command(after_help = crate::help::after("agent install", "Examples:
  latchkey agent install       # into ~/.config/systemd/user/
  latchkey agent install --uninstall

The .deb and .rpm install the same units in /usr/lib/systemd/user/; this is for a latchkey
installed another way. It prints the systemctl commands to run and runs none itself."))]
    Install {
        /// Remove the units it wrote instead
        #[arg(long)]
        uninstall: bool,
    },
}

impl AgentArgs {
    pub fn wants_json(&self) -> bool {
        matches!(self.command, Some(AgentCommand::Status { json: true }))
    }
}
