#![cfg(unix)]
//! `latchkey aws …` and `latchkey call --sigv4`, the real binary against devidp's identity pool
//! and the real keychain: the credential_process output, its exit codes, one fetch across
//! processes, and profiles with an identity pool added from the command line.

use crate::common;

use std::time::Duration;

use common::*;
use latchkey_devidp::{Fault, DEMO_ADMIN_ROLE, DEMO_USER_ROLE};

#[test]
fn credentials_whoami_config_snippet_and_a_sigv4_call() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    env.login();

    let run = env.run(&["aws", "credentials"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "", "nothing but the JSON");
    let json = run.json();
    assert_eq!(json["Version"], 1);
    let key = json["AccessKeyId"].as_str().unwrap().to_owned();
    assert!(key.starts_with("ASIA"), "{key}");
    assert!(json["SecretAccessKey"].as_str().unwrap().len() >= 40);
    assert!(!json["SessionToken"].as_str().unwrap().is_empty());
    assert!(json["Expiration"].as_str().unwrap().ends_with('Z'));

    // a second process reads the keychain: no request at all
    let before = idp.stats();
    let again = env.run(&["aws", "credentials"]).json();
    assert_eq!(again["AccessKeyId"], key.as_str());
    let after = idp.stats();
    assert_eq!(
        (
            after.identity_get_credentials,
            after.discovery,
            after.jwks,
            after.token_refresh_token
        ),
        (
            before.identity_get_credentials,
            before.discovery,
            before.jwks,
            before.token_refresh_token
        ),
        "cached credentials cost no request"
    );

    let exports = env.run(&["aws", "credentials", "--format", "env"]);
    assert_eq!(exports.code, 0);
    assert!(
        exports
            .stdout
            .contains(&format!("export AWS_ACCESS_KEY_ID='{key}'\n")),
        "{}",
        exports.stdout
    );
    assert!(exports.stdout.contains("export AWS_SESSION_TOKEN='"));

    let who = env.run(&["aws", "whoami", "--json"]).json();
    assert_eq!(who["identity"]["role_arn"], DEMO_ADMIN_ROLE);
    assert_eq!(who["identity"]["access_key_id"], key.as_str());
    assert!(who["identity"]["roles"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(DEMO_USER_ROLE)));
    let human = env.run(&["aws", "whoami"]);
    assert!(human.stdout.contains("other roles") && human.stdout.contains(DEMO_USER_ROLE));
    assert!(
        !human
            .stdout
            .contains(json["SecretAccessKey"].as_str().unwrap()),
        "whoami shows no secret"
    );

    let snippet = env.run(&["aws", "config-snippet"]);
    let program = std::fs::canonicalize(env!("CARGO_BIN_EXE_latchkey")).unwrap();
    assert!(
        snippet.stdout.contains("[profile work]\n"),
        "{}",
        snippet.stdout
    );
    assert!(
        snippet.stdout.contains(&format!(
            "credential_process = {} aws credentials --profile work\n",
            program.display()
        )),
        "{}",
        snippet.stdout
    );
    assert!(snippet.stdout.contains("region = us-east-1\n"));

    let me = format!("{}/demo-aws-api/me", idp.base_url());
    let call = env.run(&["call", "--sigv4", "--json", &me]);
    assert_eq!(call.code, 0, "{}", call.stderr);
    assert_eq!(call.json()["status"], 200, "{}", call.stdout);
    assert_eq!(call.json()["body"]["role_arn"], DEMO_ADMIN_ROLE);
    // signed for another region, the API refuses the signature (and says so)
    let wrong = env.run(&["call", "--sigv4", "--region", "eu-west-1", "-f", &me]);
    assert_eq!(wrong.code, 9, "{}", wrong.stdout);
    assert!(
        wrong.stdout.contains("Credential should be scoped to"),
        "{}",
        wrong.stdout
    );
    assert_eq!(
        idp.stats().identity_get_credentials,
        1,
        "every command used the one set of credentials"
    );

    assert_eq!(env.run(&["logout"]).code, 0);
    env.run(&["aws", "credentials"])
        .assert_error(12, "not signed in");
}

