//! The `latchkey-devidp` binary: `--help` documents everything; bad flags (exit 2) and bad
//! users files or a port in use (exit 1) give one clear line; a good start prints the URLs to use.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-devidp");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_documents_flags_faults_and_the_control_endpoint() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "--port",
        "--users",
        "--client-id",
        "--callback-url",
        "--sign-out-url",
        "--any-loopback-port",
        "--rotation",
        "--id-token-ttl",
        "--access-token-ttl",
        "--refresh-token-ttl",
        "--issuer-port",
        "--state-file",
        "--username-attributes",
        "--jwks-max-age",
        "--control-token",
        "LATCHKEY_DEVIDP_CONTROL_TOKEN",
        "X-Devidp-Control-Token",
        "application/json",
        "--fault",
        "/_devidp/faults",
        "/_devidp/rotate-keys",
        "/_devidp/stats",
        "/_devidp/clock",
        "token_server_error",
        "id_token_no_kid_multi_key",
        "authorize_response_wrong_iss",
        "id_token_unadvertised_alg",
        "jwks_oversized[=BYTES]",
        "refresh_without_id_token",
        "[[users]]",
    ] {
        assert!(out.contains(needle), "--help lacks {needle}");
    }
}

/// `args` fail with exit `want` (2: a usage error; 1: anything else) and one line naming `mentions`.
fn assert_one_line_error(want: i32, args: &[&str], mentions: &[&str]) {
    let (code, out, err) = run(args);
    assert_eq!(code, want, "{args:?}: exit code; stderr: {err}");
    assert!(out.is_empty(), "{args:?}: nothing on stdout");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line, got {err:?}");
    for m in mentions {
        assert!(
            lines[0].contains(m),
            "{args:?}: {:?} should mention {m:?}",
            lines[0]
        );
    }
}

#[test]
fn bad_flags_give_one_line_and_exit_2() {
    assert_one_line_error(2, &["--bogus"], &["--bogus"]);
    assert_one_line_error(2, &["--port", "notaport"], &["notaport"]);
    assert_one_line_error(2, &["--id-token-ttl", "5x"], &["5x"]);
    assert_one_line_error(
        2,
        &["--id-token-ttl", "60s", "--port", "0", "--issuer-port", "0"],
        &["ID-token lifetime", "5 minutes to 1 day"],
    );
    assert_one_line_error(2, &["--rotation=90", "--port", "0"], &["0 to 60"]);
    assert_one_line_error(2, &["--fault", "nonsense"], &["nonsense"]);
    assert_one_line_error(
        2,
        &["--control-token", "short", "--port", "0"],
        &["control token"],
    );
    assert_one_line_error(
        2,
        &["--callback-url", "http://example.com/cb", "--port", "0"],
        &["HTTP"],
    );
}

#[test]
fn bad_users_files_name_the_file_and_the_problem() {
    let dir = std::env::temp_dir().join(format!("devidp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.toml");
    assert_one_line_error(
        1,
        &["--users", missing.to_str().unwrap()],
        &["missing.toml"],
    );

    let cases = [
        ("syntax.toml", "[[users]\nusername = 1", "line"),
        ("nopass.toml", "[[users]]\nusername = \"a@b.c\"\n", "password"),
        ("empty.toml", "", "no users"),
        ("dupe.toml", "[[users]]\nusername=\"a@b.c\"\npassword=\"x\"\n[[users]]\nusername=\"A@b.c\"\npassword=\"y\"\n", "twice"),
        ("attr.toml", "[[users]]\nusername=\"a@b.c\"\npassword=\"x\"\nattributes={ tenant = \"x\" }\n", "tenant"),
    ];
    for (name, text, problem) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        assert_one_line_error(
            1,
            &["--users", path.to_str().unwrap(), "--port", "0"],
            &[name, problem],
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_port_in_use_is_exit_1_not_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_one_line_error(1, &["--port", &port, "--issuer-port", "0"], &[&port]);
}

#[test]
fn start_prints_urls_and_serves_users_from_the_file() {
    let dir = std::env::temp_dir().join(format!("devidp-cli-ok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join("users.toml");
    std::fs::write(
        &users,
        "[[users]]\nusername = \"alice@example.com\"\npassword = \"Alice-pass-1\"\ngroups = [\"users\"]\nattributes = { \"custom:tenant\" = \"acme\" }\n",
    )
    .unwrap();
    let secret = "cli-test-control-secret-42";
    let mut child = Command::new(BIN)
        .env("LATCHKEY_DEVIDP_CONTROL_TOKEN", secret)
        .args([
            "--port",
            "0",
            "--issuer-port",
            "0",
            "--users",
            users.to_str().unwrap(),
            "--client-id",
            "my-app",
            "--rotation=30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Press Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let text = printed.join("\n");
    // The control endpoint takes the secret from the environment, and only that one.
    let base = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Hosted UI domain: "))
        .expect("banner names the hosted UI")
        .trim()
        .to_string();
    let http = reqwest::blocking::Client::new();
    let with = |token: Option<&str>| {
        let mut req = http.get(format!("{base}/_devidp/faults"));
        if let Some(token) = token {
            req = req.header("X-Devidp-Control-Token", token);
        }
        req.send().unwrap().status().as_u16()
    };
    let statuses = (
        with(Some(secret)),
        with(None),
        with(Some("another-secret-of-length")),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(statuses, (200, 401, 403));
    for needle in [
        "Hosted UI domain: http://127.0.0.1:",
        "Issuer:",
        "Discovery:",
        "my-app",
        "alice@example.com",
        "on (grace 30 s)",
        "Control token:    the one given",
    ] {
        assert!(text.contains(needle), "banner lacks {needle}: {text}");
    }
    assert!(
        !text.contains("Alice-pass-1"),
        "passwords from a users file are not printed"
    );
    assert!(
        !text.contains(secret),
        "a given control token is not printed"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A provider whose stdout goes away (its terminal closed, `latchkey devidp | head`, a test that
/// stops reading after the ready line) keeps serving: the banner is best effort.
#[test]
fn a_closed_stdout_does_not_stop_the_provider() {
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        })
        .collect();
    let mut child = Command::new(BIN)
        .args(["--port", &ports[0].to_string()])
        .args(["--issuer-port", &ports[1].to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The reading end closes before the provider has printed anything.
    drop(child.stdout.take());
    let discovery = format!(
        "http://127.0.0.1:{}/us-east-1_DevPool01/.well-known/openid-configuration",
        ports[1]
    );
    let http = reqwest::blocking::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let answered = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the provider exited ({status}) when its stdout closed");
        }
        if let Ok(r) = http.get(&discovery).send() {
            break r.status().as_u16();
        }
        assert!(std::time::Instant::now() < deadline, "never answered");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // Still there after the banner would have been printed.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((answered, alive), (200, true));
}
