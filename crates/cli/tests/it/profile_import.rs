//! Issue 22: `latchkey profile import` treats the file as untrusted input. It shows a review
//! before saving, never imports a program to run, replaces a profile only with `--replace`
//! (and `--yes` where no terminal can ask), and signs the old session out first when the
//! import sends tokens elsewhere. `profile add --force` does the same for typed settings.

use crate::common;

use common::{start_cognito, Env};
use latchkey_core::config::{BrowserSetting, Config};

/// `profile`'s export with another API and a browser command that would leave a mark.
fn hostile_file(
    env: &Env,
    profile: &latchkey_core::Profile,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let marker = env.dir.path().join("owned");
    let mut elsewhere = profile.clone();
    elsewhere.api_base_urls = vec![url::Url::parse("https://api.elsewhere.example/").unwrap()];
    let text = Config::export_profile(&elsewhere).replace(
        &format!("[profiles.{}]\n", profile.name),
        &format!(
            "[profiles.{}]\nbrowser_command = [\"sh\", \"-c\", \"touch${{IFS}}{}\"]\n",
            profile.name,
            marker.display()
        ),
    );
    let file = env.dir.path().join("shared.latchkey.toml");
    std::fs::write(&file, text).unwrap();
    (file, marker)
}

#[test]
fn g1_an_import_over_a_signed_in_profile_is_reviewed_asked_and_signs_it_out_first() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    env.login();
    let (file, marker) = hostile_file(&env, &profile);
    let file = file.to_str().unwrap();
    let config_before = std::fs::read_to_string(env.config_path()).unwrap();

    // Without --replace: the review, then a refusal; nothing saved, the session untouched.
    let r = env.run(&["profile", "import", file]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stdout.contains("api_base_urls"),
        "the review: {}",
        r.stdout
    );
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        config_before
    );
    assert_eq!(idp.stats().revocations, 0);
    assert_eq!(env.run(&["status"]).code, 0, "still signed in");

    // --replace without a terminal to ask on and without --yes: still nothing.
    let r = env.run(&["profile", "import", file, "--replace"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        config_before
    );
    assert_eq!(idp.stats().revocations, 0);

    // Asked for: the review as JSON, the old session revoked and gone, the profile replaced
    // without the browser command.
    let r = env.run(&["profile", "import", file, "--replace", "--yes", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    crate::cli_doc::assert_documented("latchkey profile import FILE --yes --json", &r.json());
    let review = &r.json()[0];
    assert_eq!(review["profile"], "work");
    assert_eq!(review["replaces"], true);
    assert_eq!(
        review["moves_session"],
        serde_json::json!(["api_base_urls"])
    );
    assert_eq!(review["dropped"][0]["field"], "browser_command");
    assert_eq!(review["settings"][0]["security"], true);
    assert_eq!(idp.stats().revocations, 1, "the old refresh token revoked");
    assert_eq!(
        env.run(&["status"]).code,
        12,
        "the session did not carry over"
    );
    let saved = Config::load(&env.config_path()).unwrap();
    let work = saved.profile("work").unwrap();
    assert_eq!(
        work.api_base_urls[0].as_str(),
        "https://api.elsewhere.example/"
    );
    assert_eq!(work.browser, BrowserSetting::System, "never imported");

    // Signing in again runs this machine's browser, never the file's program.
    env.login();
    assert!(!marker.exists(), "the file's browser command never ran");
}

#[test]
fn g1_an_import_that_sends_tokens_nowhere_new_keeps_the_session() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    env.login();
    let mut calmer = profile.clone();
    calmer.http_timeout *= 2;
    let text = Config::export_profile(&calmer);
    let file = env.dir.path().join("same.toml");
    std::fs::write(&file, text).unwrap();
    let r = env.run(&[
        "profile",
        "import",
        file.to_str().unwrap(),
        "--replace",
        "--yes",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(idp.stats().revocations, 0);
    assert_eq!(env.run(&["status"]).code, 0, "still signed in");
}

#[test]
fn g1_profile_add_force_with_another_client_signs_the_old_session_out_first() {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    env.login();
    let latchkey_core::ProfileKind::Cognito {
        region,
        user_pool_id,
        domain,
        issuer,
    } = &profile.kind
    else {
        unreachable!("a Cognito profile")
    };
    let ports = profile.ports[0].to_string();
    let mut args = vec![
        "profile",
        "add",
        "work",
        "--cognito",
        "--region",
        region,
        "--user-pool-id",
        user_pool_id,
        "--domain",
        domain.as_str(),
        "--client-id",
        "another-client",
        "--port",
        &ports,
        "--force",
    ];
    let issuer = issuer.as_ref().map(|u| u.to_string());
    if let Some(i) = &issuer {
        args.extend(["--issuer", i]);
    }
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(idp.stats().revocations, 1, "revoked before the replace");
    let stray = latchkey_core::Vault::system_with_service(&env.service);
    assert!(
        latchkey_core::internals::load_session(&stray, &profile.keychain_account())
            .unwrap()
            .is_none(),
        "the old client's session is not left behind"
    );
}
