#![cfg(unix)]
//! `latchkey token --format kubectl` as kubectl's exec credential plugin: the ExecCredential
//! against the published `client.authentication.k8s.io/v1` schema (apiVersion, kind,
//! `status.token`, `status.expirationTimestamp` in RFC 3339, no `spec`), and kubectl itself
//! running the plugin and sending the token to the devidp's demo API (an API Gateway-like
//! consumer that verifies it), behind a TLS front: kubectl runs exec plugins only for HTTPS.
//!
//! kubectl is used when one that reads the v1 ExecCredential (1.22 or later) is on PATH.
//! Debian 12 packages only kubectl 1.20 (`kubernetes-client`), so CI does not install it and
//! relies on the schema check, which runs everywhere.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use common::*;
use latchkey_testkit::devidp::DEMO_USERNAME;
use latchkey_testkit::TlsFront;

/// The kubectl on PATH, if it reads v1 ExecCredentials (1.22 or later).
pub(crate) fn kubectl_reading_v1() -> Option<PathBuf> {
    let out = Command::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let minor: u32 = v["clientVersion"]["minor"]
        .as_str()?
        .trim_end_matches('+')
        .parse()
        .ok()?;
    let found = std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())?;
    (v["clientVersion"]["major"] == "1" && minor >= 22).then_some(found)
}

/// A kubeconfig whose only user runs `latchkey token --format kubectl` and whose cluster is
/// the TLS front (trusted through its certificate).
pub(crate) fn kubeconfig(dir: &Path, front: &TlsFront, interactive_mode: &str) -> PathBuf {
    let latchkey = env!("CARGO_BIN_EXE_latchkey");
    let ca = dir.join("front.pem");
    std::fs::write(&ca, &front.certificate_pem).unwrap();
    let ca = ca.display();
    let server = &front.base;
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: devidp
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: latchkey
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {latchkey}
      args: [token, --format, kubectl]
      interactiveMode: {interactive_mode}
contexts:
- name: devidp
  context:
    cluster: devidp
    user: latchkey
current-context: devidp
"
    );
    let path = dir.join(format!("kubeconfig-{interactive_mode}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `kubectl get --raw /demo-api/me` with `config`.
pub(crate) fn kubectl_get_me(env: &Env, kubectl: &Path, config: &Path) -> Run {
    let out = env
        .program(
            kubectl,
            &[
                "--kubeconfig",
                path_str(config),
                "get",
                "--raw",
                "/demo-api/me",
            ],
        )
        .output()
        .unwrap();
    Run::from(out)
}

#[test]
fn token_format_kubectl_is_an_exec_credential_kubectl_uses() {
    let env = Env::new();
    let (idp, profile) = start_cognito("kube");
    env.write_profile(&profile);

    // Not signed in: no credential, the documented exit code, nothing on stdout.
    let r = env.run(&["token", "--format", "kubectl"]);
    r.assert_error(12, "not signed in");
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    env.login();
    let r = env.run(&["token", "--format", "kubectl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cred = r.json();
    // The published schema: apiVersion, kind, and a status with the token and an RFC 3339
    // expiry; the spec is kubectl's input and never part of a plugin's answer.
    assert_eq!(cred["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(cred["kind"], "ExecCredential");
    let keys: Vec<&String> = cred.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["apiVersion", "kind", "status"], "no spec: {cred}");
    let status = cred["status"].as_object().unwrap();
    let mut status_keys: Vec<&String> = status.keys().collect();
    status_keys.sort();
    assert_eq!(status_keys, ["expirationTimestamp", "token"]);
    let token = status["token"].as_str().unwrap();
    assert!(is_jwt(token), "the token is a JWT");
    let expiry = status["expirationTimestamp"].as_str().unwrap();
    let expiry: DateTime<Utc> = DateTime::parse_from_rfc3339(expiry)
        .unwrap_or_else(|e| panic!("expirationTimestamp {expiry} is RFC 3339: {e}"))
        .into();
    assert!(expiry > Utc::now(), "expires in the future");

    // The ID token by default (the profile's api_token), the same one `token` prints, with
    // the same expiry.
    let id = env.run(&["token", "--json"]).json();
    assert_eq!(id["token"], token);
    let id_expiry: DateTime<Utc> = serde_json::from_value(id["expires_at"].clone()).unwrap();
    assert_eq!(id_expiry.timestamp(), expiry.timestamp());
    let access = env
        .run(&["token", "--format", "kubectl", "--access"])
        .json();
    assert_eq!(
        access["status"]["token"],
        env.run(&["token", "--access"]).stdout.trim()
    );

    let Some(kubectl) = kubectl_reading_v1() else {
        eprintln!("no kubectl 1.22 or later on PATH: the ExecCredential was checked against the schema only");
        assert_eq!(env.run(&["logout"]).code, 0);
        return;
    };
    let front = TlsFront::start(format!("127.0.0.1:{}", idp.port()).parse().unwrap());
    // kubectl runs the plugin and sends its token; the demo API's Cognito-style authorizer
    // verifies it (a 401 fails `get --raw`) and answers with the user it saw.
    for mode in ["Never", "IfAvailable"] {
        let r = kubectl_get_me(&env, &kubectl, &kubeconfig(env.dir.path(), &front, mode));
        assert_eq!(
            r.code,
            0,
            "kubectl ({mode}): {}\nprovider log: {:?}",
            r.stderr,
            idp.log_tail(3)
        );
        assert!(
            r.stdout.contains(DEMO_USERNAME),
            "the API saw the demo user: {}",
            r.stdout
        );
    }
    // Signed out: kubectl fails with latchkey's reason rather than calling without a token.
    assert_eq!(env.run(&["logout"]).code, 0);
    let r = kubectl_get_me(&env, &kubectl, &kubeconfig(env.dir.path(), &front, "Never"));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("not signed in"),
        "kubectl shows latchkey's reason: {}",
        r.stderr
    );
}
