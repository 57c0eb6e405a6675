#![cfg(unix)]
//! The real consumer of `latchkey aws credentials`: botocore (pinned in
//! tests/interop/aws/requirements.txt), configured with `credential_process` = the real
//! `latchkey` binary exactly as `latchkey aws config-snippet` prints it. botocore runs it,
//! reads the output with its own parser, calls STS and signs a request with its own SigV4
//! signer; the answers come from independent parts (moto) or devidp. Near expiry, botocore's
//! own refresh rule decides how often it runs `latchkey`: the test counts the runs.
//!
//! The Python packages live in tests/interop/aws/.venv (`cargo xtask test` installs them).
//! Every test starts what it needs on free loopback ports and stops it.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use latchkey_core::aws::{AwsCredentials, IdentityFlow};
use latchkey_core::{OffsetClock, Profile, Session, SessionOptions, Vault};
use latchkey_devidp::{DevIdp, CONTROL_TOKEN_HEADER, DEMO_ADMIN_ROLE};
use latchkey_testkit::{aws_peer_bin, aws_peers_dir, Moto, MOTO_ROLE};
use url::Url;

/// What `latchkey aws config-snippet --aws-profile latchkey` prints.
fn config_snippet(env: &Env) -> String {
    let snippet = env.run(&["aws", "config-snippet", "--aws-profile", "latchkey"]);
    assert_eq!(snippet.code, 0, "{}", snippet.stderr);
    snippet.stdout
}

/// Runs consumer.py against AWS profile `latchkey` of a config file holding exactly what
/// `latchkey aws config-snippet --aws-profile latchkey` printed.
pub(crate) fn botocore(
    env: &Env,
    sts_endpoint: &str,
    demo_api_url: Option<&str>,
) -> serde_json::Value {
    let demo = demo_api_url.map(|url| ("LATCHKEY_DEMO_API_URL", url));
    consumer(env, &config_snippet(env), sts_endpoint, demo.as_slice())
}

/// Runs consumer.py with `config` as its AWS config file and `settings` (`LATCHKEY_…`
/// variables) in its environment. The `latchkey` process that botocore starts inherits this
/// environment (profiles file, keychain service).
fn consumer(
    env: &Env,
    config: &str,
    sts_endpoint: &str,
    settings: &[(&str, &str)],
) -> serde_json::Value {
    let aws_dir = env.dir.path().join("aws");
    std::fs::create_dir_all(&aws_dir).unwrap();
    let config_file = aws_dir.join("config");
    std::fs::write(&config_file, config).unwrap();
    let mut python = Command::new(aws_peer_bin("python"));
    // The environment the tests run `latchkey` with (profiles file, keychain service, …).
    for (name, value) in env.cmd(&[]).get_envs() {
        match value {
            Some(value) => python.env(name, value),
            None => python.env_remove(name),
        };
    }
    python
        .arg(aws_peers_dir().join("consumer.py"))
        .env("AWS_CONFIG_FILE", &config_file)
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            aws_dir.join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LATCHKEY_STS_ENDPOINT", sts_endpoint)
        .envs(settings.iter().copied())
        .stdin(Stdio::null());
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        python.env_remove(name);
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

/// `config` with its `credential_process` running `latchkey` through a script that first adds
/// a line to the returned file: one line per run.
fn counting_runs(env: &Env, config: &str) -> (String, PathBuf) {
    let program = std::fs::canonicalize(env!("CARGO_BIN_EXE_latchkey")).unwrap();
    let runs = env.dir.path().join("credential-process-runs");
    let script = env.dir.path().join("counting-latchkey");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> '{}'\nexec '{}' \"$@\"\n",
            runs.display(),
            program.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let program = program.display().to_string();
    assert!(config.contains(&program), "{config}");
    (
        config.replace(&program, &script.display().to_string()),
        runs,
    )
}

fn lines_in(file: &Path) -> usize {
    std::fs::read_to_string(file).map_or(0, |text| text.lines().count())
}

/// Moves devidp's clock by `secs` (back when negative) through its control endpoint.
fn shift_devidp_clock(idp: &DevIdp, secs: i64) {
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/_devidp/clock", idp.base_url()))
        .header(CONTROL_TOKEN_HEADER, idp.control_token())
        .json(&serde_json::json!({ "advance_secs": secs }))
        .send()
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

/// AWS credentials in the keychain as an earlier run left them: fetched `age` seconds ago,
/// with devidp's lifetime (an hour) from then. The fetch is the app's (latchkey-core in this
/// process, on the CLI's keychain service) with its clock and devidp's turned back by `age`;
/// devidp's is put right again after it.
fn credentials_fetched_ago(env: &Env, idp: &DevIdp, profile: &Profile, age: i64) -> AwsCredentials {
    shift_devidp_clock(idp, -age);
    let session = Session::new(
        profile.clone(),
        SessionOptions {
            vault: Vault::system_with_service(&env.service),
            clock: Arc::new(OffsetClock::new(-age)),
            ..SessionOptions::default()
        },
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let creds = runtime
        .block_on(session.aws_credentials())
        .expect("credentials for the signed-in session");
    shift_devidp_clock(idp, age);
    creds
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

/// botocore (botocore/credentials.py) runs `credential_process` again before every call once
/// the credentials it holds have less than 15 minutes left. Latchkey's cached credentials have
/// 14 of their 60 minutes left: Latchkey renews them at botocore's first run, so botocore runs
/// it once over five calls, instead of before each (receiving the same keys every time).
#[test]
fn botocore_near_expiry_gets_renewed_credentials_and_runs_latchkey_once() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    let profile = latchkey_testkit::with_identity_pool(&idp, profile, None);
    env.write_profile(&profile);
    env.login();
    let cached = credentials_fetched_ago(&env, &idp, &profile, 46 * 60);
    let (config, runs) = counting_runs(&env, &config_snippet(&env));
    let endpoint = idp.identity_endpoint().unwrap();
    let answer = consumer(&env, &config, &endpoint, &[("LATCHKEY_SDK_CALLS", "5")]);
    assert_eq!(answer["sdk_calls"], 5, "{answer}");
    assert_eq!(
        lines_in(&runs),
        1,
        "botocore ran latchkey once over five calls: {answer}"
    );
    assert_ne!(
        answer["access_key_id"],
        cached.access_key_id.as_str(),
        "botocore got renewed credentials"
    );
    assert_eq!(
        idp.stats().identity_credentials_issued,
        2,
        "the cached credentials and their one renewal"
    );
}
