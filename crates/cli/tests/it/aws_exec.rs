#![cfg(unix)]
//! `latchkey exec` and `latchkey env`: the profile's AWS credentials in a program's environment
//! only. The program is real (botocore in the pinned peers' Python, against moto; `sh`), and
//! so are the shells that evaluate `env`'s lines (bash; zsh, fish, pwsh where installed).

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use latchkey_core::aws::IdentityFlow;
use latchkey_testkit::{aws_peer_bin, Moto, MOTO_ROLE};
use url::Url;

/// botocore's default chain, as any Python AWS tool resolves it: which provider answered, the
/// region it picked and whom STS says the credentials are for.
const BOTOCORE_CHILD: &str = r#"
import json, os, botocore.session
session = botocore.session.Session()
credentials = session.get_credentials()
sts = session.create_client("sts", endpoint_url=os.environ["LATCHKEY_STS_ENDPOINT"])
print(json.dumps({
    "method": credentials.method,
    "region": sts.meta.region_name,
    "arn": sts.get_caller_identity()["Arn"],
}))
"#;

/// An environment signed in at devidp with devidp's identity pool.
fn signed_in_with_pool() -> (Env, latchkey_testkit::devidp::DevIdp) {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    assert_eq!(env.login().code, 0);
    (env, idp)
}

/// `credential_process` JSON of `latchkey aws credentials`: the credentials the profile holds.
fn held_credentials(env: &Env) -> serde_json::Value {
    let held = env.run(&["aws", "credentials"]);
    assert_eq!(held.code, 0, "{}", held.stderr);
    held.json()
}

#[test]
fn exec_gives_botocore_the_credentials_and_the_shell_keeps_none() {
    let moto = Moto::start();
    let env = Env::new();
    let (_idp, mut profile) = start_cognito("work");
    profile.aws = Some(latchkey_core::IdentityPoolSettings {
        identity_pool_id: moto.create_identity_pool(),
        identity_endpoint: Some(Url::parse(&moto.endpoint).unwrap()),
        role_arn: Some(MOTO_ROLE.into()),
        flow: IdentityFlow::Classic,
        ..Default::default()
    });
    env.write_profile(&profile);
    assert_eq!(env.login().code, 0);
    let aws_dir = env.dir.path().join("aws");
    std::fs::create_dir_all(&aws_dir).unwrap();
    // A shell that runs `latchkey exec`, then prints its own environment.
    let script = r#""$LATCHKEY" exec -- "$PEER_PYTHON" -c "$CHILD"; echo "exit=$?"; env"#;
    let out = env
        .program(Path::new("bash"), &["-c", script])
        .env("LATCHKEY", env!("CARGO_BIN_EXE_latchkey"))
        .env("PEER_PYTHON", aws_peer_bin("python"))
        .env("CHILD", BOTOCORE_CHILD)
        .env("LATCHKEY_STS_ENDPOINT", &moto.endpoint)
        .env("AWS_CONFIG_FILE", aws_dir.join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            aws_dir.join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Each would send botocore elsewhere (an unknown profile fails outright): exec drops them.
        .env("AWS_PROFILE", "not-a-profile")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9/creds",
        )
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", aws_dir.join("no-token"))
        .env("AWS_ROLE_ARN", MOTO_ROLE)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let run = Run::from(out);
    let mut lines = run.stdout.lines();
    let child: serde_json::Value = serde_json::from_str(lines.next().unwrap())
        .unwrap_or_else(|e| panic!("the child's JSON first ({e}): {}", run.stderr));
    assert_eq!(lines.next(), Some("exit=0"), "{}", run.stderr);
    assert_eq!(
        child["method"], "env",
        "botocore read the environment: {child}"
    );
    assert_eq!(child["region"], "us-east-1", "the identity pool's region");
    assert!(
        child["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/LatchkeyMotoRole/"),
        "moto knows the role: {child}"
    );
    let shell_env: Vec<&str> = lines.collect();
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        let prefix = format!("{name}=");
        assert!(
            !shell_env.iter().any(|line| line.starts_with(&prefix)),
            "the shell has no {name} after exec"
        );
    }
    let secret = held_credentials(&env)["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!run.stdout.contains(&secret) && !run.stderr.contains(&secret));
}

#[test]
fn exec_passes_the_exit_status_on_and_says_what_did_not_start() {
    let (env, _idp) = signed_in_with_pool();
    let code = |args: &[&str]| env.run(&[&["exec", "--"], args].concat());
    assert_eq!(code(&["sh", "-c", "exit 7"]).code, 7);
    assert_eq!(code(&["sh", "-c", "exit 0"]).code, 0);
    assert_eq!(
        code(&["sh", "-c", "kill -TERM $$"]).code,
        128 + 15,
        "a signal's death as a shell reports it"
    );
    let missing = code(&["latchkey-test-no-such-program", "x"]);
    assert_eq!(missing.code, 127, "{}", missing.stderr);
    assert!(missing.stdout.is_empty());
    let not_executable = env.dir.path().join("not-executable");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    assert_eq!(code(&[path_str(&not_executable)]).code, 126);
    // Options after `--` are the program's.
    let echoed = code(&["sh", "-c", "printf '%s' \"$1\"", "sh", "--profile"]);
    assert_eq!((echoed.code, echoed.stdout.as_str()), (0, "--profile"));
}

