#![cfg(unix)]
//! `latchkey aws serve`: the container-credentials endpoint as the AWS SDKs use it. botocore's
//! own container provider (the pinned peers' Python) reads the two printed variables, fetches
//! through the endpoint and signs calls that devidp's STS verifies and moto answers; with
//! four-second credentials, botocore waits until the ones it holds have expired and fetches
//! again: new ones, renewed by latchkey.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use latchkey_testkit::{aws_peer_bin, Moto};

/// botocore's default chain with no other source of credentials: the container provider.
const BOTOCORE_CHILD: &str = r#"
import json, os, time, botocore.session
session = botocore.session.Session()
credentials = session.get_credentials()
sts = session.create_client("sts", region_name="us-east-1", endpoint_url=os.environ["LATCHKEY_STS_ENDPOINT"])
keys, arns = [], []
for call in range(2):
    arns.append(sts.get_caller_identity()["Arn"])
    keys.append(credentials.get_frozen_credentials().access_key)
    # After the first call: until the credentials botocore holds have expired.
    while call == 0 and credentials._seconds_remaining() > -1:
        time.sleep(0.2)
moto = session.create_client("sts", region_name="us-east-1", endpoint_url=os.environ["LATCHKEY_MOTO_ENDPOINT"])
print(json.dumps({"method": credentials.method, "keys": keys, "arns": arns,
                  "moto_account": moto.get_caller_identity()["Account"]}))
"#;

/// A running `latchkey aws serve` and the two values it printed; killed on drop.
struct Serving {
    child: Child,
    full_uri: String,
    token: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &Env) -> Serving {
    let mut child = env
        .cmd(&["aws", "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut export = |name: &str| {
        let line = lines.next().expect("a line").unwrap();
        let prefix = format!("export {name}=");
        line.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("`{prefix}…` expected"))
            .to_owned()
    };
    let full_uri = export("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let token = export("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    Serving {
        child,
        full_uri,
        token,
    }
}

/// Signed in at devidp, whose identity pool issues credentials valid for `ttl`.
fn signed_in(ttl: Duration) -> (Env, latchkey_testkit::devidp::DevIdp) {
    let env = Env::new();
    let (idp, mut profile) = latchkey_testkit::start_cognito(|cfg| {
        cfg.identity_pool.as_mut().unwrap().credentials_ttl = ttl;
    });
    profile.name = "work".into();
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    assert_eq!(env.login().code, 0);
    (env, idp)
}

#[test]
fn botocores_container_provider_gets_fresh_credentials_through_the_endpoint() {
    // Four seconds: Latchkey renews them after one (a quarter of their lifetime); botocore
    // holds each set until it has expired, then asks the endpoint again.
    let (env, idp) = signed_in(Duration::from_secs(4));
    let moto = Moto::start();
    let serving = serve(&env);
    let dir = env.dir.path().join("aws");
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(aws_peer_bin("python"))
        .args(["-c", BOTOCORE_CHILD])
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &serving.full_uri)
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", &serving.token)
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LATCHKEY_STS_ENDPOINT", idp.identity_endpoint().unwrap())
        .env("LATCHKEY_MOTO_ENDPOINT", &moto.endpoint)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 0, "botocore: {}", run.stderr);
    let answer = run.json();
    assert_eq!(answer["method"], "container-role", "{answer}");
    for arn in answer["arns"].as_array().unwrap() {
        assert_eq!(
            arn,
            "arn:aws:sts::123456789012:assumed-role/LatchkeyDemoAdmin/CognitoIdentityCredentials",
            "devidp's STS verified the signature and knows the key"
        );
    }
    let keys = answer["keys"].as_array().unwrap();
    assert_ne!(
        keys[0], keys[1],
        "after the expiry, new credentials through the endpoint"
    );
    assert!(idp.stats().identity_credentials_issued >= 2);
    assert_eq!(answer["moto_account"], "123456789012", "moto answered");
}

#[test]
fn a_request_without_the_token_gets_401_and_no_credentials() {
    let (env, idp) = signed_in(Duration::from_secs(3600));
    let serving = serve(&env);
    let http = reqwest::blocking::Client::new();
    let get = |token: Option<&str>| {
        let mut request = http.get(&serving.full_uri);
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        let response = request.send().unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    let wrong = format!("{}x", serving.token);
    for token in [None, Some(wrong.as_str()), Some(""), Some("Bearer x")] {
        assert_eq!(get(token), (401, String::new()), "token {token:?}");
    }
    assert_eq!(idp.stats().identity_credentials_issued, 0, "none fetched");
    let (status, body) = get(Some(&serving.token));
    assert_eq!(status, 200);
    let creds: serde_json::Value = serde_json::from_str(&body).unwrap();
    // No AccountId: devidp's enhanced flow names no role, so the account is not known.
    for field in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(creds[field].is_string(), "{field} in the answer");
    }
    let other = http
        .get(serving.full_uri.replace("/credentials", "/other"))
        .header("Authorization", &serving.token)
        .send()
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    let post = http
        .post(&serving.full_uri)
        .header("Authorization", &serving.token)
        .send()
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    // A name that only resolves to 127.0.0.1 (DNS rebinding): refused, token or not.
    let rebound = http
        .get(&serving.full_uri)
        .header("Authorization", &serving.token)
        .header("Host", "attacker.example:80")
        .send()
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 400);
    assert_eq!(rebound.text().unwrap(), "");
}

#[test]
fn before_a_sign_in_the_endpoint_answers_500_with_the_reason_and_keeps_serving() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    let serving = serve(&env);
    let answer = reqwest::blocking::Client::new()
        .get(&serving.full_uri)
        .header("Authorization", &serving.token)
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 500);
    let body: serde_json::Value = answer.json().unwrap();
    assert_eq!(body["Code"], "CredentialsUnavailable");
    assert!(body.get("AccessKeyId").is_none());
    assert_eq!(idp.stats().identity_credentials_issued, 0);
    assert_eq!(env.login().code, 0);
    let answer = reqwest::blocking::Client::new()
        .get(&serving.full_uri)
        .header("Authorization", &serving.token)
        .send()
        .unwrap();
    assert_eq!(
        answer.status().as_u16(),
        200,
        "the sign-in is seen by the running endpoint"
    );
}
