#![cfg(unix)]
//! The real `latchkey` binary against a running devidp and the real keychain (Secret Service):
//! sign-in through the browser hook, status, token, call, inspect, logout, sharing with an
//! in-process `Session`, and every error path with its documented exit code.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use latchkey_core::{Browser, Session, SessionOptions, SignInOptions, Vault};
use latchkey_testkit::devidp::{self, DEMO_PASSWORD, DEMO_USERNAME};
use latchkey_testkit::{free_port, port_is_free};
use url::Url;

#[test]
fn version_and_every_help_has_an_example() {
    let env = Env::new();
    let v = env.run(&["--version"]);
    assert_eq!(v.code, 0);
    assert_eq!(
        v.stdout.trim(),
        format!("latchkey {}", env!("CARGO_PKG_VERSION"))
    );
    let commands: &[&[&str]] = &[
        &[],
        &["login"],
        &["status"],
        &["token"],
        &["call"],
        &["inspect"],
        &["userinfo"],
        &["logout"],
        &["doctor"],
        &["profile"],
        &["profile", "list"],
        &["profile", "add"],
        &["profile", "show"],
        &["profile", "remove"],
        &["profile", "use"],
        &["completions"],
        &["man"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            r.stdout.contains("Example"),
            "{args:?} --help has an example:\n{}",
            r.stdout
        );
    }
    let r = env.run(&["help", "devidp"]);
    assert!(r.stdout.contains("Example"), "devidp help: {}", r.stdout);
    // Exit codes are documented where scripts look for them.
    let r = env.run(&["token", "--help"]);
    for code in ["2 ", "3 ", "4 ", "5 ", "12 "] {
        assert!(
            r.stdout.contains(&format!("  {code}")),
            "token --help documents exit code {code}"
        );
    }
    // Usage errors (2) are not confused with "not signed in" (12).
    let r = env.run(&["status", "--no-such-flag"]);
    assert_eq!(r.code, 2);
}