#[test]
fn exec_forwards_sigterm_and_sigint_to_the_program() {
    let (env, _idp) = signed_in_with_pool();
    assert_eq!(signal_heard(&env, "TERM"), ("TERM\n".to_owned(), Some(42)));
    assert_eq!(signal_heard(&env, "INT"), ("INT\n".to_owned(), Some(42)));
}

/// Runs `latchkey exec` with a program that writes `ready` once its handler for `signal` is
/// set; sends `signal` to latchkey, and returns what the program wrote on it and latchkey's
/// exit code. Latchkey runs in a process group of its own, as a job in the background: a
/// SIGINT it gets is then not one the terminal also sent to the program.
fn signal_heard(env: &Env, signal: &str) -> (String, Option<i32>) {
    use std::os::unix::process::CommandExt;
    let ready = env.dir.path().join(format!("ready-{signal}"));
    let heard = env.dir.path().join(format!("heard-{signal}"));
    let child = format!(
        "trap 'echo {signal} > {heard}; exit 42' {signal}; touch {ready}; while :; do sleep 1; done",
        heard = heard.display(),
        ready = ready.display()
    );
    let mut latchkey = env
        .cmd(&["exec", "--", "sh", "-c", &child])
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready.exists() {
        assert!(
            latchkey.try_wait().unwrap().is_none(),
            "latchkey ended early"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the program never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &latchkey.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = latchkey.wait().unwrap();
    (
        std::fs::read_to_string(&heard).unwrap_or_default(),
        status.code(),
    )
}

/// A shell's program, and the script that evaluates `latchkey env`'s output (in `$LINES`) and
/// prints the four credential values and the region, one a line.
fn shell_script(shell: &str) -> (&'static str, &'static str) {
    match shell {
        "bash" | "zsh" => (
            shell_program(shell),
            r#"AWS_PROFILE=other; eval "$LINES"; for n in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION AWS_REGION; do printenv "$n"; done; printenv AWS_PROFILE; true"#,
        ),
        "fish" => (
            "fish",
            r#"set -gx AWS_PROFILE other; echo $LINES | source; for n in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION AWS_REGION; printenv $n; end; printenv AWS_PROFILE; true"#,
        ),
        _ => (
            "pwsh",
            r#"$Env:AWS_PROFILE = 'other'; Invoke-Expression ($Env:LINES); foreach ($n in 'AWS_ACCESS_KEY_ID','AWS_SECRET_ACCESS_KEY','AWS_SESSION_TOKEN','AWS_CREDENTIAL_EXPIRATION','AWS_REGION') { [Environment]::GetEnvironmentVariable($n) }; if ($Env:AWS_PROFILE) { $Env:AWS_PROFILE }"#,
        ),
    }
}

fn shell_program(shell: &str) -> &'static str {
    if shell == "zsh" {
        "zsh"
    } else {
        "bash"
    }
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn env_lines_evaluated_by_each_shell_yield_exactly_the_credentials() {
    let (env, _idp) = signed_in_with_pool();
    let held = held_credentials(&env);
    let json = env.run(&["env", "--shell", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let json = json.json();
    let expected: Vec<String> = [
        held["AccessKeyId"].as_str().unwrap(),
        held["SecretAccessKey"].as_str().unwrap(),
        held["SessionToken"].as_str().unwrap(),
        held["Expiration"].as_str().unwrap(),
        json["AWS_REGION"].as_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(json["AWS_ACCESS_KEY_ID"], held["AccessKeyId"]);
    assert_eq!(json["AWS_DEFAULT_REGION"], json["AWS_REGION"]);
    assert_eq!(json.as_object().unwrap().len(), 6);
    let mut evaluated = 0;
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (program, script) = shell_script(shell);
        if !installed(program) {
            eprintln!("{program} is not installed: `env --shell {shell}` was not evaluated");
            continue;
        }
        let lines = env.run(&["env", "--shell", shell]);
        assert_eq!(lines.code, 0, "{}", lines.stderr);
        let args: &[&str] = match program {
            "pwsh" => &["-NoProfile", "-NonInteractive", "-Command", script],
            _ => &["-c", script],
        };
        let out = Command::new(program)
            .args(args)
            .env("LINES", &lines.stdout)
            .env_remove("AWS_ACCESS_KEY_ID")
            .output()
            .unwrap();
        let got = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            got.lines().collect::<Vec<_>>(),
            expected,
            "{shell} gets exactly the credentials, and no AWS_PROFILE: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        evaluated += 1;
    }
    assert!(evaluated >= 1, "bash at least");
}
