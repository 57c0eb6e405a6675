//! A browser per profile (issue 25 item 4): the profile's `browser` vector reaches the program
//! as configured with the address in place of `{url}` during a real sign-in, `none` prints the
//! address and opens nothing, and `profile browser` / `profile add --browser` / `doctor` use it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use latchkey_core::config::{BrowserCommand, BrowserSetting};
use latchkey_testkit::devidp::{DEMO_PASSWORD, DEMO_USERNAME};
use serde_json::Value;
use url::Url;

use crate::common::{self, complete_login, start_cognito, Env};

/// An environment in which only the profile chooses the browser (no test hook variable).
fn env_without_hook() -> Env {
    let mut env = Env::new();
    env.unset_env.push("LATCHKEY_BROWSER_COMMAND");
    env
}

/// A fake browser in `dir`: writes every argument it gets, NUL-terminated, to `argv`, and its
/// second argument (where the test puts `{url}`) to `url`, where the harness waits for it.
fn fake_browser(dir: &Path) -> PathBuf {
    let script = dir.join("fake browser");
    let body = "#!/bin/sh\nd=$(dirname \"$0\")\nprintf '%s\\0' \"$@\" > \"$d/argv.tmp\" && mv \"$d/argv.tmp\" \"$d/argv\"\nprintf '%s' \"$2\" > \"$d/url.tmp\" && mv \"$d/url.tmp\" \"$d/url\"\n";
    std::fs::write(&script, body).unwrap();
    make_executable(&script);
    script
}

fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn command(argv: &[String]) -> BrowserSetting {
    BrowserSetting::Command(BrowserCommand::new(argv.to_vec()).unwrap())
}

#[cfg(unix)]
#[test]
fn a_fake_browser_receives_exactly_the_configured_argument_vector() {
    let env = env_without_hook();
    let (_idp, mut profile) = start_cognito("work");
    let pwned = env.dir.path().join("pwned");
    let configured: Vec<String> = vec![
        common::path_str(&fake_browser(env.dir.path())).to_owned(),
        "--profile-directory=Work; touch pwned".into(),
        "{url}".into(),
        format!("$(touch {})", pwned.display()),
        "it's \"quoted\" `x`".into(),
    ];
    profile.browser = command(&configured);
    env.write_profile(&profile);

    let (child, url) = env.start_login(&[]);
    complete_login(&url, DEMO_USERNAME, DEMO_PASSWORD);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let recorded = std::fs::read(env.dir.path().join("argv")).unwrap();
    let recorded: Vec<String> = recorded
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect();
    let mut expected = configured[1..].to_vec();
    expected[1] = url.to_string();
    assert_eq!(recorded, expected);
    assert!(!pwned.exists(), "no shell ever ran");
}

#[test]
fn browser_none_prints_the_address_which_completes_the_sign_in() {
    let env = env_without_hook();
    let (_idp, mut profile) = start_cognito("print");
    profile.browser = BrowserSetting::OpenNothing;
    env.write_profile(&profile);

    let mut child = env
        .cmd(&["login"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let printed = stderr
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| Url::parse(line.trim()).ok())
        .expect("the address is printed");
    // Keep reading: a closed stderr would end `latchkey login` at its next line.
    let rest = std::thread::spawn(move || stderr.map_while(Result::ok).collect::<Vec<_>>());
    complete_login(&printed, DEMO_USERNAME, DEMO_PASSWORD);
    assert_eq!(child.wait().unwrap().code(), Some(0), "{:?}", rest.join());
    assert!(!env.url_file().exists(), "no browser hook ran");
}

fn browser_check(env: &Env) -> Value {
    let doctor = env.run(&["doctor", "--json"]).json();
    let checks = doctor["checks"].as_array().unwrap();
    checks
        .iter()
        .find(|c| c["name"] == "browser")
        .unwrap()
        .clone()
}

#[test]
fn profile_browser_sets_it_doctor_checks_its_program_and_add_force_keeps_it() {
    let env = env_without_hook();
    let (_idp, profile) = start_cognito("work");
    env.write_profile(&profile);

    let missing = r#"["/nonexistent/latchkey-browser", "--new-window", "{url}"]"#;
    let set = env.run(&["profile", "browser", "work", "--set", missing, "--json"]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    assert_eq!(set.json()["browser"], missing);
    assert_eq!(set.json()["program_found"], false);
    assert_eq!(browser_check(&env)["status"], "fail");

    let sh = r#"["sh", "{url}"]"#;
    assert_eq!(
        env.run(&["profile", "browser", "work", "--set", sh]).code,
        0
    );
    assert_eq!(browser_check(&env)["status"], "ok");

    let relative = env.run(&["profile", "browser", "work", "--set", r#"["./open.sh"]"#]);
    assert_eq!(relative.code, 5, "a config error: {}", relative.stderr);

    let (region, pool, domain) = cognito_settings(&profile);
    let issuer = profile.issuer();
    let add = |extra: &[&str]| {
        let mut args = vec!["profile", "add", "work", "--force", "--cognito"];
        args.extend([
            "--region",
            &region,
            "--user-pool-id",
            &pool,
            "--domain",
            &domain,
        ]);
        args.extend(["--client-id", &profile.client_id, "--issuer", &issuer]);
        args.extend(extra);
        env.run(&args)
    };
    assert_eq!(add(&[]).code, 0);
    let shown = env.run(&["profile", "browser", "work", "--json"]).json();
    assert_eq!(
        shown["browser"], sh,
        "a replace without --browser keeps this machine's choice"
    );
    assert_eq!(add(&["--browser", "none"]).code, 0);
    let shown = env.run(&["profile", "browser", "work", "--json"]).json();
    assert_eq!(shown["browser"], "none");
}

/// A Cognito profile's region, user pool id and hosted-UI domain, as `profile add` takes them.
fn cognito_settings(p: &latchkey_core::Profile) -> (String, String, String) {
    match &p.kind {
        latchkey_core::ProfileKind::Cognito {
            region,
            user_pool_id,
            domain,
            ..
        } => (
            region.clone(),
            user_pool_id.clone(),
            domain.as_str().trim_end_matches('/').to_owned(),
        ),
        _ => unreachable!("a Cognito profile"),
    }
}

#[cfg(unix)]
#[test]
fn profile_browser_offers_the_browser_profiles_found_on_this_machine() {
    let mut env = env_without_hook();
    let (_idp, profile) = start_cognito("work");
    env.write_profile(&profile);
    let home = env.dir.path().join("home");
    let ini = home.join(".mozilla/firefox/profiles.ini");
    std::fs::create_dir_all(ini.parent().unwrap()).unwrap();
    std::fs::write(&ini, "[Profile0]\nName=work stuff\nIsRelative=1\nPath=ab.work\nDefault=1\n\n[General]\nVersion=2\n").unwrap();
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("firefox"), "#!/bin/sh\n").unwrap();
    make_executable(&bin.join("firefox"));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.extra_env
        .push(("HOME".into(), home.display().to_string()));
    env.extra_env.push(("PATH".into(), path));

    let shown = env.run(&["profile", "browser", "work", "--json"]).json();
    crate::cli_doc::assert_documented("latchkey profile browser [NAME] --json", &shown);
    assert_eq!(shown["browser"], "system");
    let found = shown["found_on_this_machine"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["argv"],
        serde_json::json!(["firefox", "-P", "work stuff", "{url}"])
    );
}