#[test]
fn login_status_token_call_inspect_logout() {
    let env = Env::new();
    let (idp, profile) = start_cognito("dev");
    let port = profile.ports[0].to_string();
    let domain = idp.base_url();
    let issuer = idp.issuer();
    let api = format!("{}/", idp.base_url());
    // The profile comes from `latchkey profile add`, as a user would create it.
    let r = env.run(&[
        "profile",
        "add",
        "dev",
        "--cognito",
        "--region",
        "us-east-1",
        "--user-pool-id",
        &idp.user_pool_id(),
        "--client-id",
        &idp.client_id(),
        "--domain",
        &domain,
        "--issuer",
        &issuer,
        "--port",
        &port,
        "--api-base-url",
        &api,
    ]);
    assert_eq!(r.code, 0, "profile add: {}", r.stderr);
    assert!(
        r.stdout.contains(&profile.redirect_uris()[0]),
        "profile add prints the callback URL to register: {}",
        r.stdout
    );
    let r = env.run(&["profile", "show", "--json"]);
    assert_eq!(r.json()["redirect_uris"][0], profile.redirect_uris()[0]);

    env.run(&["status"]).assert_error(12, "not signed in");

    let login = env.login();
    assert!(
        login.stderr.contains(DEMO_USERNAME),
        "login names the user: {}",
        login.stderr
    );

    let st = env.run(&["status", "--json"]);
    assert_eq!(st.code, 0, "{}", st.stderr);
    let v = st.json();
    assert_eq!(v["signed_in"], true);
    assert_eq!(v["profile"], "dev");
    assert_eq!(v["email"], DEMO_USERNAME);
    assert!(
        v["keychain"]["store_name"]
            .as_str()
            .unwrap()
            .contains("Secret Service"),
        "{v}"
    );
    assert!(v["keychain"]["persistent"].as_bool().unwrap());
    assert!(
        v.to_string().find("refresh_token\":{").is_some(),
        "refresh token facts shown: {v}"
    );
    let human = env.run(&["status"]);
    assert_eq!(human.code, 0);
    assert!(
        human.stdout.contains("Signed in as demo@latchkey.dev"),
        "{}",
        human.stdout
    );

    let t = env.run(&["token"]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(
        t.stdout.ends_with('\n') && !t.stdout.ends_with("\n\n"),
        "one trailing newline"
    );
    let id_token = t.stdout.trim_end_matches('\n');
    assert!(is_jwt(id_token), "stdout is exactly a JWT: {:?}", t.stdout);
    assert!(t.stderr.is_empty(), "nothing on stderr: {}", t.stderr);
    let a = env.run(&["token", "--access"]);
    let access = a.stdout.trim_end_matches('\n');
    assert!(is_jwt(access) && access != id_token);
    let j = env.run(&["token", "--json"]).json();
    assert_eq!(j["token"], id_token);
    assert_eq!(j["kind"], "id");

    let me = format!("{}/demo-api/me", idp.base_url());
    let c = env.run(&["call", "--fail", &me]);
    assert_eq!(c.code, 0, "call: {}", c.stderr);
    assert!(
        c.stdout.contains(DEMO_USERNAME),
        "the demo API saw the user: {}",
        c.stdout
    );
    let c = env.run(&["call", "-i", &me]);
    assert!(c.stdout.starts_with("HTTP 200"), "{}", c.stdout);
    let c = env.run(&["call", "--json", &me]).json();
    assert_eq!(c["status"], 200);
    // -d sends a body (POST by default); --fail turns an HTTP error into exit 9. The demo API
    // answers a method it does not have as API Gateway does: 403 Missing Authentication Token.
    let body_file = env.dir.path().join("body.json");
    std::fs::write(&body_file, "{\"qty\": 1}").unwrap();
    let at_file = format!("@{}", body_file.display());
    // (a method the API does not have: API Gateway answers 403 "Missing Authentication Token")
    env.run(&["call", "--fail", "-d", &at_file, &me])
        .assert_error(9, "HTTP 403");
    let d = env.run(&["doctor", "--json"]);
    assert_eq!(d.code, 0, "doctor: {}", d.stdout);
    let checks = d.json()["checks"].as_array().unwrap().clone();
    let session_check = checks.iter().find(|c| c["name"] == "session").unwrap();
    assert!(
        session_check["message"]
            .as_str()
            .unwrap()
            .contains("signed in as demo@latchkey.dev"),
        "{session_check}"
    );
    // A token never goes to an origin outside api_base_urls.
    let elsewhere = format!("http://127.0.0.1:{}/collect", free_port());
    env.run(&["call", &elsewhere])
        .assert_error(7, "api_base_urls");

    let i = env.run(&["inspect"]);
    assert_eq!(i.code, 0, "{}", i.stderr);
    assert!(i.stdout.contains("PASS signature"), "{}", i.stdout);
    assert!(
        i.stdout.contains("All ") && i.stdout.contains("checks passed"),
        "{}",
        i.stdout
    );
    assert!(i.stdout.contains("UTC"), "readable times: {}", i.stdout);
    let ij = env.run(&["inspect", "--json"]).json();
    assert_eq!(ij["valid"], true, "{ij}");
    assert_eq!(ij["kind"], "id");
    // A pasted token is verified against the provider too; a tampered one fails its signature.
    let pasted = env.run(&["inspect", id_token, "--json"]).json();
    assert_eq!(pasted["valid"], true, "{pasted}");
    let mut parts: Vec<String> = id_token.split('.').map(String::from).collect();
    parts[2] = format!("{}AA", &parts[2][..parts[2].len() - 2]);
    let tampered = env.run(&["inspect", "--json", &parts.join(".")]).json();
    let sig = tampered["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "signature")
        .unwrap()
        .clone();
    assert_eq!(sig["passed"], false, "{tampered}");
    env.run(&["inspect", "not-a-jwt"])
        .assert_error(1, "not a JWT");
    // Expectations, for CI scripts: exit 11 when one fails, or when the token fails a check.
    let met = env.run(&[
        "inspect",
        "--expect",
        "group=admins",
        "--expect",
        "email=demo@latchkey.dev",
    ]);
    assert_eq!(met.code, 0, "{}", met.stderr);
    assert!(met.stdout.contains("PASS group=admins"), "{}", met.stdout);
    assert!(
        met.stdout.contains("2 of 2 expectations met"),
        "{}",
        met.stdout
    );
    env.run(&["inspect", "--expect", "group=billing"])
        .assert_error(11, "does not meet 1 of 1 expectation");
    json_error(
        &env.run(&["inspect", "--json", "--expect", "group=billing"]),
        11,
        "expectation_failed",
    );
    let scope = env
        .run(&["inspect", "--access", "--json", "--expect", "scope=openid"])
        .json();
    assert_eq!(scope["passed"], true, "{scope}");
    assert_eq!(scope["expectations"][0]["expectation"], "scope=openid");
    env.run(&["inspect", &parts.join("."), "--expect", "group=admins"])
        .assert_error(11, "failed 1 verification check");
    let usage = env.run(&["inspect", "--expect", "admins"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    assert!(
        usage.stderr.contains("is not an expectation"),
        "{}",
        usage.stderr
    );

    let out = env.run(&["logout", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["revoked"], true);
    env.run(&["status"]).assert_error(12, "not signed in");
    let again = env.run(&["logout"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("Not signed in"), "{}", again.stdout);
    env.run(&["token"]).assert_error(12, "not signed in");
    env.run(&["call", &me]).assert_error(12, "not signed in");
    // The revoked refresh token no longer works at the provider.
    drop(idp);
}

/// Plays the browser in a thread when the in-process session opens the URL.
struct ThreadBrowser;

impl Browser for ThreadBrowser {
    fn open(&self, url: &Url) -> latchkey_core::Result<()> {
        let url = url.clone();
        std::thread::spawn(move || complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_signed_in_by_the_app_is_visible_to_the_cli() {
    let env = Env::new();
    let (idp, profile) = start_cognito("shared");
    env.write_profile(&profile);
    // The app side: latchkey-core's Session in this process, same keychain service and lock dir.
    let mut process_env = latchkey_testkit::ProcessEnv::lock();
    process_env.set("LATCHKEY_KEYCHAIN_SERVICE", &env.service);
    process_env.set("LATCHKEY_RUNTIME_DIR", env.dir.path().join("run"));
    let session = Session::new(
        profile.clone(),
        SessionOptions {
            vault: Vault::system(),
            browser: Some(Arc::new(ThreadBrowser)),
            ..SessionOptions::default()
        },
    )
    .unwrap();
    assert!(
        session.storage().persistent,
        "keychain available: {:?}",
        session.storage()
    );
    session
        .sign_in(SignInOptions {
            timeout: Some(Duration::from_secs(60)),
            ..Default::default()
        })
        .await
        .expect("app signs in");
    let app_token = session.tokens().await.unwrap();

    let r = tokio::task::spawn_blocking({
        let cmd = env.cmd(&["token"]);
        move || {
            let mut cmd = cmd;
            Run::from(cmd.output().unwrap())
        }
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.trim_end(),
        app_token.id_token.expose(),
        "the CLI prints the app's ID token"
    );
    let st = tokio::task::spawn_blocking({
        let cmd = env.cmd(&["status", "--json"]);
        move || {
            let mut cmd = cmd;
            Run::from(cmd.output().unwrap())
        }
    })
    .await
    .unwrap();
    assert_eq!(st.json()["signed_in"], true);
    // And the CLI's logout ends the app's saved session too (and opens the provider's logout page).
    let out = tokio::task::spawn_blocking({
        let cmd = env.cmd(&["logout", "--everywhere"]);
        move || {
            let mut cmd = cmd;
            Run::from(cmd.output().unwrap())
        }
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let logout_url = std::fs::read_to_string(env.url_file())
        .expect("the logout page was opened through the browser hook");
    assert!(
        logout_url.starts_with(&format!("{}/logout?client_id=", idp.base_url())),
        "{logout_url}"
    );
    let restored = Session::new(
        profile,
        SessionOptions {
            vault: Vault::system(),
            ..SessionOptions::default()
        },
    )
    .unwrap();
    let state = restored.restore().await.unwrap();
    assert_eq!(state.name(), "signed_out");
    drop(idp);
}

#[test]
fn login_timeout_is_exit_6_and_no_browser_prints_the_url() {
    let env = Env::new();
    let (_idp, profile) = start_cognito("slow");
    env.write_profile(&profile);
    let r = env.run(&["login", "--no-browser", "--timeout", "1"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("/oauth2/authorize?"),
        "the URL is printed: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("latchkey: the sign-in did not finish"),
        "{}",
        r.stderr
    );
    assert!(!env.url_file().exists(), "--no-browser opened nothing");
    assert!(port_is_free(profile.ports[0]));
}

#[test]
fn busy_callback_port_is_exit_8() {
    let env = Env::new();
    let (_idp, profile) = start_cognito("busy");
    env.write_profile(&profile);
    let _holder = std::net::TcpListener::bind(("127.0.0.1", profile.ports[0])).unwrap();
    let r = env.run(&["login"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(
        r.stderr
            .lines()
            .filter(|l| l.starts_with("latchkey: "))
            .count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&profile.ports[0].to_string()),
        "the error names the port: {}",
        r.stderr
    );
}

#[test]
fn unreachable_provider_is_exit_3() {
    let env = Env::new();
    let dead = free_port();
    let r = env.run(&[
        "profile",
        "add",
        "gone",
        "--issuer",
        &format!("http://127.0.0.1:{dead}/pool"),
        "--client-id",
        "app",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.run(&["login"])
        .assert_error(3, "could not reach the provider");
    let d = env.run(&["doctor", "--json"]);
    assert_eq!(d.code, 1);
    let checks = d.json()["checks"].as_array().unwrap().clone();
    let disc = checks.iter().find(|c| c["name"] == "discovery").unwrap();
    assert_eq!(disc["status"], "fail", "{disc}");
}

#[test]
fn no_secret_service_is_exit_4() {
    let mut env = Env::new();
    let (_idp, profile) = start_cognito("nokeychain");
    env.write_profile(&profile);
    let dead_bus = env.dir.path().join("no-bus");
    env.extra_env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        format!("unix:path={}", dead_bus.display()),
    ));
    // Asked for the Secret Service: `auto` would use the kernel keyring here (kernel_keyring::).
    env.extra_env
        .push(("LATCHKEY_KEYCHAIN".into(), "secret-service".into()));
    env.run(&["status"]).assert_error(4, "keychain");
    env.run(&["token"]).assert_error(4, "keychain");
    env.run(&["login"]).assert_error(4, "keychain");
    let d = env.run(&["doctor", "--json"]).json();
    let kc = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "keychain")
        .unwrap()
        .clone();
    assert_eq!(kc["status"], "fail", "{kc}");
}

#[test]
fn bad_config_is_exit_5_and_profile_add_never_breaks_the_file() {
    let env = Env::new();
    // No file at all: what to run next.
    env.run(&["status"])
        .assert_error(5, "latchkey profile add demo --demo");
    // A bad value, rejected before anything is written.
    let r = env.run(&[
        "profile",
        "add",
        "x",
        "--cognito",
        "--region",
        "moon-1",
        "--user-pool-id",
        "moon-1_abc",
        "--client-id",
        "c",
        "--domain",
        "x",
    ]);
    r.assert_error(5, "region");
    assert!(!env.config_path().exists(), "nothing written");
    // Broken TOML.
    std::fs::write(env.config_path(), "default = [oops").unwrap();
    env.run(&["token"]).assert_error(5, "not valid TOML");
    // A client secret is refused with the reason.
    std::fs::write(env.config_path(), "[profiles.a]\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\nclient_secret = \"s\"\n").unwrap();
    env.run(&["status"]).assert_error(5, "client_secret");
    // Unknown profile.
    std::fs::write(
        env.config_path(),
        "[profiles.a]\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\n",
    )
    .unwrap();
    env.run(&["--profile", "nope", "status"])
        .assert_error(5, "no profile named `nope`");
}

#[test]
fn profile_list_add_show_use_remove() {
    let env = Env::new();
    let r = env.run(&[
        "profile",
        "add",
        "work",
        "--cognito",
        "--region",
        "eu-west-1",
        "--user-pool-id",
        "eu-west-1_AbCdEf123",
        "--client-id",
        "1example23456789",
        "--domain",
        "myapp",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("http://localhost:53682/callback"),
        "{}",
        r.stdout
    );
    let r = env.run(&[
        "profile",
        "add",
        "google",
        "--issuer",
        "https://accounts.google.com",
        "--client-id",
        "123.apps.googleusercontent.com",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.run(&[
        "profile",
        "add",
        "google",
        "--issuer",
        "https://accounts.google.com",
        "--client-id",
        "x",
    ])
    .assert_error(5, "already exists");
    let l = env.run(&["profile", "list", "--json"]).json();
    let names: Vec<_> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["profile"].as_str().unwrap().to_owned(),
                p["default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![("google".to_owned(), false), ("work".to_owned(), true)]
    );
    let s = env.run(&["profile", "show", "work", "--json"]).json();
    assert_eq!(
        s["issuer"],
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    );
    // As the app does: a Cognito profile gets the sign-out URL `logout --everywhere` needs.
    assert_eq!(
        s["sign_out_uris"],
        serde_json::json!(["http://localhost:53682/signed-out"])
    );
    assert_eq!(
        s["settings"]["kind"]["domain"],
        "https://myapp.auth.eu-west-1.amazoncognito.com/"
    );
    let r = env.run(&["profile", "use", "google"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = env.run(&["profile", "show", "--json"]).json();
    assert_eq!(s["profile"], "google");
    assert_eq!(s["settings"]["name"], "google");
    env.run(&["profile", "use", "nope"])
        .assert_error(5, "no profile named");
    let r = env.run(&["profile", "remove", "google", "--keep-session"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let l = env.run(&["profile", "list"]);
    assert!(
        l.stdout.contains("work") && !l.stdout.contains("google"),
        "{}",
        l.stdout
    );
}

#[test]
fn devidp_subcommand_runs_the_development_provider() {
    let env = Env::new();
    let help = env.run(&["devidp", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    assert!(
        help.stdout.contains("--rotation"),
        "the provider's own options: {}",
        help.stdout
    );
    let (port, issuer_port) = (free_port(), free_port());
    let mut child = env
        .cmd(&[
            "devidp",
            "--port",
            &port.to_string(),
            "--issuer-port",
            &issuer_port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!(
        "http://127.0.0.1:{issuer_port}/{}/.well-known/openid-configuration",
        devidp::DEFAULT_USER_POOL_ID
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let doc = loop {
        if let Ok(r) = reqwest::blocking::get(&url) {
            break r.text().unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "devidp never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        doc.contains(&format!(
            "\"issuer\":\"http://127.0.0.1:{issuer_port}/{}\"",
            devidp::DEFAULT_USER_POOL_ID
        )),
        "{doc}"
    );
    assert!(
        doc.contains(&format!("http://127.0.0.1:{port}/oauth2/authorize")),
        "{doc}"
    );
}

fn shift_provider_clock(idp: &devidp::DevIdp, secs: i64) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/_devidp/clock", idp.base_url()))
        .header(devidp::CONTROL_TOKEN_HEADER, idp.control_token())
        .body(format!("{{\"advance_secs\": {secs}}}"))
        .header("content-type", "application/json")
        .send()
        .unwrap();
    assert!(r.status().is_success(), "clock shift: {}", r.status());
}

#[test]
fn token_refreshes_near_expiry_and_an_expired_session_is_exit_12() {
    let env = Env::new();
    let (idp, profile) = start_cognito("expiring");
    env.write_profile(&profile);
    // Tokens issued by a provider whose clock is behind expire within a minute: inside the
    // refresh margin, so every `latchkey token` refreshes first.
    shift_provider_clock(&idp, -3550);
    env.login();
    let first = env.run(&["token"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(is_jwt(first.stdout.trim_end()));
    let second = env.run(&["token"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_ne!(first.stdout, second.stdout, "a fresh token after a refresh");
    // A month later the refresh token has expired at the provider: sign in again.
    shift_provider_clock(&idp, 3550 + 31 * 86_400);
    env.run(&["token"]).assert_error(12, "sign in again");
    env.run(&["status"])
        .code
        .eq(&12)
        .then_some(())
        .expect("status says not signed in (12)");
}

#[test]
fn userinfo_switch_user_extra_parameters_and_sign_out_everywhere() {
    let env = Env::new();
    let (idp, mut profile) = start_cognito("pool");
    profile.scopes.push("aws.cognito.signin.user.admin".into());
    env.write_profile(&profile);
    // An extra authorize parameter for one sign-in.
    let (child, url) = env.start_login(&["--param", "lang=fr"]);
    assert_eq!(url.path(), "/oauth2/authorize");
    assert_eq!(latchkey_testkit::q(&url, "lang").as_deref(), Some("fr"));
    assert_eq!(complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD), 200);
    assert_eq!(Run::from(child.wait_with_output().unwrap()).code, 0);

    let r = env.run(&["userinfo"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("email") && l.ends_with(DEMO_USERNAME)),
        "{}",
        r.stdout
    );
    let info = env.run(&["userinfo", "--json"]).json();
    assert_eq!(info["email"], DEMO_USERNAME);
    assert_eq!(idp.stats().userinfo, 2);

    // Sign in as another user: Cognito's logout page, then the sign-in page.
    let (child, url) = env.start_login(&["--switch-user"]);
    assert_eq!(url.path(), "/logout");
    assert!(latchkey_testkit::q(&url, "logout_uri").is_some(), "{url}");
    assert_eq!(
        complete_login(&url, devidp::VIEWER_USERNAME, devidp::VIEWER_PASSWORD),
        200
    );
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = env.run(&["status", "--json"]).json();
    assert_eq!(s["email"], devidp::VIEWER_USERNAME);

    // Latchkey's own parameters cannot be replaced, and the flags cannot be combined.
    env.run(&["login", "--param", "state=fixed"])
        .assert_error(5, "state");
    assert_eq!(env.run(&["login", "--param", "novalue"]).code, 2);
    assert_eq!(env.run(&["login", "--signup", "--switch-user"]).code, 2);

    // Every device signs out (GlobalSignOut), then the browser session (the logout page).
    let out = env
        .run(&["logout", "--everywhere", "--no-browser", "--json"])
        .json();
    assert_eq!(out["signed_out_everywhere"], true, "{out}");
    assert_eq!(out["revoked"], true);
    assert_eq!(idp.stats().global_sign_outs, 1);
    assert!(out["logout_url"].as_str().unwrap().contains("/logout?"));
    assert_eq!(env.run(&["status"]).code, 12);
}

#[test]
fn removing_a_profile_revokes_its_session() {
    let env = Env::new();
    let (idp, profile) = start_cognito("gone");
    env.write_profile(&profile);
    env.login();
    assert_eq!(idp.stats().revocations, 0);
    let r = env.run(&["profile", "remove", "gone"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(idp.stats().revocations, 1, "the refresh token is revoked");
    // Added again, the profile finds no session left in the keychain.
    env.write_profile(&profile);
    assert_eq!(env.run(&["status"]).code, 12);
}

#[test]
fn inspect_shows_a_hostile_token_without_panicking_or_raw_control_characters() {
    let env = Env::new();
    let token = latchkey_testkit::Forger::new("k").sign(
        serde_json::json!({"alg": "RS256", "kid": "\u{1b}]0;pwned\u{7}"}),
        serde_json::json!({
            "sub": "\u{1b}[2Jcleared",
            "exp": 1e300,
            "iat": -9_223_372_036_854_775_808i64,
            "auth_time": "yesterday",
            "nested": {"deep": ["\u{1b}[31m"]},
        }),
    );
    for args in [
        vec!["inspect", token.as_str()],
        vec!["inspect", "--json", token.as_str()],
    ] {
        let r = env.run(&args);
        // Shown, and refused: no profile to verify it with, so its signature fails (exit 11,
        // issue 29 item 4; it was 0 before); a panic would be 101.
        assert_eq!(r.code, 11, "{args:?}: {}", r.stderr);
        assert!(
            r.stdout.contains("cleared"),
            "the claims are shown: {}",
            r.stdout
        );
        assert!(
            !r.stdout.contains('\u{1b}') && !r.stderr.contains('\u{1b}'),
            "{args:?}"
        );
        assert!(!r.stdout.contains('\u{7}'), "{args:?}");
    }
    let r = env.run(&["inspect", token.as_str()]);
    assert!(
        r.stdout.contains("\\u{1b}[2Jcleared"),
        "escaped, still visible: {}",
        r.stdout
    );
}

/// `--json` errors: one JSON object on stderr with core's kind, the exit code, a message.
fn json_error(r: &Run, code: i32, kind: &str) -> serde_json::Value {
    assert_eq!(r.code, code, "exit code; stderr: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("stderr is JSON ({e}): {}", r.stderr));
    let error = &v["error"];
    assert_eq!(error["kind"], kind, "{v}");
    assert_eq!(error["exit_code"], code, "{v}");
    assert!(
        !error["message"].as_str().unwrap_or_default().is_empty(),
        "{v}"
    );
    error.clone()
}

#[test]
fn with_json_errors_are_json_on_stderr() {
    let env = Env::new();
    // Bad configuration: no file, then an unknown profile.
    json_error(&env.run(&["status", "--json"]), 5, "config");
    std::fs::write(
        env.config_path(),
        "[profiles.a]\nissuer = \"https://id.example.com\"\nclient_id = \"c\"\n",
    )
    .unwrap();
    json_error(
        &env.run(&["--profile", "nope", "token", "--format", "json"]),
        5,
        "config",
    );
    // A usage error is JSON too when --json was on the line.
    json_error(&env.run(&["token", "--json", "--no-such-flag"]), 2, "usage");
    // Without --json the same failure stays one `latchkey:` line.
    env.run(&["--profile", "nope", "token"])
        .assert_error(5, "no profile named");

    // Provider unreachable.
    let dead = free_port();
    std::fs::write(
        env.config_path(),
        format!(
            "[profiles.gone]\nissuer = \"http://127.0.0.1:{dead}/pool\"\nclient_id = \"app\"\n"
        ),
    )
    .unwrap();
    json_error(&env.run(&["login", "--json"]), 3, "provider_unreachable");

    // Not signed in, then a refusal with a live session: no token in the error.
    let (_idp, profile) = start_cognito("jsonerr");
    std::fs::remove_file(env.config_path()).unwrap();
    env.write_profile(&profile);
    json_error(&env.run(&["token", "--json"]), 12, "not_signed_in");
    json_error(&env.run(&["inspect", "--json"]), 12, "not_signed_in");
    env.login();
    let id = env.run(&["token"]).stdout.trim().to_owned();
    let access = env.run(&["token", "--access"]).stdout.trim().to_owned();
    let r = env.run(&["call", "--json", "https://elsewhere.example.com/me"]);
    json_error(&r, 7, "origin_not_allowed");
    for secret in [&id, &access] {
        assert!(!r.stderr.contains(secret.as_str()), "no token in the error");
    }
    assert_eq!(env.run(&["logout"]).code, 0);

    // No Secret Service: the keychain kind and its exit code.
    let mut no_keychain = Env::new();
    no_keychain.write_profile(&profile);
    no_keychain.extra_env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        format!(
            "unix:path={}",
            no_keychain.dir.path().join("no-bus").display()
        ),
    ));
    no_keychain
        .extra_env
        .push(("LATCHKEY_KEYCHAIN".into(), "secret-service".into()));
    json_error(&no_keychain.run(&["status", "--json"]), 4, "keychain");
}

#[test]
fn status_all_lists_every_profile_from_the_keychain_alone() {
    let env = Env::new();
    let (idp, first) = start_cognito("first");
    env.write_profile(&first);
    let second = latchkey_testkit::cognito_profile(&idp, "second", free_port());
    env.write_profile(&second);
    // Tokens inside the refresh margin: a plain `status` would refresh them; `--all` must not.
    shift_provider_clock(&idp, -3550);
    env.login();
    let _ = std::fs::remove_file(env.url_file());
    let before = idp.stats();

    let r = env.run(&["status", "--all", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = r.json();
    let rows = rows.as_array().expect("an array of profiles");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = |name: &str| rows.iter().find(|r| r["profile"] == name).unwrap().clone();
    let (signed_in, signed_out) = (row("first"), row("second"));
    assert_eq!(signed_in["signed_in"], true, "{signed_in}");
    assert_eq!(signed_in["default"], true);
    assert_eq!(signed_in["kind"], "cognito");
    assert!(!signed_in["user"]["sub"].as_str().unwrap().is_empty());
    let expiry: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(signed_in["id_expires_at"].clone()).unwrap();
    assert_eq!(signed_out["signed_in"], false, "{signed_out}");
    assert_eq!(signed_out["default"], false);
    assert!(signed_out.get("user").is_none());

    let r = env.run(&["status", "--all"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = |name: &str| {
        r.stdout
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == name))
            .unwrap_or_else(|| panic!("a line for {name}: {}", r.stdout))
            .to_owned()
    };
    let first_line = line("first");
    assert!(first_line.starts_with("* "), "default marked: {first_line}");
    assert!(first_line.contains("signed in as"), "{first_line}");
    assert!(
        first_line.contains(&expiry.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        "the ID token's expiry: {first_line}"
    );
    assert!(line("second").contains("not signed in"));

    // Keychain reads only: no refresh, no discovery, no browser.
    let after = idp.stats();
    assert_eq!(after.token_refresh_token, before.token_refresh_token);
    assert_eq!(after.discovery, before.discovery);
    assert_eq!(after.authorize, before.authorize);
    assert!(!env.url_file().exists(), "no browser was opened");
    // Whereas a plain status of the same profile does refresh (so the check above can fail).
    assert_eq!(env.run(&["status"]).code, 0);
    assert!(idp.stats().token_refresh_token > before.token_refresh_token);
    assert_eq!(env.run(&["logout"]).code, 0);
}

/// Whether `program` runs here (for optional consumers such as `man`).
fn installed(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn bash_loads_the_completion_and_completes_subcommands_and_flags() {
    let env = Env::new();
    let r = env.run(&["completions", "bash"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let script = env.dir.path().join("latchkey.bash");
    std::fs::write(&script, &r.stdout).unwrap();
    let script = path_str(&script);
    let registered = std::process::Command::new("bash")
        .args(["-c", &format!("source {script} && complete -p latchkey")])
        .output()
        .unwrap();
    let registered = Run::from(registered);
    assert_eq!(registered.code, 0, "bash sources it: {}", registered.stderr);
    let function = registered
        .stdout
        .split_whitespace()
        .skip_while(|w| *w != "-F")
        .nth(1)
        .unwrap_or_else(|| panic!("complete -F FUNCTION: {}", registered.stdout))
        .to_owned();
    // What bash does on TAB: COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY read.
    let complete = |line: &str| -> Vec<String> {
        let program = format!(
            "source {script}
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< \"$COMP_LINE\"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
{function} latchkey \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"
printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        let out = Run::from(out);
        assert_eq!(out.code, 0, "{line}: {}", out.stderr);
        out.stdout
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let subcommands = complete("latchkey lo");
    assert_eq!(subcommands, ["login", "logout"], "latchkey lo<TAB>");
    assert!(complete("latchkey st").contains(&"status".to_owned()));
    assert!(complete("latchkey status --a").contains(&"--all".to_owned()));
    let formats = complete("latchkey token --format ");
    for f in ["plain", "json", "kubectl"] {
        assert!(formats.contains(&f.to_owned()), "{f} in {formats:?}");
    }
}

#[test]
fn every_shell_gets_a_completion_and_the_man_page_renders() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = env.run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        for word in ["login", "status", "completions", "kubectl"] {
            assert!(r.stdout.contains(word), "{shell} completes {word}");
        }
    }
    let r = env.run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2, "an unknown shell is a usage error");

    let r = env.run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH COMMANDS",
    ] {
        assert!(r.stdout.contains(section), "the page has {section}");
    }
    // One complete page: every command's help is in it, none points at a page not installed.
    for command in [
        "login",
        "token",
        "profile add",
        "aws credentials",
        "completions",
    ] {
        assert!(
            r.stdout.contains(&format!(".SS \"latchkey {command}\"")),
            "the page describes `latchkey {command}`"
        );
    }
    assert!(!r.stdout.contains("login(1)"), "no per-command pages");
    if !installed("man") || !installed("groff") {
        eprintln!(
            "man or groff is not installed: the page's sections were checked, not its rendering"
        );
        return;
    }
    let page = env.dir.path().join("latchkey.1");
    std::fs::write(&page, &r.stdout).unwrap();
    let out = std::process::Command::new("man")
        .args(["-l", path_str(&page)])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let rendered = Run::from(out);
    assert_eq!(rendered.code, 0, "man -l: {}", rendered.stderr);
    for text in [
        "NAME",
        "SYNOPSIS",
        "latchkey login --paste",
        "--format <FORMAT>",
        "EXIT STATUS",
    ] {
        assert!(
            rendered.stdout.contains(text),
            "the rendered page shows {text}"
        );
    }
    assert!(
        !rendered.stderr.contains("warning"),
        "groff renders it cleanly: {}",
        rendered.stderr
    );
}

/// The address the browser ends on for `authorize`, as the demo user (not visited).
fn callback_for(authorize: &Url) -> Url {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(latchkey_testkit::login_to_callback(
            authorize,
            DEMO_USERNAME,
            DEMO_PASSWORD,
        ))
}

#[test]
fn login_paste_takes_the_address_the_browser_ended_on() {
    use latchkey_testkit::{q, with_param};
    let env = Env::new();
    let (idp, profile) = start_cognito("paste");
    env.write_profile(&profile);
    let port = profile.ports[0];

    // The real address, pasted: signed in, and the code never printed back.
    let (child, authorize, log) = env.start_paste_login(&[]);
    assert!(!env.url_file().exists(), "--paste opens no browser");
    let callback = callback_for(&authorize);
    assert_eq!(callback.port(), Some(port), "the registered redirect URI");
    let code = q(&callback, "code").unwrap();
    let r = log.paste(child, callback.as_str());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Signed in as"), "{}", r.stderr);
    assert!(!r.stderr.contains(&code) && !r.stdout.contains(&code));
    assert_eq!(env.run(&["status", "--json"]).json()["signed_in"], true);
    assert_eq!(env.run(&["logout"]).code, 0);

    // Another state: refused by the listener's state check, the code not redeemed.
    let redeemed = idp.stats().token_authorization_code;
    let (child, authorize, log) = env.start_paste_login(&["--json"]);
    let callback = callback_for(&authorize);
    let forged = with_param(&callback, "state", Some("forged-state"));
    let r = log.paste(child, forged.as_str());
    let last = Run {
        code: r.code,
        stdout: r.stdout.clone(),
        stderr: r.stderr.lines().last().unwrap_or_default().to_owned(),
    };
    let error = json_error(&last, 1, "verification");
    assert_eq!(error["check"], "state", "{error}");
    assert!(!r.stderr.contains(&q(&callback, "code").unwrap()));
    assert_eq!(
        idp.stats().token_authorization_code,
        redeemed,
        "not redeemed"
    );
    assert!(port_is_free(port), "the callback port is released");
    assert_eq!(env.run(&["status"]).code, 12);

    // The provider's refusal, pasted: reported as such (exit 6, access_denied).
    let (child, authorize, log) = env.start_paste_login(&["--json"]);
    let callback = callback_for(&authorize);
    let denied = with_param(
        &with_param(&callback, "code", None),
        "error",
        Some("access_denied"),
    );
    let r = log.paste(child, denied.as_str());
    let last = Run {
        code: r.code,
        stdout: r.stdout.clone(),
        stderr: r.stderr.lines().last().unwrap_or_default().to_owned(),
    };
    json_error(&last, 6, "access_denied");

    // Nothing pasted (stdin closed): cancelled, exit 6.
    let (child, _, log) = env.start_paste_login(&[]);
    let r = log.paste(child, "");
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("nothing was pasted"), "{}", r.stderr);
}
