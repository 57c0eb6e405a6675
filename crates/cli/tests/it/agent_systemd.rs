#![cfg(target_os = "linux")]
//! Issue 24 item 7: the agent started by systemd socket activation (`systemd-socket-activate`
//! passes the listening socket as systemd does: fd 3, LISTEN_FDS, LISTEN_PID), and the user
//! units `latchkey agent install` writes (the ones the .deb and .rpm ship).

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const ACTIVATOR: &str = "/usr/bin/systemd-socket-activate";

/// `latchkey agent` behind `systemd-socket-activate` listening on `sockets` (it passes them
/// all, and this environment, to the agent on the first connection).
fn activated_agent(env: &Env, sockets: &[&Path]) -> Child {
    let run = env.dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let mut activator = Command::new(ACTIVATOR);
    for socket in sockets {
        activator.arg("-l").arg(socket);
    }
    // It passes the launched program only the variables it is given.
    let probe = env.cmd(&[]);
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    for (name, value) in probe.get_envs() {
        let name = name.to_string_lossy().into_owned();
        vars.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            vars.push((name, value.to_string_lossy().into_owned()));
        }
    }
    for (name, value) in vars {
        activator.arg(format!("--setenv={name}={value}"));
    }
    activator
        .arg(env!("CARGO_BIN_EXE_latchkey"))
        .arg("agent")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = activator
        .spawn()
        .expect("systemd-socket-activate (Debian package systemd)");
    while !sockets.iter().all(|s| s.exists()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn the_agent_serves_on_the_socket_systemd_passes_and_leaves_it_to_systemd() {
    if !Path::new(ACTIVATOR).exists() {
        eprintln!("SKIPPED: no {ACTIVATOR} (Debian package systemd)");
        return;
    }
    let (env, _idp) = crate::agent::signed_in();
    let socket = env.dir.path().join("run").join("agent.sock");
    let mut agent = activated_agent(&env, &[&socket]);
    // The first connection starts the agent, which answers it on the passed socket.
    let run = env.run(&["token"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = env.run(&["agent", "status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.json()["agent"]["pid"], agent.id(), "exec'd in place");
    assert_eq!(
        status.json()["agent"]["keychain_reads"],
        1,
        "it served `token`"
    );

    assert_eq!(env.run(&["agent", "stop"]).code, 0);
    assert!(agent.wait().unwrap().success());
    assert!(socket.exists(), "the socket is systemd's to remove");
}

#[test]
fn more_than_one_passed_socket_is_refused_with_a_clear_error() {
    if !Path::new(ACTIVATOR).exists() {
        eprintln!("SKIPPED: no {ACTIVATOR} (Debian package systemd)");
        return;
    }
    let (env, _idp) = crate::agent::signed_in();
    let run = env.dir.path().join("run");
    let (first, second) = (run.join("agent.sock"), run.join("second.sock"));
    let agent = activated_agent(&env, &[&first, &second]);
    let _ = std::os::unix::net::UnixStream::connect(&first);
    let out = agent.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the agent exits 1");
}

#[test]
fn agent_install_writes_the_packaged_units_for_this_binary_and_uninstall_removes_them() {
    let mut env = Env::without_agent();
    let config = env.dir.path().join("xdg-config");
    env.extra_env
        .push(("XDG_CONFIG_HOME".into(), path_str(&config).into()));
    let units = config.join("systemd").join("user");
    let run = env.run(&["agent", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let socket = std::fs::read_to_string(units.join("latchkey-agent.socket")).unwrap();
    let packaged = concat!(env!("CARGO_MANIFEST_DIR"), "/../../packaging/systemd/");
    assert_eq!(
        socket,
        std::fs::read_to_string(format!("{packaged}latchkey-agent.socket")).unwrap()
    );
    let service = std::fs::read_to_string(units.join("latchkey-agent.service")).unwrap();
    let exe = Path::new(env!("CARGO_BIN_EXE_latchkey"))
        .canonicalize()
        .unwrap();
    let exec = format!("ExecStart=\"{}\" agent", exe.display());
    assert!(service.lines().any(|l| l == exec), "{service}");
    assert!(
        run.stdout
            .contains("systemctl --user enable --now latchkey-agent.socket"),
        "{}",
        run.stdout
    );
    // The packaged units name the path the CLI looks for.
    assert!(socket.contains("ListenStream=%t/latchkey/agent.sock"));
    assert!(socket.contains("SocketMode=0600"));

    let removed = env.run(&["agent", "install", "--uninstall"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(!units.join("latchkey-agent.socket").exists());
    assert!(!units.join("latchkey-agent.service").exists());
}
