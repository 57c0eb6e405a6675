#![cfg(unix)]
//! Every command's `--json` report, whole: the keys and shapes scripts rely on, each compared
//! as one object (values that vary from run to run are checked by type).

use crate::cli_doc::assert_documented;
use crate::common;

use common::*;
use latchkey_testkit::devidp::DEMO_USERNAME;
use serde_json::{json, Value};

/// `actual` has exactly `expected`'s shape: the same keys at every depth and the same values,
/// except where `expected` holds a type placeholder: `"<string>"`, `"<number>"`, `"<bool>"`,
/// `"<array>"`, `"<object>"` (any value of that JSON type).
fn assert_shape(actual: &Value, expected: &Value, at: &str) {
    match (expected, actual) {
        (Value::String(p), _) if p.starts_with('<') && p.ends_with('>') => {
            let fits = match p.as_str() {
                "<string>" => actual.is_string(),
                "<number>" => actual.is_number(),
                "<bool>" => actual.is_boolean(),
                "<array>" => actual.is_array(),
                "<object>" => actual.is_object(),
                other => panic!("unknown placeholder {other} at {at}"),
            };
            assert!(fits, "{at}: expected {p}, got {actual}");
        }
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<&String> = e.keys().collect();
            let mut ak: Vec<&String> = a.keys().collect();
            ek.sort();
            ak.sort();
            assert_eq!(ak, ek, "{at}: the keys");
            for (k, v) in e {
                assert_shape(&a[k], v, &format!("{at}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(a.len(), e.len(), "{at}: the length of {actual}");
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert_shape(a, e, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

/// `latchkey ARGS` succeeded (exit `code`) and printed one JSON document on stdout, which
/// matches docs/cli.md's schema headed `documented`.
fn json_of(env: &Env, documented: &str, args: &[&str], code: i32) -> Value {
    let r = env.run(args);
    assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
    let output = r.json();
    assert_documented(documented, &output);
    output
}

/// The keychain object of `status` and `login`.
fn keychain() -> Value {
    json!({"lifetime": null, "persistent": true, "store_name": "<string>", "warning": null})
}

#[test]
fn every_commands_json_report_keeps_its_keys_and_shapes() {
    let env = Env::new();
    let (idp, profile) = start_cognito("dev");
    let profile = latchkey_testkit::with_identity_pool(&idp, profile, None);
    env.write_profile(&profile);
    let issuer = profile.issuer();
    let about = |signed_in: bool| json!({"client_id": profile.client_id, "issuer": issuer, "profile": "dev", "signed_in": signed_in});
    let mut signed_out = about(false);
    signed_out["keychain"] = keychain();
    signed_out["reason"] = "<string>".into();
    assert_shape(
        &json_of(&env, "latchkey status --json", &["status", "--json"], 12),
        &signed_out,
        "status",
    );
    assert_shape(
        &json_of(
            &env,
            "latchkey status --all --json",
            &["status", "--all", "--json"],
            0,
        ),
        &json!([{"default": true, "kind": "cognito", "profile": "dev", "reason": "<string>", "signed_in": false}]),
        "status --all",
    );
    assert_shape(
        &json_of(
            &env,
            "latchkey profile list --json",
            &["profile", "list", "--json"],
            0,
        ),
        &json!([{"client_id": profile.client_id, "default": true, "issuer": issuer, "kind": "cognito", "profile": "dev"}]),
        "profile list",
    );
    assert_shape(
        &json_of(
            &env,
            "latchkey profile show --json",
            &["profile", "show", "--json"],
            0,
        ),
        &json!({
            "issuer": issuer,
            "keychain_account": profile.keychain_account(),
            "profile": "dev",
            "settings": serde_json::to_value(&profile).unwrap(),
            "redirect_uris": profile.redirect_uris(),
            "sign_out_uris": profile.sign_out_uris(),
        }),
        "profile show",
    );
    assert_shape(
        &json_of(
            &env,
            "latchkey logout --stray --json",
            &["logout", "--stray", "--json"],
            0,
        ),
        &json!({"strays": []}),
        "logout --stray",
    );

    let (child, url) = env.start_login(&["--json"]);
    complete_login(&url, DEMO_USERNAME, latchkey_testkit::devidp::DEMO_PASSWORD);
    let login = Run::from(child.wait_with_output().unwrap());
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert_documented("latchkey login --json", &login.json());
    let user = json!({
        "auth_time": "<string>", "email": DEMO_USERNAME, "groups": ["users", "admins"],
        "issuer": issuer, "name": "Demo Admin", "sub": "<string>", "username": "<string>",
    });
    assert_shape(
        &login.json(),
        &json!({"id_expires_at": "<string>", "keychain": keychain(), "profile": "dev", "signed_in": true, "user": user}),
        "login",
    );
    let mut signed_in = about(true);
    for (k, v) in [
        ("access_expires_at", json!("<string>")),
        ("email", json!(DEMO_USERNAME)),
        ("id_expires_at", json!("<string>")),
        ("keychain", keychain()),
        (
            "refresh_token",
            json!({"kind": "<string>", "length": "<number>", "store": "<string>", "stored_since": "<string>"}),
        ),
        ("user", user.clone()),
    ] {
        signed_in[k] = v;
    }
    assert_shape(
        &json_of(&env, "latchkey status --json", &["status", "--json"], 0),
        &signed_in,
        "status",
    );
    assert_shape(
        &json_of(
            &env,
            "latchkey status --all --json",
            &["status", "--all", "--json"],
            0,
        ),
        &json!([{"default": true, "id_expires_at": "<string>", "kind": "cognito", "profile": "dev", "signed_in": true, "user": user}]),
        "status --all",
    );
    tokens_and_calls(&env, &idp.base_url());
    assert_shape(
        &json_of(
            &env,
            "latchkey aws whoami --json",
            &["aws", "whoami", "--json"],
            0,
        ),
        &json!({"profile": "dev", "identity": {
            "access_key_id": "<string>", "account": "<string>", "assumed_role_arn": "<string>",
            "expires_at": "<string>", "flow": "enhanced", "identity_id": "<string>",
            "identity_pool_id": "<string>", "issued_at": "<string>", "preferred_role": "<string>",
            "refresh_due_at": "<string>", "region": "us-east-1", "requested_role": null,
            "role_arn": "<string>", "roles": "<array>", "warning": null,
        }}),
        "aws whoami",
    );
    json_of(&env, "latchkey aws credentials", &["aws", "credentials"], 0);
    let doctor = json_of(&env, "latchkey doctor --json", &["doctor", "--json"], 0);
    assert_shape(
        &doctor,
        &json!({"checks": "<array>", "ok": true, "stray_sessions": []}),
        "doctor",
    );
    for check in doctor["checks"].as_array().unwrap() {
        let finding = json!({"message": "<string>", "name": "<string>", "status": "ok"});
        assert_shape(check, &finding, "doctor.checks[]");
    }
    assert_shape(
        &json_of(&env, "latchkey logout --json", &["logout", "--json"], 0),
        &json!({
            "logout_page_opened": false, "logout_url": null, "profile": "dev",
            "revocation_error": null, "revoked": true, "signed_out": true,
            "signed_out_everywhere": false, "warnings": [], "was_signed_in": true,
        }),
        "logout",
    );
    let error = env.run(&["token", "--json"]);
    assert_eq!(error.code, 12);
    let error: Value = serde_json::from_str(error.stderr.trim()).unwrap();
    assert_documented("latchkey token --json (any failure)", &error);
    assert_shape(
        &error,
        &json!({"error": {"exit_code": 12, "kind": "not_signed_in", "message": "<string>"}}),
        "the error",
    );
}

/// `token` (JSON and kubectl), `call`, `inspect` and `userinfo` of a signed-in session.
fn tokens_and_calls(env: &Env, base_url: &str) {
    assert_shape(
        &json_of(env, "latchkey token --json", &["token", "--json"], 0),
        &json!({"expires_at": "<string>", "kind": "id", "profile": "dev", "token": "<string>"}),
        "token",
    );
    assert_shape(
        &json_of(
            env,
            "latchkey token --format kubectl",
            &["token", "--format", "kubectl"],
            0,
        ),
        &json!({
            "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
            "status": {"expirationTimestamp": "<string>", "token": "<string>"},
        }),
        "token --format kubectl",
    );
    let call = json_of(
        env,
        "latchkey call --json URL",
        &["call", "--json", &format!("{base_url}/demo-api/me")],
        0,
    );
    assert_shape(
        &call,
        &json!({
            "body": "<object>", "elapsed_ms": "<number>", "headers": "<object>",
            "retried_after_refresh": false, "status": 200, "truncated": false,
        }),
        "call",
    );
    assert_shape(
        &call["headers"]["content-type"],
        &json!("<string>"),
        "call.headers",
    );
    let inspect = json_of(env, "latchkey inspect --json", &["inspect", "--json"], 0);
    assert_shape(
        &inspect,
        &json!({
            "checks": "<array>", "claims": "<array>", "expectations": [],
            "header": {"alg": "RS256", "kid": "<string>"}, "kind": "id", "passed": true,
            "source": "<string>", "valid": true,
        }),
        "inspect",
    );
    let check = json!({"name": "alg", "passed": true, "reason": "<string>"});
    assert_shape(&inspect["checks"][0], &check, "inspect.checks[0]");
    let claim =
        json!({"explanation": "<string>", "human": null, "name": "at_hash", "value": "<string>"});
    assert_shape(&inspect["claims"][0], &claim, "inspect.claims[0]");
    let userinfo = json_of(env, "latchkey userinfo --json", &["userinfo", "--json"], 0);
    assert_shape(
        &userinfo,
        &json!({
            "custom:tenant": "latchkey-demo", "email": DEMO_USERNAME, "email_verified": "true",
            "name": "Demo Admin", "sub": "<string>", "username": "<string>",
        }),
        "userinfo",
    );
}

/// An API on a plain socket that answers every request with two `Set-Cookie` headers and one
/// `Content-Type` (the development provider's demo API repeats no header); its base URL.
fn api_repeating_a_header() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            use std::io::{BufRead, Write};
            let mut stream = stream.unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    base
}

#[test]
fn call_gives_headers_by_name_and_a_repeated_header_as_an_array() {
    let env = Env::new();
    let (_idp, profile) = start_cognito("dev");
    env.write_profile(&profile);
    let (child, url) = env.start_login(&[]);
    complete_login(&url, DEMO_USERNAME, latchkey_testkit::devidp::DEMO_PASSWORD);
    assert!(child.wait_with_output().unwrap().status.success());

    let api = api_repeating_a_header();
    let call = json_of(
        &env,
        "latchkey call --json URL",
        &["call", "--json", "--allow-any-origin", &format!("{api}/me")],
        0,
    );
    assert_eq!(call["headers"]["set-cookie"], json!(["a=1", "b=2"]));
    assert_eq!(call["headers"]["content-type"], "application/json");
    assert_eq!(call["headers"]["content-length"], "2");
}
