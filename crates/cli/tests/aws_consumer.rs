//! The real consumer of `latchkey aws credentials`: botocore (pinned in
//! tests/interop/aws/requirements.txt), configured with `credential_process` = the real
//! `latchkey` binary exactly as `latchkey aws config-snippet` prints it. botocore runs it,
//! reads the output with its own parser, calls STS and signs a request with its own SigV4
//! signer; the answers come from independent parts (moto) or devidp.
//!
//! The Python packages live in tests/interop/aws/.venv (`cargo xtask test` installs them).
//! Every test starts what it needs on free loopback ports and stops it.

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use latchkey_core::aws::IdentityFlow;
use latchkey_devidp::DEMO_ADMIN_ROLE;
use latchkey_testkit::free_port;
use url::Url;

const MOTO_ROLE: &str = "arn:aws:iam::123456789012:role/LatchkeyMotoRole";

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/aws")
}

fn venv_bin(name: &str) -> PathBuf {
    let path = peers_dir().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo xtask test` installs the pinned Python peers (or: python3 -m venv \
         tests/interop/aws/.venv && tests/interop/aws/.venv/bin/pip install -r tests/interop/aws/requirements.txt)",
        path.display()
    );
    path
}

/// `moto_server` on a free loopback port, stopped on drop; its log drained into memory.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let mut child = Command::new(venv_bin("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let log = Arc::new(Mutex::new(String::new()));
        let (sink, stderr) = (Arc::clone(&log), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut log = sink.lock().unwrap();
                if log.len() < 64 * 1024 {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                panic!("moto_server exited ({status}):\n{}", log.lock().unwrap());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}/"),
        }
    }

    /// `CreateIdentityPool` (moto accepts it unsigned); returns the pool id.
    fn create_identity_pool(&self) -> String {
        let answer: serde_json::Value = reqwest::blocking::Client::new()
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AWSCognitoIdentityService.CreateIdentityPool",
            )
            .body(r#"{"IdentityPoolName":"latchkey","AllowUnauthenticatedIdentities":false}"#)
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["IdentityPoolId"].as_str().unwrap().to_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs consumer.py against AWS profile `latchkey` of a config file holding exactly what
/// `latchkey aws config-snippet --aws-profile latchkey` printed. The `latchkey` process that
/// botocore starts inherits this environment (profiles file, keychain service).
fn botocore(env: &Env, sts_endpoint: &str, demo_api_url: Option<&str>) -> serde_json::Value {
    let snippet = env.run(&["aws", "config-snippet", "--aws-profile", "latchkey"]);
    assert_eq!(snippet.code, 0, "{}", snippet.stderr);
    let aws_dir = env.dir.path().join("aws");
    std::fs::create_dir_all(&aws_dir).unwrap();
    let config = aws_dir.join("config");
    std::fs::write(&config, &snippet.stdout).unwrap();
    let mut python = Command::new(venv_bin("python"));
    // The environment the tests run `latchkey` with (profiles file, keychain service, …).
    for (name, value) in env.cmd(&[]).get_envs() {
        match value {
            Some(value) => python.env(name, value),
            None => python.env_remove(name),
        };
    }
    python
        .arg(peers_dir().join("consumer.py"))
        .env("AWS_CONFIG_FILE", &config)
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            aws_dir.join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LATCHKEY_STS_ENDPOINT", sts_endpoint)
        .stdin(Stdio::null());
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        python.env_remove(name);
    }
    if let Some(url) = demo_api_url {
        python.env("LATCHKEY_DEMO_API_URL", url);
    }
    let output = python.output().expect("run the botocore consumer");
    assert!(
        output.status.success(),
        "botocore failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[test]
fn botocore_runs_latchkey_aws_credentials_and_moto_knows_the_role() {
    let moto = Moto::start();
    let pool_id = moto.create_identity_pool();
    let env = Env::new();
    // Signed in at devidp; the identity pool is moto's (it does not verify Logins tokens).
    let (_idp, mut profile) = start_cognito("work");
    profile.aws = Some(latchkey_core::IdentityPoolSettings {
        identity_pool_id: pool_id,
        identity_endpoint: Some(Url::parse(&moto.endpoint).unwrap()),
        role_arn: Some(MOTO_ROLE.into()),
        flow: IdentityFlow::Classic,
        ..Default::default()
    });
    env.write_profile(&profile);
    env.login();
    let answer = botocore(&env, &moto.endpoint, None);
    assert_eq!(
        answer["method"], "custom-process",
        "botocore ran credential_process: {answer}"
    );
    assert!(answer["access_key_id"]
        .as_str()
        .unwrap()
        .starts_with("ASIA"));
    assert!(
        answer["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/LatchkeyMotoRole/latchkey-"),
        "moto's STS names the role latchkey assumed: {answer}"
    );
}

#[test]
fn botocore_signs_with_latchkeys_credentials_and_devidp_accepts_its_signature() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    env.login();
    let endpoint = idp.identity_endpoint().unwrap();
    let demo_url = format!("{}/demo-aws-api/me", idp.base_url());
    let answer = botocore(&env, &endpoint, Some(&demo_url));
    assert_eq!(answer["method"], "custom-process", "{answer}");
    assert_eq!(
        answer["arn"],
        "arn:aws:sts::123456789012:assumed-role/LatchkeyDemoAdmin/CognitoIdentityCredentials",
        "devidp's STS answered botocore's signed GetCallerIdentity"
    );
    assert_eq!(
        answer["demo_status"], 200,
        "devidp accepted botocore's SigV4: {answer}"
    );
    assert_eq!(answer["demo_body"]["role_arn"], DEMO_ADMIN_ROLE);
    // botocore asked latchkey once; latchkey fetched once
    assert_eq!(idp.stats().identity_credentials_issued, 1);
}
