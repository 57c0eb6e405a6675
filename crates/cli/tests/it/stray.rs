#![cfg(target_os = "linux")]
//! Sessions no profile reaches any more, with the real binary, devidp and the real Secret
//! Service: one left by editing a profile's client id is listed by `doctor`, revoked and
//! deleted by `logout --stray`; removing an invalid profile removes its sessions too.

use crate::common;

use std::process::Command;

use common::*;
use latchkey_testkit::devidp::{DevIdp, DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_testkit::with_identity_pool;

/// The accounts of every item under `service`, as the Secret Service itself lists them
/// (`secret-tool` prints the attributes on stderr).
fn keychain_accounts(service: &str) -> Vec<String> {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .expect("secret-tool runs (package libsecret-tools)");
    let mut accounts: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("attribute.username = "))
        .map(str::to_owned)
        .collect();
    accounts.sort();
    accounts
}

/// The refresh token stored for `account` (the item's header line, then the session's JSON).
fn stored_refresh_token(service: &str, account: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("secret-tool runs");
    let item = String::from_utf8(out.stdout).expect("an inline session item");
    let (_, session) = item.split_once('\n').expect("a header line");
    let session: serde_json::Value = serde_json::from_str(session).expect("the session's JSON");
    session["refresh_token"].as_str().unwrap().to_owned()
}

/// A Cognito-kind profile `name` of `idp` with its identity pool, signed in, with AWS
/// credentials fetched: a session item and an `:aws` item.
fn signed_in_with_aws(env: &Env, idp: &DevIdp, name: &str, port: u16) -> String {
    let profile = latchkey_testkit::cognito_profile(idp, name, port);
    let profile = with_identity_pool(idp, profile, None);
    env.write_profile(&profile);
    let (child, url) = env.start_login(&["--profile", name]);
    complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
    let login = Run::from(child.wait_with_output().unwrap());
    assert_eq!(login.code, 0, "login: {}", login.stderr);
    let aws = env.run(&["aws", "credentials", "--profile", name]);
    assert_eq!(aws.code, 0, "aws credentials: {}", aws.stderr);
    profile.keychain_account()
}

