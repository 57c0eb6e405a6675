//! One bad profile breaks only itself: a misspelt key in another profile of the file is a
//! warning (once, naming that profile and the key) and the command goes on; the bad profile
//! itself, when used, is a configuration error (exit 5) that says which key was meant.

use crate::common;

use common::*;

/// `work` signed in, then an `other` profile with `scope` for `scopes` appended to the file.
fn signed_in_beside_a_bad_profile() -> (Env, latchkey_testkit::devidp::DevIdp) {
    let env = Env::new();
    let (idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    env.login();
    let mut text = std::fs::read_to_string(env.config_path()).unwrap();
    text.push_str(
        "\n[profiles.other]\nissuer = \"https://login.example.com\"\nclient_id = \"x\"\nscope = [\"openid\"]\n",
    );
    std::fs::write(env.config_path(), text).unwrap();
    (env, idp)
}

/// The warning lines of a run's stderr.
fn warnings(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("latchkey: warning:"))
        .collect()
}

#[test]
fn another_profiles_bad_key_is_a_warning_and_the_command_goes_on() {
    let (env, _idp) = signed_in_beside_a_bad_profile();
    let token = env.run(&["token", "--profile", "work"]);
    assert_eq!(token.code, 0, "token: {}", token.stderr);
    assert!(is_jwt(token.stdout.trim()), "a token on stdout");
    let warned = warnings(&token);
    assert_eq!(warned.len(), 1, "one warning: {:?}", token.stderr);
    assert!(
        warned[0].contains("`other`") && warned[0].contains("`scope`"),
        "the warning names the profile and the key: {}",
        warned[0]
    );
    let status = env.run(&["status"]);
    assert_eq!(status.code, 0, "status: {}", status.stderr);
    assert_eq!(warnings(&status).len(), 1, "{}", status.stderr);
}

#[test]
fn the_bad_profile_itself_is_a_config_error() {
    let (env, _idp) = signed_in_beside_a_bad_profile();
    let run = env.run(&["token", "--profile", "other", "--json"]);
    assert_eq!(run.code, 5, "exit 5 (config): {}", run.stderr);
    let error: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "config");
    assert!(warnings(&run).is_empty(), "no warning for the profile used");
    let shown = env.run(&["profile", "show", "other"]);
    assert_eq!(shown.code, 5, "exit 5 (config): {}", shown.stderr);
    assert!(
        warnings(&shown).is_empty(),
        "no warning for the profile shown"
    );
}