#[test]
fn each_failure_has_its_documented_exit_code() {
    let env = Env::new();
    let (idp, profile) = start_cognito("plain");
    env.write_profile(&profile);
    env.run(&["aws", "credentials"])
        .assert_error(5, "names no identity pool");
    env.run(&["aws", "config-snippet"])
        .assert_error(5, "[profiles.plain.aws]");
    env.login();
    env.run(&[
        "call",
        "--sigv4",
        &format!("{}/demo-aws-api/me", idp.base_url()),
    ])
    .assert_error(5, "names no identity pool");

    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    let other = Env::new();
    other.write_profile(&latchkey_testkit::with_identity_pool(
        &idp,
        start_cognito("plain").1,
        None,
    ));
    other
        .run(&["aws", "credentials"])
        .assert_error(12, "not signed in");
    idp.set_fault(Fault::IdentityUntrustedClient);
    env.run(&["aws", "credentials"])
        .assert_error(10, "does not list this user pool and app client");
    idp.clear_faults();
    idp.set_fault(Fault::IdentityThrottled);
    env.run(&["aws", "credentials"])
        .assert_error(3, "throttling");
    assert_eq!(idp.stats().identity_credentials_issued, 0);

    let help = env.run(&["aws", "--help"]);
    assert!(help.stdout.contains("exit 10"), "{}", help.stdout);
    let help = env.run(&["aws", "credentials", "--help"]);
    assert!(
        help.stdout
            .contains("  10  `aws`, `call --sigv4`: the identity pool refused"),
        "{}",
        help.stdout
    );
}

#[test]
fn two_processes_asking_at_once_cause_one_fetch() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    env.login();
    idp.set_fault(Fault::IdentitySlow(Duration::from_millis(500)));
    let children: Vec<_> = (0..2)
        .map(|_| {
            env.cmd(&["aws", "credentials"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let keys: Vec<String> = children
        .into_iter()
        .map(|c| {
            let run = Run::from(c.wait_with_output().unwrap());
            assert_eq!(run.code, 0, "{}", run.stderr);
            run.json()["AccessKeyId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        keys[0], keys[1],
        "the second adopted the first's credentials"
    );
    assert_eq!(
        idp.stats().identity_get_credentials,
        1,
        "one fetch across processes"
    );
}

#[test]
fn profile_add_writes_the_identity_pool_and_refuses_a_bad_one() {
    let env = Env::new();
    let base = [
        "profile",
        "add",
        "work",
        "--cognito",
        "--region",
        "eu-west-1",
        "--user-pool-id",
        "eu-west-1_AbC123",
        "--client-id",
        "abc",
        "--domain",
        "myapp",
    ];
    let bad = env.run(&[&base[..], &["--identity-pool-id", "eu-west-1"]].concat());
    bad.assert_error(5, "aws.identity_pool_id");
    assert!(!env.config_path().exists(), "nothing written");

    let pool = "eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    let ok = env.run(
        &[
            &base[..],
            &[
                "--identity-pool-id",
                pool,
                "--role-arn",
                "arn:aws:iam::123456789012:role/Dev",
            ],
        ]
        .concat(),
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        text.contains(&format!(
            "[profiles.work.aws]\nidentity_pool_id = \"{pool}\"\n"
        )),
        "{text}"
    );
    let show = env.run(&["profile", "show", "work"]);
    assert!(
        show.stdout.contains(&format!(
            "identity pool   {pool} (enhanced flow, role arn:aws:iam::123456789012:role/Dev)"
        )),
        "{}",
        show.stdout
    );
    let snippet = env.run(&["aws", "config-snippet", "--aws-profile", "team"]);
    assert!(
        snippet.stdout.contains("[profile team]\n")
            && snippet.stdout.contains("region = eu-west-1\n")
    );
}

#[test]
fn a_config_snippet_with_a_line_break_in_a_name_is_refused_with_no_snippet() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&latchkey_testkit::with_identity_pool(&idp, profile, None));
    let injected = "work\n[profile default]\ncredential_process = /tmp/not-latchkey";
    let run = env.run(&["aws", "config-snippet", "--aws-profile", injected]);
    assert_eq!(run.code, 5, "a configuration error: {}", run.stderr);
    assert_eq!(run.stdout, "", "no snippet at all");
}