#[test]
fn a_session_orphaned_by_editing_the_client_id_is_listed_then_revoked_and_deleted() {
    let env = Env::new();
    let (idp, cog) = start_cognito("work");
    let port = cog.ports[0];
    let orphan = signed_in_with_aws(&env, &idp, "work", port);
    let kept = signed_in_with_aws(&env, &idp, "keep", port);
    let refresh_token = stored_refresh_token(&env.service, &orphan);
    assert_eq!(
        keychain_accounts(&env.service),
        [
            kept.clone(),
            format!("{kept}:aws"),
            orphan.clone(),
            format!("{orphan}:aws")
        ]
    );

    // The client id is edited in the file behind the signed-in session.
    let mut config = latchkey_core::Config::load(&env.config_path()).unwrap();
    let mut edited = config.profiles["work"].clone();
    edited.client_id = "another-client".into();
    config.insert(edited);
    config.save().unwrap();

    let doctor = env.run(&["doctor", "--json"]);
    let report = doctor.json();
    crate::cli_doc::assert_documented("latchkey doctor --json", &report);
    let strays = report["stray_sessions"].as_array().expect("listed");
    assert_eq!(strays.len(), 1, "{report}");
    assert_eq!(strays[0]["profile"], "work");
    assert_eq!(strays[0]["issuer"], idp.issuer());
    assert_eq!(strays[0]["client_id"], idp.client_id());
    assert_eq!(strays[0]["session"], true);
    assert_eq!(strays[0]["aws_credentials"], true);
    assert_eq!(strays[0]["invalid_profile"], false);
    let finding = (report["checks"].as_array().unwrap().iter())
        .find(|c| c["name"] == "stray")
        .expect("a stray finding");
    assert_eq!(finding["status"], "warn");
    let human = env.run(&["doctor"]);
    assert!(
        human.stdout.contains(&idp.client_id()) && human.stdout.contains("`work`"),
        "{}",
        human.stdout
    );
    for out in [&doctor.stdout, &human.stdout] {
        assert!(!out.contains(&refresh_token), "doctor shows no secret");
    }

    assert_eq!(idp.stats().revocations, 0);
    let logout = env.run(&["logout", "--stray", "--json"]);
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let removed = logout.json();
    crate::cli_doc::assert_documented("latchkey logout --stray --json", &removed);
    let removed = removed["strays"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["stray"]["account"], orphan.as_str());
    assert_eq!(removed[0]["outcome"]["status"], "removed");
    assert_eq!(removed[0]["outcome"]["revocation"]["result"], "revoked");
    assert_eq!(
        removed[0]["outcome"]["revocation"]["endpoint"]["source"],
        "stored_with_session"
    );
    assert_eq!(idp.stats().revocations, 1, "the provider revoked it");
    assert!(!logout.stdout.contains(&refresh_token));
    assert_eq!(
        keychain_accounts(&env.service),
        [kept.clone(), format!("{kept}:aws")],
        "every item of the stray is gone, the other profile's are not"
    );

    let again = env.run(&["logout", "--stray", "--json"]);
    assert_eq!(again.code, 0);
    assert_eq!(again.json()["strays"], serde_json::json!([]));
    let again = env.run(&["logout", "--stray"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.starts_with("No stray sessions"));
    assert_eq!(idp.stats().revocations, 1);
    assert_eq!(env.run(&["status", "--profile", "keep"]).code, 0);
}

/// Profiles `main` and `old` signed in (with AWS credentials), then `old` made invalid in the
/// file as an upgrade's stricter rules would: their session accounts.
fn main_and_an_invalid_old(env: &Env, idp: &DevIdp, port: u16) -> (String, String) {
    let main = signed_in_with_aws(env, idp, "main", port);
    let old = signed_in_with_aws(env, idp, "old", port);
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace(
        "[profiles.old]\n",
        "[profiles.old]\nredirect_path = \"no-leading-slash\"\n",
    );
    std::fs::write(env.config_path(), text).unwrap();
    assert_eq!(env.run(&["status", "--profile", "old"]).code, 5, "invalid");
    (main, old)
}

#[test]
fn removing_an_invalid_profile_revokes_and_deletes_its_sessions() {
    let env = Env::new();
    let (idp, cog) = start_cognito("old");
    let (main, old) = main_and_an_invalid_old(&env, &idp, cog.ports[0]);
    assert_eq!(keychain_accounts(&env.service).len(), 4);

    let remove = env.run(&["profile", "remove", "old"]);
    assert_eq!(remove.code, 0, "{}", remove.stderr);
    assert_eq!(idp.stats().revocations, 1, "its refresh token is revoked");
    let left = keychain_accounts(&env.service);
    assert_eq!(left, [main.clone(), format!("{main}:aws")]);
    assert!(!left.contains(&old));
    let config = latchkey_core::Config::load(&env.config_path()).unwrap();
    assert!(!config.profiles.contains_key("old") && config.invalid.is_empty());
    assert!(config.profiles.contains_key("main"));
}

#[test]
fn logout_stray_keeps_the_sessions_of_an_invalid_profile() {
    let env = Env::new();
    let (idp, cog) = start_cognito("old");
    main_and_an_invalid_old(&env, &idp, cog.ports[0]);

    // Fixed, the profile uses them again: they are listed as its, and kept.
    let doctor = env.run(&["doctor", "--json"]).json();
    assert_eq!(doctor["stray_sessions"][0]["profile"], "old");
    assert_eq!(doctor["stray_sessions"][0]["invalid_profile"], true);
    let logout = env.run(&["logout", "--stray", "--json"]);
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let logout = logout.json();
    assert_eq!(logout["strays"].as_array().unwrap().len(), 1, "{logout}");
    assert_eq!(logout["strays"][0]["outcome"]["status"], "kept");
    assert_eq!(idp.stats().revocations, 0);
    assert_eq!(keychain_accounts(&env.service).len(), 4);
}
