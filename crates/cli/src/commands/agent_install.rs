//! `latchkey agent install [--uninstall]`: the systemd user units of the headless agent
//! (socket-activated), written for people without the .deb/.rpm, which ship the same units.

use std::path::{Path, PathBuf};

use crate::failure::{CliResult, Exit, Failure};

/// The units as the packages install them (in /usr/lib/systemd/user/).
const SOCKET_UNIT: (&str, &str) = (
    "latchkey-agent.socket",
    include_str!("../../../../packaging/systemd/latchkey-agent.socket"),
);
const SERVICE_UNIT: (&str, &str) = (
    "latchkey-agent.service",
    include_str!("../../../../packaging/systemd/latchkey-agent.service"),
);
/// The packages' command line, replaced by this executable's.
const PACKAGED_EXEC: &str = "ExecStart=/usr/bin/latchkey agent";

pub fn run(uninstall: bool) -> CliResult<Exit> {
    if !cfg!(target_os = "linux") {
        return Err(Failure::new(
            Exit::Other,
            "systemd user units are for Linux; elsewhere run `latchkey agent` yourself (e.g. from a login item).",
        ));
    }
    let dir = user_unit_dir()?;
    match uninstall {
        false => install(&dir),
        true => remove(&dir),
    }
}

/// `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`.
fn user_unit_dir() -> CliResult<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    config.map(|c| c.join("systemd").join("user")).ok_or_else(|| {
        Failure::new(
            Exit::Other,
            "neither XDG_CONFIG_HOME nor HOME is set, so there is no user unit directory; set HOME.",
        )
    })
}

/// The service unit starting this executable.
fn service_text(exe: &Path) -> String {
    let exec = format!("ExecStart=\"{}\" agent", exe.display());
    SERVICE_UNIT.1.replace(PACKAGED_EXEC, &exec)
}

fn io_failure(path: &Path, what: &str, e: std::io::Error) -> Failure {
    Failure::new(
        Exit::Other,
        format!(
            "cannot {what} {} ({e}); check that directory's permissions.",
            path.display()
        ),
    )
}

fn install(dir: &Path) -> CliResult<Exit> {
    let exe = std::env::current_exe()
        .and_then(|e| e.canonicalize())
        .map_err(|e| {
            Failure::new(
                Exit::Other,
                format!("cannot tell where this latchkey is ({e})."),
            )
        })?;
    std::fs::create_dir_all(dir).map_err(|e| io_failure(dir, "create", e))?;
    for (name, text) in [
        (SOCKET_UNIT.0, SOCKET_UNIT.1.to_owned()),
        (SERVICE_UNIT.0, service_text(&exe)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| io_failure(&path, "write", e))?;
        println!("wrote {}", path.display());
    }
    println!(
        "This command runs no systemctl. To start the agent on first use, now and at every login:"
    );
    println!("  systemctl --user daemon-reload");
    println!("  systemctl --user enable --now {}", SOCKET_UNIT.0);
    Ok(Exit::Ok)
}

fn remove(dir: &Path) -> CliResult<Exit> {
    println!("This command runs no systemctl. If the agent's units were enabled, first:");
    println!(
        "  systemctl --user disable --now {} {}",
        SOCKET_UNIT.0, SERVICE_UNIT.0
    );
    for name in [SOCKET_UNIT.0, SERVICE_UNIT.0] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => println!("removed {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("{} was not there", path.display())
            }
            Err(e) => return Err(io_failure(&path, "remove", e)),
        }
    }
    println!("and then:");
    println!("  systemctl --user daemon-reload");
    Ok(Exit::Ok)
}
