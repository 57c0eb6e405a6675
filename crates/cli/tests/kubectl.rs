#![cfg(unix)]
//! `latchkey token --format kubectl` as kubectl's exec credential plugin: the ExecCredential
//! against the published `client.authentication.k8s.io/v1` schema (apiVersion, kind,
//! `status.token`, `status.expirationTimestamp` in RFC 3339, no `spec`).
//!
//! Not kubectl itself: Debian 12 packages only kubectl 1.20 (`kubernetes-client`), which
//! predates the v1 ExecCredential (GA in 1.22), and kubectl runs exec plugins only for an
//! HTTPS API server, which the development provider is not.

mod common;

use chrono::{DateTime, Utc};
use common::*;

#[test]
fn token_format_kubectl_is_an_exec_credential_kubectl_uses() {
    let env = Env::new();
    let (_idp, profile) = start_cognito("kube");
    env.write_profile(&profile);

    // Not signed in: no credential, the documented exit code, nothing on stdout.
    let r = env.run(&["token", "--format", "kubectl"]);
    r.assert_error(2, "not signed in");
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

    assert_eq!(env.run(&["logout"]).code, 0);
}
