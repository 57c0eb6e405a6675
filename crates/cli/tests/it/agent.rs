#![cfg(unix)]
//! Issue 24 through the real binaries: `latchkey agent` holds the sessions and `latchkey token`
//! asks it (200 processes, one keychain read, one refresh); another user is refused at the
//! socket; the modes; bad clients answered while others are served; a caller without a
//! terminal gets exit 13 and no browser; `LATCHKEY_AGENT=off` never touches the socket.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use latchkey_testkit::devidp::{DevIdp, Fault};
use serde_json::{json, Value};

/// A running `latchkey agent` of an environment; killed (if still running) on drop.
pub(crate) struct RunningAgent {
    pub(crate) child: Child,
    pub(crate) socket: PathBuf,
}

impl RunningAgent {
    /// Start it and wait until it answers a hello.
    pub(crate) fn start(env: &Env) -> RunningAgent {
        let child = env
            .cmd(&["agent", "--read-timeout", "1"])
            .stderr(Stdio::null())
            .spawn()
            .expect("latchkey agent starts");
        let socket = env.dir.path().join("run").join("agent.sock");
        let mut agent = RunningAgent { child, socket };
        for _ in 0..400 {
            if let Some(status) = agent.child.try_wait().unwrap() {
                panic!("the agent exited early: {status}");
            }
            if let Ok(mut c) = Client::connect(&agent.socket) {
                if c.ask(&hello()).get("type") == Some(&json!("hello")) {
                    return agent;
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = agent.child.kill();
        panic!("the agent never answered on {}", agent.socket.display());
    }

    pub(crate) fn client(&self) -> Client {
        let mut c = Client::connect(&self.socket).expect("the agent's socket accepts");
        assert_eq!(c.ask(&hello())["type"], "hello");
        c
    }

    pub(crate) fn status(&self) -> Value {
        self.client().ask(&json!({"type": "status"}))
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw protocol client: lines in, lines out.
pub(crate) struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    fn connect(socket: &std::path::Path) -> std::io::Result<Client> {
        let stream = UnixStream::connect(socket)?;
        // A safety net against a hung test, not a measured time.
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.writer.write_all(bytes);
    }

    pub(crate) fn ask(&mut self, request: &Value) -> Value {
        self.send_raw(format!("{request}\n").as_bytes());
        self.answer()
    }

    pub(crate) fn answer(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("an answer line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("a JSON answer ({e}): {line:?}"))
    }

    /// Whether the agent closed the connection (nothing more to read).
    fn closed(&mut self) -> bool {
        let mut rest = String::new();
        matches!(self.reader.read_line(&mut rest), Ok(0))
    }
}

pub(crate) fn hello() -> Value {
    json!({"type": "hello", "version": 1})
}

pub(crate) fn error_kind(answer: &Value) -> &str {
    assert_eq!(answer["type"], "error", "an error answer: {answer}");
    answer["kind"].as_str().unwrap()
}

/// From now on, the browser of `env`'s commands (and of an agent started later) records each
/// time it is opened, and the URL for the test to play it.
pub(crate) fn counting_browser(env: &mut Env) {
    let hook = env.dir.path().join("counting-browser.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\nd=$(dirname \"$0\")\necho opened >> \"$d/opened\"\nprintf '%s' \"$1\" > \"$d/url.tmp\" && mv \"$d/url.tmp\" \"$d/url\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.extra_env
        .push(("LATCHKEY_BROWSER_COMMAND".into(), path_str(&hook).into()));
}

/// How many times the counting browser was opened.
pub(crate) fn browsers_opened(env: &Env) -> usize {
    std::fs::read_to_string(env.dir.path().join("opened")).map_or(0, |o| o.lines().count())
}

/// A signed-in environment for profile `work`.
pub(crate) fn signed_in() -> (Env, DevIdp) {
    let env = Env::without_agent();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    env.login();
    (env, idp)
}

#[test]
fn two_hundred_token_processes_get_one_token_from_one_keychain_read_and_one_refresh() {
    let env = Env::without_agent();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    // Tokens that look 3400 s old: the saved session is due for a refresh (margin 300 s).
    idp.set_fault(Fault::ClockOffset(-3400));
    env.login();
    idp.clear_faults();
    let agent = RunningAgent::start(&env);
    let refreshes_before = idp.stats().token_refresh_token;
    let callers: Vec<Child> = (0..200)
        .map(|_| {
            env.cmd(&["token"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("latchkey token starts")
        })
        .collect();
    every_caller_got_the_same_token(callers);
    assert_eq!(
        idp.stats().token_refresh_token - refreshes_before,
        1,
        "one refresh for the one due time"
    );
    assert_eq!(agent.status()["agent"]["keychain_reads"], 1);
}

#[test]
fn token_kubectl_and_aws_output_are_the_same_with_and_without_the_agent() {
    let env = Env::without_agent();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    env.login();
    let agent = RunningAgent::start(&env);
    for args in [
        &["token"][..],
        &["token", "--access", "--json"],
        &["token", "--format", "kubectl"],
        &["aws", "credentials"],
        &["aws", "credentials", "--format", "env"],
    ] {
        let through_agent = env.run(args);
        let direct = Run::from(env.cmd(args).env("LATCHKEY_AGENT", "off").output().unwrap());
        assert_eq!(through_agent.code, 0, "{}", through_agent.stderr);
        assert_eq!(through_agent.stdout, direct.stdout, "{args:?}");
        assert_eq!(through_agent.stderr, direct.stderr, "{args:?}");
    }
    assert_eq!(
        agent.status()["agent"]["keychain_reads"],
        1,
        "the agent answered"
    );
    let status = env.run(&["status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.json()["agent"]["pid"].is_u64(),
        "status names the agent"
    );
    let direct = Run::from(
        env.cmd(&["status", "--json"])
            .env("LATCHKEY_AGENT", "off")
            .output()
            .unwrap(),
    );
    assert!(
        direct.json().get("agent").is_none(),
        "no agent asked, none named"
    );
}

#[test]
fn the_directory_is_0700_and_the_socket_0600() {
    let (env, _idp) = signed_in();
    let run = env.dir.path().join("run");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let agent = RunningAgent::start(&env);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run), 0o700, "the agent tightens its directory");
    assert_eq!(mode(&agent.socket), 0o600);
}

#[test]
fn another_user_is_refused_at_the_socket() {
    let (env, _idp) = signed_in();
    let agent = RunningAgent::start(&env);
    // Let `nobody` reach the socket, so that the uid check is what refuses it.
    for dir in [env.dir.path().to_owned(), env.dir.path().join("run")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&agent.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    // The agent answers a refused peer at once, before it sends anything.
    let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nprint(s.makefile().readline(), end='')\n";
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .arg(&agent.socket)
        .output()
        .expect("setpriv runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error_kind(&answer), "peer_refused");
    assert_eq!(agent.status()["agent"]["refused_peers"], 1);
}

#[test]
fn bad_clients_get_their_answer_while_another_is_served() {
    let (env, _idp) = signed_in();
    let agent = RunningAgent::start(&env);
    // A slow client holds its connection without a full line.
    let mut slow = Client::connect(&agent.socket).unwrap();
    slow.send_raw(br#"{"type":"hel"#);
    // Meanwhile: the others.
    let mut first = Client::connect(&agent.socket).unwrap();
    assert_eq!(
        error_kind(&first.ask(&json!({"type": "status"}))),
        "hello_first"
    );
    assert_eq!(error_kind(&first.ask(&json!("not a request"))), "malformed");
    first.send_raw(b"{{{ not json\n");
    assert_eq!(error_kind(&first.answer()), "malformed");
    assert_eq!(
        first.ask(&hello())["type"],
        "hello",
        "the connection stays usable"
    );
    let mut oversized = Client::connect(&agent.socket).unwrap();
    oversized.send_raw(&vec![b'x'; 70 * 1024]);
    assert_eq!(error_kind(&oversized.answer()), "line_too_long");
    assert!(oversized.closed());
    let mut half_closed = Client::connect(&agent.socket).unwrap();
    half_closed.send_raw(br#"{"type":"hello","version":1}"#);
    half_closed
        .writer
        .shutdown(std::net::Shutdown::Write)
        .unwrap();
    assert_eq!(half_closed.answer()["type"], "hello");
    assert!(half_closed.closed());
    let mut old = Client::connect(&agent.socket).unwrap();
    assert_eq!(
        error_kind(&old.ask(&json!({"type": "hello", "version": 0}))),
        "unsupported_version"
    );
    let served = agent
        .client()
        .ask(&json!({"type": "token", "profile": "work", "token": "id"}));
    assert_eq!(served["type"], "token", "a good client is served");
    assert_eq!(error_kind(&slow.answer()), "timeout");
    assert!(slow.closed());
}

#[test]
fn a_caller_without_a_terminal_of_a_signed_out_profile_exits_13_and_no_browser_opens() {
    let env = Env::without_agent();
    let (_idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    let agent = RunningAgent::start(&env);
    let run = env.run(&["token", "--format", "kubectl"]);
    run.assert_error(13, "");
    let run = env.run(&["token", "--json"]);
    assert_eq!(run.code, 13);
    let report: Value = serde_json::from_str(&run.stderr).unwrap();
    assert_eq!(report["error"]["kind"], "sign_in_needed");
    let answer = agent
        .client()
        .ask(&json!({"type": "sign_in", "profile": "work", "interactive": false}));
    assert_eq!(error_kind(&answer), "sign_in_needed");
    assert!(!env.url_file().exists(), "no browser command ran");
    // Without an agent the CLI behaves as before: not signed in (no browser either).
    let direct = Run::from(
        env.cmd(&["token"])
            .env("LATCHKEY_AGENT", "off")
            .output()
            .unwrap(),
    );
    assert_ne!(direct.code, 13);
    assert!(!env.url_file().exists(), "no browser command ran");
}

#[test]
fn latchkey_agent_off_never_touches_the_socket() {
    let (env, _idp) = signed_in();
    // A listener that never answers stands where the agent's socket would be.
    let socket = env.dir.path().join("run").join("agent.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    for args in [&["token"][..], &["status"], &["aws", "credentials"]] {
        let _ = env.cmd(args).env("LATCHKEY_AGENT", "off").output().unwrap();
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected"
    );
    // Without it the CLI does knock (and, with no hello back, goes on without an agent).
    let run = env.run(&["token"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(listener.accept().is_ok(), "the CLI asked the socket");
}

#[test]
fn a_second_agent_finds_the_first_and_a_stale_socket_is_taken_over() {
    let (env, _idp) = signed_in();
    let agent = RunningAgent::start(&env);
    let pid = agent.child.id();
    let second = env.run(&["agent"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("pid {pid}")),
        "{}",
        second.stderr
    );
    let stop = env.run(&["agent", "stop"]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    drop(agent);
    // A socket file left behind (by an agent killed with SIGKILL, say).
    drop(UnixListener::bind(env.dir.path().join("run").join("agent.sock")).unwrap());
    let again = RunningAgent::start(&env);
    assert_eq!(again.status()["agent"]["keychain_reads"], 0);
    let status = env.run(&["agent", "status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    crate::cli_doc::assert_documented("latchkey agent status --json", &status.json());
    assert_eq!(status.json()["agent"]["pid"], again.child.id());
}

#[test]
fn after_logout_the_agent_hands_out_no_token_of_the_ended_session() {
    let (env, _idp) = signed_in();
    let agent = RunningAgent::start(&env);
    assert_eq!(env.run(&["token"]).code, 0);
    let logout = env.run(&["logout"]);
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let answer = agent
        .client()
        .ask(&json!({"type": "token", "profile": "work", "token": "id"}));
    assert_eq!(error_kind(&answer), "sign_in_needed");
    let run = env.run(&["token", "--json"]);
    assert_eq!(run.code, 13, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no token printed");
}

#[test]
fn one_sign_in_per_profile_runs_and_every_caller_waiting_gets_its_outcome() {
    let mut env = Env::without_agent();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    counting_browser(&mut env);
    let agent = RunningAgent::start(&env);
    let callers: Vec<_> = (0..5)
        .map(|_| {
            let mut client = agent.client();
            std::thread::spawn(move || {
                client.ask(&json!({"type": "sign_in", "profile": "work", "interactive": true}))
            })
        })
        .collect();
    // Every caller has joined the one sign-in before it completes.
    let waiters = || {
        agent
            .client()
            .ask(&json!({"type": "status", "profile": "work"}))["profiles"][0]["sign_in_waiters"]
            .as_u64()
    };
    // (A caller answered early, e.g. refused as busy, ends the wait: the checks below fail.)
    while (waiters() != Some(5) || !env.url_file().exists())
        && !callers.iter().any(|c| c.is_finished())
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = url::Url::parse(&std::fs::read_to_string(env.url_file()).unwrap()).unwrap();
    assert_eq!(waiters(), Some(5), "every caller waits for the one sign-in");
    assert_eq!(
        complete_login(
            &url,
            latchkey_testkit::devidp::DEMO_USERNAME,
            latchkey_testkit::devidp::DEMO_PASSWORD
        ),
        200
    );
    for caller in callers {
        let answer = caller.join().unwrap();
        assert_eq!(answer["type"], "signed_in", "{answer}");
    }
    assert_eq!(browsers_opened(&env), 1, "one browser for five callers");
    assert_eq!(idp.stats().token_authorization_code, 1, "one sign-in");
    let run = env.run(&["token"]);
    assert_eq!(
        run.code, 0,
        "the agent holds the new session: {}",
        run.stderr
    );
}

#[test]
fn a_subscriber_sees_the_state_changes_of_the_profiles_the_agent_holds() {
    let (env, _idp) = signed_in();
    let agent = RunningAgent::start(&env);
    let mut subscriber = agent.client();
    assert_eq!(
        subscriber.ask(&json!({"type": "subscribe"}))["type"],
        "subscribed"
    );
    // The first request about `work` reads its saved session: signed out → signed in.
    let run = env.run(&["token"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let change = subscriber.answer();
    assert_eq!(change["type"], "state_changed");
    assert_eq!(change["profile"], "work");
    assert_eq!(change["state"], "signed_in");
    assert!(change.get("token").is_none(), "no secret in a state change");
}

#[test]
fn status_through_the_agent_adds_the_agents_state_and_is_otherwise_the_direct_one() {
    let (env, _idp) = signed_in();
    let _agent = RunningAgent::start(&env);
    let direct = |args: &[&str]| {
        let out = env.cmd(args).env("LATCHKEY_AGENT", "off").output().unwrap();
        Run::from(out)
    };
    let mut through_agent = env.run(&["status", "--json"]).json();
    crate::cli_doc::assert_documented("latchkey status --json", &through_agent);
    let seen = through_agent.as_object_mut().unwrap().remove("agent");
    let seen = seen.expect("the agent is named");
    assert!(seen["pid"].is_u64(), "{seen}");
    assert_eq!(seen["state"], "signed_in", "the agent's own state: {seen}");
    assert_eq!(through_agent, direct(&["status", "--json"]).json());

    let human = env.run(&["status"]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    let agent_line = |line: &&str| line.trim_start().starts_with("agent ");
    let (named, rest): (Vec<&str>, Vec<&str>) = human.stdout.lines().partition(agent_line);
    assert_eq!(named.len(), 1, "{}", human.stdout);
    assert!(named[0].ends_with("holds it signed in"), "{}", named[0]);
    let plain = direct(&["status"]);
    // The two runs are apart in time, so "(in 1 h 0 min)" may have become "(in 59 min)".
    assert_eq!(
        without_relative_times(rest),
        without_relative_times(plain.stdout.lines().collect())
    );
    assert_eq!(human.stderr, plain.stderr);
}

/// `status` lines with their relative times ("(in 59 min)", "(1 s ago)") cut off; the absolute
/// times before them stay.
fn without_relative_times(lines: Vec<&str>) -> Vec<&str> {
    let relative = |tail: &str| tail.starts_with(" (in ") || tail.ends_with(" ago)");
    lines
        .into_iter()
        .map(|line| match line.rfind(" (") {
            Some(at) if line.ends_with(')') && relative(&line[at..]) => &line[..at],
            _ => line,
        })
        .collect()
}

/// Waits for `callers` (`latchkey token` processes) and asserts that every one exited 0 with
/// the same token, an ID token.
pub(crate) fn every_caller_got_the_same_token(callers: Vec<Child>) {
    let runs: Vec<Run> = callers
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().unwrap()))
        .collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            run.stdout, runs[0].stdout,
            "every caller gets the same token"
        );
    }
    assert!(is_jwt(runs[0].stdout.trim()));
}
