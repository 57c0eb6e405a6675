#![cfg(unix)]
//! The README's terminal quick start, run as written: the lines after `<!-- quickstart -->`,
//! each through `sh`, on a fresh HOME with the real `latchkey`; the test plays the browser.

use crate::common::*;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey_testkit::devidp::{DEMO_ISSUER_PORT, DEMO_PASSWORD, DEMO_PORT, DEMO_USERNAME};
use latchkey_testkit::port_is_free;
use url::Url;

const README: &str = include_str!("../../../../README.md");

/// Held by every test of this binary that uses the demo ports (47211-47213): one at a time.
pub static DEMO_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The shell lines of the code block after the `<!-- quickstart -->` marker.
fn quickstart_lines() -> Vec<&'static str> {
    let (_, after) = README
        .split_once("<!-- quickstart -->")
        .expect("README.md marks its quick start with <!-- quickstart -->");
    let block = after
        .trim_start()
        .strip_prefix("```sh\n")
        .expect("a ```sh block follows the marker");
    let (block, _) = block.split_once("```").expect("the block ends");
    block.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// `sh -c LINE` on the fresh HOME and XDG directories, `latchkey` on PATH, the browser hook.
pub(crate) fn shell(env: &Env, home: &Path, line: &str) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_latchkey")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(line)
        .env("PATH", path)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("LATCHKEY_CONFIG")
        .env_remove("LATCHKEY_PROFILE")
        // Isolation from other tests and the developer's sessions, not configuration.
        .env("LATCHKEY_KEYCHAIN_SERVICE", &env.service)
        .env("LATCHKEY_RUNTIME_DIR", home.join("run"))
        .env("LATCHKEY_BROWSER_COMMAND", env.hook())
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// A `… &` line: started with `exec` (so killing it stops the program); returns once it
/// printed the `latchkey profile add` line it prints when ready, with that line.
fn start_background(env: &Env, home: &Path, line: &str) -> (Child, String) {
    let command = line.trim_end().strip_suffix('&').unwrap().trim();
    let mut child = shell(env, home, &format!("exec {command}"))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(l)) = lines.next() {
        if let Some(i) = l.find("latchkey profile add") {
            // Read on, as a terminal would, so whatever it prints later has somewhere to go.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, l[i..].trim().to_owned());
        }
    }
    let out = child.wait_with_output().unwrap();
    panic!(
        "`{command}` never printed its profile add line: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A foreground line to its end; a sign-in page the browser hook receives meanwhile is
/// completed as the demo user. Returns (exit code, stdout, stderr).
pub(crate) fn run_to_end(env: &Env, home: &Path, line: &str) -> Run {
    let _ = std::fs::remove_file(env.url_file());
    let mut child = shell(env, home, line).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if let Ok(url) = std::fs::read_to_string(env.url_file()) {
            std::fs::remove_file(env.url_file()).unwrap();
            complete_login(&Url::parse(&url).unwrap(), DEMO_USERNAME, DEMO_PASSWORD);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{line}` did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn the_readme_quick_start_works_on_a_fresh_home() {
    let _ports = DEMO_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let lines = quickstart_lines();
    assert_eq!(lines.len(), 4, "a four-line quick start: {lines:?}");
    // The demo ports lie in Linux's ephemeral range: another test's outgoing connection may
    // hold one for a moment. A provider (the app's Demo) holds it for good.
    let deadline = Instant::now() + Duration::from_secs(60);
    for port in [DEMO_PORT, DEMO_ISSUER_PORT] {
        while !port_is_free(port) {
            assert!(
                Instant::now() < deadline,
                "the demo port {port} is taken (the app's Demo provider?)"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let env = Env::new();
    let home = env.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let (mut provider, ready_line) = start_background(&env, &home, lines[0]);
    // The README's profile is the one the provider prints for itself.
    assert_eq!(lines[1].trim(), ready_line);
    let mut outputs = vec![];
    for line in &lines[1..] {
        let run = run_to_end(&env, &home, line);
        assert_eq!(run.code, 0, "`{line}`: {}", run.stderr);
        outputs.push(run);
    }
    let me: serde_json::Value = serde_json::from_str(&outputs[2].stdout)
        .unwrap_or_else(|e| panic!("the demo API's answer is JSON ({e}): {}", outputs[2].stdout));
    assert_eq!(me["email"], DEMO_USERNAME);

    let _ = run_to_end(&env, &home, "latchkey logout");
    provider.kill().unwrap();
    provider.wait().unwrap();
}
