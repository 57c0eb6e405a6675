#![cfg(unix)]
//! A CLI that works on first run: no file is not a dead end, `profile add --demo` runs the
//! development provider in-process (also for an agent, also when its ports are taken), `login`
//! offers it, and `profile add --from-file` imports a Cognito app client from other tools' files.

use crate::common::*;
use crate::quickstart::{run_to_end, DEMO_PORTS};

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use latchkey_core::config::{Config, ProfileKind};
use latchkey_testkit::devidp::{DEMO_ISSUER_PORT, DEMO_PASSWORD, DEMO_PORT, DEMO_USERNAME};

/// The next command every "no profile" failure names.
const ADD_DEMO: &str = "latchkey profile add demo --demo";

/// An environment whose development provider keeps its state in the test's directory (as on
/// a fresh machine, `XDG_DATA_HOME` is the user's data directory).
fn fresh_env() -> Env {
    let mut env = Env::without_agent();
    let data = env.dir.path().join("data");
    env.extra_env
        .push(("XDG_DATA_HOME".into(), data.display().to_string()));
    env
}

fn state_file(env: &Env) -> PathBuf {
    env.dir
        .path()
        .join("data/dev.latchkey.desktop/devidp-state.json")
}

/// The demo ports, for this test alone (the quick start and these tests use them), once no
/// other process holds them: the ports lie in Linux's ephemeral range.
fn demo_ports() -> std::sync::MutexGuard<'static, ()> {
    let guard = DEMO_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let deadline = Instant::now() + Duration::from_secs(60);
    for port in [DEMO_PORT, DEMO_ISSUER_PORT] {
        while !latchkey_testkit::port_is_free(port) {
            assert!(Instant::now() < deadline, "the demo port {port} is taken");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    guard
}

/// `latchkey login` (no terminal): the test plays the browser as the demo user.
fn login(env: &Env, extra: &[&str]) -> Run {
    let (child, url) = env.start_login(extra);
    complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn profile_list_without_a_file_says_how_to_add_one_and_exits_0() {
    let env = fresh_env();
    let run = env.run(&["profile", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(ADD_DEMO), "{}", run.stdout);
    let json = env.run(&["profile", "list", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.stdout.trim(), "[]");
    assert!(!env.config_path().exists(), "listing writes no file");
}

#[test]
fn every_command_that_needs_a_profile_exits_5_and_names_the_next_command() {
    let env = fresh_env();
    let commands: &[&[&str]] = &[
        &["login"],
        &["token"],
        &["status"],
        &["call", "/demo-api/me"],
        &["logout"],
        &["inspect"],
        &["aws", "credentials"],
        &["profile", "show"],
        &["profile", "use", "work"],
        &["profile", "remove", "work"],
    ];
    for args in commands {
        let run = env.run(args);
        assert_eq!(run.code, 5, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(ADD_DEMO), "{args:?}: {}", run.stderr);
    }
    let json = env.run(&["status", "--json"]);
    let error: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "config");
    assert!(!env.config_path().exists(), "no command wrote a file");
}

#[test]
fn the_readme_first_run_works_on_a_fresh_machine_with_no_provider_running() {
    let _ports = demo_ports();
    let lines = readme_block("<!-- first-run -->");
    assert_eq!(lines.len(), 3, "three commands: {lines:?}");
    let env = Env::without_agent();
    let home = env.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut outputs = Vec::new();
    for line in &lines {
        let run = run_to_end(&env, &home, line);
        assert_eq!(run.code, 0, "`{line}`: {}", run.stderr);
        outputs.push(run);
    }
    let me: serde_json::Value = serde_json::from_str(&outputs[2].stdout)
        .unwrap_or_else(|e| panic!("the demo API's answer is JSON ({e}): {}", outputs[2].stdout));
    assert_eq!(me["email"], DEMO_USERNAME);
    // The provider ran in each command and stopped with it: nothing listens now.
    assert!(latchkey_testkit::port_is_free(DEMO_PORT));
    let state = home.join(".local/share/dev.latchkey.desktop/devidp-state.json");
    assert!(
        state.exists(),
        "its keys and grants are kept for the next command"
    );
}

/// The shell lines of the README's code block after `marker`.
fn readme_block(marker: &str) -> Vec<&'static str> {
    const README: &str = include_str!("../../../../README.md");
    let (_, after) = README.split_once(marker).expect("README.md has the marker");
    let block = after
        .trim_start()
        .strip_prefix("```sh\n")
        .expect("a ```sh block");
    let (block, _) = block.split_once("```").expect("the block ends");
    block.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn a_taken_demo_port_moves_the_profile_and_the_sign_in_still_works() {
    let _ports = demo_ports();
    let env = fresh_env();
    assert_eq!(env.run(&["profile", "add", "demo", "--demo"]).code, 0);
    // Something that is not the provider holds its preferred port.
    let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, DEMO_PORT)).unwrap();
    let run = login(&env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let saved = Config::load(&env.config_path()).unwrap();
    let ProfileKind::Cognito { domain, .. } = &saved.profiles["demo"].kind else {
        panic!("a Cognito profile");
    };
    assert_ne!(domain.port(), Some(DEMO_PORT), "the profile moved");
    drop(squatter);
    let call = env.run(&["call", "/demo-api/me"]);
    assert_eq!(call.code, 0, "{}", call.stderr);
    let me: serde_json::Value = serde_json::from_str(&call.stdout).unwrap();
    assert_eq!(me["email"], DEMO_USERNAME);
}

#[test]
fn an_agent_serves_a_demo_profile_while_it_runs() {
    let _ports = demo_ports();
    let env = fresh_env();
    assert_eq!(env.run(&["profile", "add", "demo", "--demo"]).code, 0);
    let mut agent = env.cmd(&["agent"]).stderr(Stdio::null()).spawn().unwrap();
    let socket = env.dir.path().join("run/agent.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() || TcpStream::connect((Ipv4Addr::LOCALHOST, DEMO_ISSUER_PORT)).is_err() {
        assert!(agent.try_wait().unwrap().is_none(), "the agent exited");
        assert!(Instant::now() < deadline, "the agent never served the demo");
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = login(&env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = env.run(&["token"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    assert!(is_jwt(token.stdout.trim()));
    agent.kill().unwrap();
    agent.wait().unwrap();
    assert!(state_file(&env).exists());
}

#[test]
fn login_without_a_profile_off_a_terminal_names_the_command_and_saves_nothing() {
    let env = fresh_env();
    let run = env.run(&["login"]);
    run.assert_error(5, ADD_DEMO);
    assert!(!env.config_path().exists());
}

// Import of an existing Cognito app client.

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/app_client")
        .join(name)
}

fn import(env: &Env, name: &str, file: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "profile",
        "add",
        name,
        "--from-file",
        path_str(file),
        "--yes",
    ];
    args.extend_from_slice(extra);
    env.run(&args)
}

fn cognito(env: &Env, name: &str) -> (String, String, String, latchkey_core::config::Profile) {
    let config = Config::load(&env.config_path()).unwrap();
    let profile = config.profiles[name].clone();
    let ProfileKind::Cognito {
        region,
        user_pool_id,
        domain,
        ..
    } = &profile.kind
    else {
        panic!("a Cognito profile");
    };
    (
        region.clone(),
        user_pool_id.clone(),
        domain.to_string(),
        profile,
    )
}

#[test]
fn describe_user_pool_client_json_becomes_a_profile_with_its_loopback_callbacks() {
    let env = fresh_env();
    let file = fixture("describe-user-pool-client.json");
    let domain = "https://myapp.auth.eu-west-1.amazoncognito.com";
    let run = import(&env, "work", &file, &["--domain", domain]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (region, pool, saved_domain, p) = cognito(&env, "work");
    assert_eq!(
        (region.as_str(), pool.as_str()),
        ("eu-west-1", "eu-west-1_AbCdEf123")
    );
    assert_eq!(saved_domain.trim_end_matches('/'), domain);
    assert_eq!(p.client_id, "1example23456789");
    assert_eq!(p.scopes, ["email", "openid", "profile"]);
    assert_eq!(p.ports, [53682, 53683]);
    assert_eq!(p.redirect_path, "/callback");
    // The https callback is reported, in the review shown before saving.
    assert!(run.stdout.contains("https://app.example.com/auth/callback"));
}

#[test]
fn describe_user_pool_client_json_without_domain_is_refused_and_nothing_saved() {
    let env = fresh_env();
    let run = import(
        &env,
        "work",
        &fixture("describe-user-pool-client.json"),
        &[],
    );
    run.assert_error(5, "--domain");
    assert!(!env.config_path().exists());
}

#[test]
fn amplify_outputs_json_becomes_a_profile_with_its_identity_pool() {
    let env = fresh_env();
    let run = import(&env, "web", &fixture("amplify_outputs.json"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (region, pool, domain, p) = cognito(&env, "web");
    assert_eq!(
        (region.as_str(), pool.as_str()),
        ("us-west-2", "us-west-2_Gen2Pool1")
    );
    assert_eq!(
        domain,
        "https://gen2example.auth.us-west-2.amazoncognito.com/"
    );
    assert_eq!(p.client_id, "3gen2client0example");
    assert!(p
        .scopes
        .iter()
        .any(|s| s == "aws.cognito.signin.user.admin"));
    let aws = p.aws.expect("the identity pool");
    assert_eq!(
        aws.identity_pool_id,
        "us-west-2:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    );
    // Its only loopback callback (the web app's dev server) is what the profile listens on.
    assert_eq!(
        (p.redirect_host.as_str(), p.ports.as_slice()),
        ("localhost", &[3000u16][..])
    );
}

#[test]
fn aws_exports_js_is_read_as_data_into_a_profile() {
    let env = fresh_env();
    let run = import(&env, "legacy", &fixture("aws-exports.js"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (region, pool, domain, p) = cognito(&env, "legacy");
    assert_eq!(
        (region.as_str(), pool.as_str()),
        ("ap-southeast-2", "ap-southeast-2_Gen1Pool9")
    );
    assert_eq!(
        domain,
        "https://gen1example-dev.auth.ap-southeast-2.amazoncognito.com/"
    );
    assert_eq!(p.client_id, "4gen1webclient0example");
    assert_eq!(p.ports, [53682]);
    assert_eq!(
        p.sign_out_uri.map(|u| u.to_string()).as_deref(),
        Some("http://localhost:53682/signed-out")
    );
    assert!(p.aws.is_some());
}

#[test]
fn an_app_client_from_stdin_is_imported_too() {
    let env = fresh_env();
    let text = std::fs::read(fixture("amplify_outputs.json")).unwrap();
    let mut child = env
        .cmd(&["profile", "add", "web", "--from-file", "-", "--yes"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &text).unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(cognito(&env, "web").3.client_id, "3gen2client0example");
}

#[test]
fn an_app_client_with_a_secret_is_refused_and_the_secret_never_shown() {
    let env = fresh_env();
    let file = fixture("describe-user-pool-client-with-secret.json");
    let run = import(&env, "server", &file, &["--domain", "myapp"]);
    run.assert_error(5, "ClientSecret");
    let secret = "fixture-not-a-real-secret";
    assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret));
    assert!(!env.config_path().exists(), "nothing was saved");
}

#[test]
fn a_malformed_file_names_the_file_and_the_key() {
    let env = fresh_env();
    let file = fixture("amplify_outputs-malformed.json");
    let run = import(&env, "web", &file, &[]);
    run.assert_error(5, "auth.user_pool_client_id");
    assert!(
        run.stderr.contains("amplify_outputs-malformed.json"),
        "{}",
        run.stderr
    );
    let not_json = env.dir.path().join("client.json");
    std::fs::write(&not_json, "{\"UserPoolClient\": {").unwrap();
    let run = import(&env, "web", &not_json, &["--domain", "myapp"]);
    run.assert_error(5, "client.json");
    assert!(!env.config_path().exists());
}

#[test]
fn an_imported_value_goes_through_the_profile_checks() {
    let env = fresh_env();
    let file = env.dir.path().join("amplify_outputs.json");
    let text = std::fs::read_to_string(fixture("amplify_outputs.json")).unwrap();
    // A domain that is not https: refused by the same validation as `--domain`.
    std::fs::write(
        &file,
        text.replace("gen2example.auth", "http://gen2example.auth"),
    )
    .unwrap();
    let run = import(&env, "web", &file, &[]);
    run.assert_error(5, "domain");
    assert!(!env.config_path().exists());
}

#[test]
fn a_demo_profile_beside_another_keeps_the_default_and_its_next_steps_name_it() {
    let env = fresh_env();
    let work = env.run(&[
        "profile",
        "add",
        "work",
        "--issuer",
        "https://accounts.example.com",
        "--client-id",
        "c1",
    ]);
    assert_eq!(work.code, 0, "{}", work.stderr);
    let run = env.run(&["profile", "add", "demo", "--demo"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("latchkey login --profile demo"),
        "{}",
        run.stdout
    );
    let config = Config::load(&env.config_path()).unwrap();
    assert_eq!(config.default.as_deref(), Some("work"));
    assert!(latchkey_demo_shape(&config.profiles["demo"]));
}

/// The saved demo profile points at the demo's preferred loopback ports.
fn latchkey_demo_shape(p: &latchkey_core::config::Profile) -> bool {
    let ProfileKind::Cognito { domain, .. } = &p.kind else {
        return false;
    };
    domain.port() == Some(DEMO_PORT) && domain.host_str() == Some("127.0.0.1")
}
