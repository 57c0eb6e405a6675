//! A browser per profile: the `browser` key's forms and their errors, the old `browser_command`
//! rewritten once, machine-local on import, and an argument vector reaching the program as is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use latchkey_core::config::{BrowserCommand, BrowserSetting, Config, ConfigError};
use latchkey_core::{Browser, CommandBrowser, ErrorKind};
use url::Url;

const COGNITO: &str = "region = 'eu-west-1'\nuser_pool_id = 'eu-west-1_AbC123'\ndomain = 'myapp'\nclient_id = 'abc123'\n";

fn parse(browser_lines: &str) -> Result<Config, ConfigError> {
    let text = format!("[profiles.p]\n{COGNITO}{browser_lines}\n");
    Config::parse(&text, Path::new("config.toml"))
}

fn setting(browser_lines: &str) -> BrowserSetting {
    parse(browser_lines)
        .unwrap()
        .profile("p")
        .unwrap()
        .browser
        .clone()
}

/// The field a refused `browser` setting is reported under.
fn refused_field(browser_lines: &str) -> String {
    match parse(browser_lines) {
        Err(ConfigError::Invalid { field, .. }) => field,
        other => panic!("{browser_lines}: expected an invalid field, got {other:?}"),
    }
}

fn command(words: &[&str]) -> BrowserSetting {
    let argv = words.iter().map(|w| w.to_string()).collect();
    BrowserSetting::Command(BrowserCommand::new(argv).unwrap())
}

#[test]
fn browser_takes_a_word_or_an_argument_vector() {
    assert_eq!(setting(""), BrowserSetting::System);
    assert_eq!(setting("browser = 'system'"), BrowserSetting::System);
    assert_eq!(setting("browser = 'none'"), BrowserSetting::OpenNothing);
    assert_eq!(
        setting("browser = ['chromium', '--profile-directory=Profile 1', '{url}']"),
        command(&["chromium", "--profile-directory=Profile 1", "{url}"])
    );
    assert_eq!(
        setting("browser = ['/usr/bin/firefox']"),
        command(&["/usr/bin/firefox"]),
        "without {{url}} the address comes last"
    );
}

#[test]
fn an_unusable_browser_is_a_config_error_on_its_field() {
    for (lines, field) in [
        ("browser = 'chrome'", "browser"),
        ("browser = []", "browser"),
        ("browser = ['./open.sh', '{url}']", "browser"),
        ("browser = ['firefox', '{url}', '{url}']", "browser"),
        ("browser = ['{url}']", "browser"),
        ("browser_command = []", "browser_command"),
        (
            "browser = 'none'\nbrowser_command = ['firefox']",
            "browser_command",
        ),
    ] {
        assert_eq!(refused_field(lines), field, "{lines}");
        let e: latchkey_core::Error = parse(lines).unwrap_err().into();
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}

#[test]
fn the_old_browser_command_is_read_rewritten_as_browser_and_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = format!("# my profiles\n[profiles.p]\n{COGNITO}browser_command = ['firefox', '--new-window'] # work\n");
    std::fs::write(&path, text).unwrap();

    let config = Config::load_lenient(&path).unwrap();
    assert_eq!(
        config.profile("p").unwrap().browser,
        command(&["firefox", "--new-window"])
    );
    assert_eq!(config.migrations.len(), 1);
    assert_eq!(
        (config.migrations[0].from, config.migrations[0].to),
        ("browser_command", "browser")
    );
    assert!(config.migrations[0].rewritten);

    let again = Config::load(&path).unwrap();
    assert!(again.migrations.is_empty(), "said once");
    let draft = again.draft("p").unwrap();
    assert_eq!(draft.browser_command, None);
    assert_eq!(
        again.profile("p").unwrap().browser,
        command(&["firefox", "--new-window"])
    );
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.starts_with("# my profiles\n"),
        "the file's comments are kept: {written}"
    );
}

#[test]
fn an_import_drops_both_browser_keys_and_reports_each() {
    let shared = format!("[profiles.work]\n{COGNITO}browser = ['sh', '-c', 'touch /tmp/x', '{{url}}']\nbrowser_command = ['sh']\n");
    let reviews = Config::empty(Path::new("c.toml"))
        .review_import(&shared, Path::new("shared.toml"))
        .unwrap();
    let dropped: Vec<&str> = reviews[0]
        .dropped
        .iter()
        .map(|d| d.field.as_str())
        .collect();
    assert_eq!(dropped, ["browser", "browser_command"]);
    assert_eq!(reviews[0].profile.browser, BrowserSetting::System);
    assert!(reviews[0]
        .settings
        .iter()
        .all(|s| !s.field.starts_with("browser")));
}

/// A program that writes each argument it gets, NUL-terminated, to `args` beside it.
fn recording_program(dir: &Path) -> (PathBuf, PathBuf) {
    let out = dir.join("args");
    let script = dir.join("record browser.sh");
    let body = format!(
        "#!/bin/sh\nprintf '%s\\0' \"$@\" > '{}.tmp' && mv '{0}.tmp' '{0}'\n",
        out.display()
    );
    std::fs::write(&script, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (script, out)
}

#[cfg(unix)]
#[test]
fn every_argument_reaches_the_program_byte_for_byte_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let (script, out) = recording_program(dir.path());
    let pwned = dir.path().join("pwned");
    let tricky = [
        "--a=b; touch pwned",
        &format!("$(touch {})", pwned.display()),
        "`touch pwned`",
        "two words",
        "\"double\" 'single'",
        "--app={url}",
        "*",
        "",
    ];
    let mut argv = vec![script.display().to_string()];
    argv.extend(tricky.iter().map(|s| s.to_string()));
    let browser = CommandBrowser {
        command: BrowserCommand::new(argv.clone()).unwrap(),
    };
    let url = Url::parse("https://id.example.com/authorize?a=1&b=$(x)").unwrap();
    browser.open(&url).unwrap();

    let recorded = wait_for(&out);
    let got: Vec<&str> = recorded.split_terminator('\0').collect();
    let mut expected: Vec<String> = tricky.iter().map(|s| s.to_string()).collect();
    expected[5] = format!("--app={url}");
    assert_eq!(got, expected);
    assert!(!pwned.exists());
}

#[test]
fn a_program_not_on_path_is_a_browser_error_naming_it() {
    let browser = CommandBrowser {
        command: BrowserCommand::new(vec!["latchkey-no-such-browser".into(), "{url}".into()])
            .unwrap(),
    };
    let e = browser
        .open(&Url::parse("https://id.example.com/a").unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Browser);
}

fn wait_for(file: &Path) -> String {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(file) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the program never wrote {}", file.display());
}
