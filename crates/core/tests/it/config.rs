//! Profiles file: every invalid field has an error naming the file, the profile, the field and
//! the fix; valid files round-trip.

use std::path::Path;

use latchkey_core::aws::IdentityFlow;
use latchkey_core::config::{
    AwsDraft, BrowserCommand, BrowserSetting, Config, ConfigError, ProfileDraft, ProfileKind,
    Scheme, TokenChoice,
};

const COGNITO: &str = "region = 'eu-west-1'\nuser_pool_id = 'eu-west-1_AbC123'\ndomain = 'myapp'\nclient_id = 'abc123'\n";
const OIDC: &str = "kind = 'oidc'\nissuer = 'https://id.example.com'\nclient_id = 'abc123'\n";

fn parse(body: &str) -> Result<Config, ConfigError> {
    Config::parse(
        &format!("default = 'p'\n[profiles.p]\n{body}"),
        Path::new("/home/u/.config/latchkey/config.toml"),
    )
}

/// Assert the error names file, profile, field and a fix, and contains `needle`.
fn invalid(body: &str, field: &str, needle: &str) {
    let err = parse(body).expect_err(&format!("should be invalid: {body}"));
    let msg = err.to_string();
    assert!(
        msg.contains("/home/u/.config/latchkey/config.toml"),
        "no file in: {msg}"
    );
    assert!(msg.contains("profile `p`"), "no profile in: {msg}");
    assert!(
        msg.contains(&format!("field `{field}`")),
        "no field `{field}` in: {msg}"
    );
    assert!(msg.contains("Fix:"), "no fix in: {msg}");
    assert!(msg.contains(needle), "`{needle}` not in: {msg}");
    let core: latchkey_core::Error = err.into();
    assert_eq!(core.kind(), latchkey_core::ErrorKind::Config);
}

fn replace(base: &str, line_start: &str, new: &str) -> String {
    base.lines()
        .map(|l| {
            if l.starts_with(line_start) {
                new.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn valid_cognito_profile_has_derived_issuer_endpoints_and_redirect_uris() {
    let c = parse(COGNITO).unwrap();
    let p = c.default_profile().unwrap();
    assert_eq!(
        p.issuer(),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    );
    let ProfileKind::Cognito { domain, .. } = &p.kind else {
        panic!()
    };
    assert_eq!(
        domain.as_str(),
        "https://myapp.auth.eu-west-1.amazoncognito.com/"
    );
    assert_eq!(
        p.redirect_uris(),
        vec![
            "http://localhost:53682/callback",
            "http://localhost:53683/callback",
            "http://localhost:53684/callback"
        ]
    );
    assert_eq!(p.api_token, TokenChoice::Id);
    assert_eq!(p.api_scheme, Scheme::Raw);
    assert_eq!(p.clock_leeway.as_secs(), 60);
    assert_eq!(p.refresh_margin.as_secs(), 300);
}

#[test]
fn valid_oidc_profile_defaults_to_any_port_on_127_0_0_1() {
    let c = parse(&format!("{OIDC}any_port = true\n")).unwrap();
    let p = c.profile("p").unwrap();
    assert_eq!(p.issuer(), "https://id.example.com");
    assert_eq!(p.redirect_uris(), vec!["http://127.0.0.1/callback"]);
    assert_eq!(p.api_scheme, Scheme::Bearer);
}

#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/config.toml");
    let c = Config::parse(&format!("default = 'a'\n[profiles.a]\n{COGNITO}sign_out_uri = 'http://localhost:53682/signed-out'\napi_base_urls = ['https://api.example.com']\n[profiles.b]\n{OIDC}any_port = true\nbrowser_command = ['firefox', '--new-window']\n"), &path).unwrap();
    c.save_to(&path).unwrap();
    let again = Config::load(&path).unwrap();
    assert_eq!(again.profiles, c.profiles);
    assert_eq!(again.default.as_deref(), Some("a"));
}

#[test]
fn default_path_honours_latchkey_config() {
    let mut env = latchkey_testkit::ProcessEnv::lock();
    env.set("LATCHKEY_CONFIG", "/tmp/latchkey-test-config.toml");
    assert_eq!(
        Config::default_path().unwrap(),
        Path::new("/tmp/latchkey-test-config.toml")
    );
}

#[test]
fn missing_file_says_how_to_create_it() {
    let err = Config::load(Path::new("/nonexistent/latchkey.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::NotFound { .. }));
    assert!(
        err.to_string().contains("/nonexistent/latchkey.toml")
            && err.to_string().contains("LATCHKEY_CONFIG")
    );
}

#[test]
fn toml_syntax_error_names_the_file() {
    let err = Config::parse("[profiles.p\n", Path::new("c.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }));
    assert!(err.to_string().starts_with("c.toml is not valid TOML"));
}

#[test]
fn unknown_field_is_named() {
    let err = parse(&format!("{COGNITO}colour = 'blue'\n")).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn unknown_profile_and_missing_default_are_explained() {
    let c = parse(COGNITO).unwrap();
    let err = c.profile("nope").unwrap_err().to_string();
    assert!(
        err.contains("`nope`") && err.contains("Known profiles: p"),
        "{err}"
    );
    let two = Config::parse(
        &format!("[profiles.a]\n{COGNITO}[profiles.b]\n{OIDC}"),
        Path::new("c.toml"),
    )
    .unwrap();
    assert!(two
        .default_profile()
        .unwrap_err()
        .to_string()
        .contains("default = "));
    let err = Config::parse(
        &format!("default = 'zzz'\n[profiles.a]\n{COGNITO}"),
        Path::new("c.toml"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("field `default`") && err.to_string().contains("zzz"),
        "{err}"
    );
}

#[test]
fn client_secret_refused_with_explanation() {
    invalid(
        &format!("{COGNITO}client_secret = 's3cr3t'\n"),
        "client_secret",
        "desktop app",
    );
}

#[test]
fn client_id_missing_or_malformed() {
    invalid(
        "region = 'eu-west-1'\nuser_pool_id = 'eu-west-1_AbC123'\ndomain = 'myapp'\n",
        "client_id",
        "missing",
    );
    invalid(
        &replace(COGNITO, "client_id", "client_id = 'abc 123'"),
        "client_id",
        "spaces",
    );
}

#[test]
fn kind_unknown() {
    invalid(
        &format!("kind = 'saml'\n{}", &OIDC[OIDC.find('\n').unwrap() + 1..]),
        "kind",
        "saml",
    );
}

#[test]
fn region_invalid() {
    invalid(
        &replace(COGNITO, "region", "region = 'Europe'"),
        "region",
        "not an AWS region",
    );
    invalid(&replace(COGNITO, "region", ""), "region", "missing");
}

#[test]
fn user_pool_id_invalid() {
    invalid(
        &replace(COGNITO, "user_pool_id", "user_pool_id = 'us-east-1_AbC123'"),
        "user_pool_id",
        "region eu-west-1",
    );
    invalid(
        &replace(COGNITO, "user_pool_id", "user_pool_id = 'nounderscore'"),
        "user_pool_id",
        "not a user pool id",
    );
}

#[test]
fn domain_invalid() {
    invalid(&replace(COGNITO, "domain", ""), "domain", "missing");
    invalid(
        &replace(COGNITO, "domain", "domain = 'http://myapp.example.com'"),
        "domain",
        "plain http",
    );
    invalid(
        &replace(
            COGNITO,
            "domain",
            "domain = 'https://myapp.example.com/oauth2'",
        ),
        "domain",
        "path",
    );
    invalid(
        &replace(COGNITO, "domain", "domain = 'https://exa mple.com'"),
        "domain",
        "not a URL",
    );
}

#[test]
fn issuer_invalid() {
    invalid(&replace(OIDC, "issuer", ""), "issuer", "missing");
    invalid(
        &replace(OIDC, "issuer", "issuer = 'not a url'"),
        "issuer",
        "not a URL",
    );
    invalid(
        &replace(OIDC, "issuer", "issuer = 'http://id.example.com'"),
        "issuer",
        "plain http",
    );
    invalid(
        &replace(
            OIDC,
            "issuer",
            "issuer = 'https://id.example.com/?tenant=1'",
        ),
        "issuer",
        "query",
    );
    invalid(&format!("{COGNITO}issuer = 'ftp://x'\n"), "issuer", "https");
}

#[test]
fn cognito_fields_on_an_oidc_profile() {
    invalid(
        &format!("{OIDC}region = 'eu-west-1'\n"),
        "region",
        "kind = \"cognito\"",
    );
}

#[test]
fn scopes_invalid() {
    invalid(
        &format!("{COGNITO}scopes = ['email']\n"),
        "scopes",
        "openid",
    );
    invalid(
        &format!("{COGNITO}scopes = ['openid', 'a b']\n"),
        "scopes",
        "not a valid scope",
    );
}

#[test]
fn redirect_host_and_path_invalid() {
    invalid(
        &format!("{COGNITO}redirect_host = '0.0.0.0'\n"),
        "redirect_host",
        "not a loopback host",
    );
    invalid(
        &format!("{COGNITO}redirect_path = 'callback'\n"),
        "redirect_path",
        "plain absolute path",
    );
    invalid(
        &format!("{COGNITO}redirect_path = '/cb?x=1'\n"),
        "redirect_path",
        "plain absolute path",
    );
}

#[test]
fn ports_invalid() {
    invalid(
        &format!("{COGNITO}ports = [80]\n"),
        "ports",
        "not a usable port",
    );
    invalid(
        &format!("{COGNITO}ports = [70000]\n"),
        "ports",
        "not a usable port",
    );
    invalid(&format!("{COGNITO}ports = []\n"), "ports", "empty");
    invalid(
        &format!("{OIDC}ports = [53682]\nany_port = true\n"),
        "ports",
        "both set",
    );
}

#[test]
fn any_port_refused_for_cognito() {
    invalid(
        &format!("{COGNITO}any_port = true\nports = []\n").replace("ports = []\n", ""),
        "any_port",
        "exactly",
    );
}

#[test]
fn sign_out_uri_invalid() {
    invalid(
        &format!("{COGNITO}sign_out_uri = 'nope'\n"),
        "sign_out_uri",
        "not a URL",
    );
    // validated like a redirect URI: no script, no cleartext to a remote host
    invalid(
        &format!("{COGNITO}sign_out_uri = 'javascript:alert(1)'\n"),
        "sign_out_uri",
        "javascript",
    );
    invalid(
        &format!("{COGNITO}sign_out_uri = 'http://evil.example/out'\n"),
        "sign_out_uri",
        "plain http",
    );
}

#[test]
fn cognito_profiles_get_the_loopback_sign_out_url_by_default() {
    let c = parse(&format!("{COGNITO}ports = [50001, 50002]\n")).unwrap();
    assert_eq!(
        c.profile("p").unwrap().sign_out_uris(),
        vec!["http://localhost:50001/signed-out"]
    );
    let o = parse(&format!("{OIDC}any_port = true\n")).unwrap();
    assert!(o.profile("p").unwrap().sign_out_uri.is_none());
}

#[test]
fn api_token_and_scheme_invalid() {
    invalid(
        &format!("{COGNITO}api_token = 'refresh'\n"),
        "api_token",
        "\"id\" or \"access\"",
    );
    invalid(
        &format!("{COGNITO}api_scheme = 'basic'\n"),
        "api_scheme",
        "\"bearer\"",
    );
}

#[test]
fn api_base_urls_invalid() {
    invalid(
        &format!("{COGNITO}api_base_urls = ['api.example.com']\n"),
        "api_base_urls",
        "not a URL",
    );
    invalid(
        &format!("{COGNITO}api_base_urls = ['http://api.example.com']\n"),
        "api_base_urls",
        "plain http",
    );
    invalid(
        &format!("{COGNITO}api_base_urls = ['ftp://api.example.com']\n"),
        "api_base_urls",
        "not an http(s) URL",
    );
}

#[test]
fn browser_command_empty() {
    invalid(
        &format!("{COGNITO}browser_command = []\n"),
        "browser_command",
        "names no program",
    );
}

#[test]
fn timeouts_out_of_range() {
    invalid(
        &format!("{COGNITO}sign_in_timeout_secs = 1\n"),
        "sign_in_timeout_secs",
        "out of range",
    );
    invalid(
        &format!("{COGNITO}http_timeout_secs = 0\n"),
        "http_timeout_secs",
        "out of range",
    );
    invalid(
        &format!("{COGNITO}refresh_margin_secs = -5\n"),
        "refresh_margin_secs",
        "out of range",
    );
    invalid(
        &format!("{COGNITO}clock_leeway_secs = 3600\n"),
        "clock_leeway_secs",
        "out of range",
    );
}

#[test]
fn identity_provider_invalid() {
    invalid(
        &format!("{COGNITO}identity_provider = ''\n"),
        "identity_provider",
        "not an identity provider name",
    );
    let ok = parse(&format!("{COGNITO}identity_provider = 'Google'\n")).unwrap();
    assert_eq!(
        ok.profile("p").unwrap().identity_provider.as_deref(),
        Some("Google")
    );
}

const COMMENTED: &str = "# my profiles\ndefault = 'a'  # the work one\n\n[profiles.a]\n# pool in Ireland\nregion = 'eu-west-1'\nuser_pool_id = 'eu-west-1_AbC123'\ndomain = 'myapp'   # hosted UI\nclient_id = 'abc123'\n";

#[test]
fn saving_keeps_comments_and_edits_settings_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, COMMENTED).unwrap();
    let mut c = Config::load(&path).unwrap();
    let mut draft = c.draft("a").unwrap();
    draft.client_id = Some("newclient".into());
    draft.api_base_urls = Some(vec!["https://api.example.com/".into()]);
    c.insert_draft("a", &draft).unwrap();
    c.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for kept in [
        "# my profiles",
        "# the work one",
        "# pool in Ireland",
        "# hosted UI",
        "domain = 'myapp'",
    ] {
        assert!(text.contains(kept), "lost `{kept}`:\n{text}");
    }
    assert!(text.contains("client_id = \"newclient\""), "{text}");
    assert!(text.contains("api_base_urls"), "{text}");
    // settings left at their defaults are not written out
    assert!(
        !text.contains("clock_leeway_secs") && !text.contains("sign_out_uri"),
        "{text}"
    );
    let again = Config::load(&path).unwrap();
    assert_eq!(again.profile("a").unwrap(), c.profile("a").unwrap());
    // no temporary file is left next to it
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn new_profiles_are_written_with_their_non_default_settings_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/config.toml");
    let mut c = Config::empty(&path);
    let draft = ProfileDraft {
        kind: Some("oidc".into()),
        issuer: Some("https://id.example.com".into()),
        client_id: Some("cid".into()),
        any_port: Some(true),
        refresh_margin_secs: Some(120),
        ..ProfileDraft::default()
    };
    c.insert_draft("new", &draft).unwrap();
    c.default = Some("new".into());
    c.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("refresh_margin_secs = 120"), "{text}");
    assert!(
        !text.contains("http_timeout_secs") && !text.contains("scopes"),
        "{text}"
    );
    let again = Config::load(&path).unwrap();
    assert_eq!(again.profile("new").unwrap().refresh_margin.as_secs(), 120);
}

#[test]
fn drafts_get_the_same_validation_and_messages_as_the_file() {
    // the app's form and the CLI's flags go through the same pipeline
    let mut c = Config::empty(Path::new("/home/u/.config/latchkey/config.toml"));
    let draft = ProfileDraft {
        region: Some("eu-west-1".into()),
        user_pool_id: Some("eu-west-1_AbC123".into()),
        domain: Some("myapp".into()),
        client_id: Some("abc".into()),
        api_base_urls: Some(vec!["http://api.example.com".into()]),
        ..ProfileDraft::default()
    };
    let err = c.insert_draft("p", &draft).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { field, profile, .. } if field == "api_base_urls" && profile == "p"),
        "{err}"
    );
    assert!(c.profiles.is_empty(), "nothing inserted");
    for (field, draft) in [
        (
            "scopes",
            ProfileDraft {
                scopes: Some(vec!["email".into()]),
                ..draft.clone()
            },
        ),
        (
            "ports",
            ProfileDraft {
                ports: Some(vec![80]),
                api_base_urls: None,
                ..draft.clone()
            },
        ),
    ] {
        assert!(
            matches!(c.insert_draft("p", &draft), Err(ConfigError::Invalid { field: f, .. }) if f == field),
            "{field}"
        );
    }
}

#[test]
fn lenient_loading_sets_invalid_profiles_aside_and_keeps_them_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = format!("default = 'bad'\n[profiles.good]\n{COGNITO}[profiles.bad]\n# broken on purpose\n{COGNITO}ports = [80]\n");
    std::fs::write(&path, &text).unwrap();
    assert!(
        matches!(Config::load(&path), Err(ConfigError::Invalid { field, .. }) if field == "ports")
    );
    let mut c = Config::load_lenient(&path).unwrap();
    assert!(c.profile("good").is_ok());
    assert!(
        matches!(c.profile("bad"), Err(ConfigError::Invalid { field, .. }) if field == "ports")
    );
    assert!(
        c.default_profile().is_err(),
        "the default is the invalid one"
    );
    assert_eq!(
        c.draft("bad").unwrap().ports,
        Some(vec![80]),
        "its draft, to fix it"
    );
    // saving other changes leaves the invalid profile exactly as it was
    c.default = Some("good".into());
    c.save().unwrap();
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(
        saved.contains("# broken on purpose\n") && saved.contains("ports = [80]"),
        "{saved}"
    );
    // and fixing it through a draft makes it valid
    let mut fixed = c.draft("bad").unwrap();
    fixed.ports = Some(vec![50000]);
    c.insert_draft("bad", &fixed).unwrap();
    assert!(c.invalid.is_empty());
}

#[test]
fn expectations_and_token_header_are_read_and_checked() {
    let config = parse(&format!(
        "{COGNITO}expect = ['group=admins', 'custom:tenant=acme']\napi_token_header = 'X-Api-Token'\n"
    ))
    .unwrap();
    let p = config.profile("p").unwrap();
    assert_eq!(
        p.expect.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["group=admins", "custom:tenant=acme"]
    );
    assert_eq!(p.api_token_header, "X-Api-Token");
    invalid(
        &format!("{COGNITO}expect = ['admins']\n"),
        "expect",
        "is not an expectation",
    );
    invalid(
        &format!("{COGNITO}api_token_header = 'X Api'\n"),
        "api_token_header",
        "not an HTTP header name",
    );
}

const POOL: &str = "eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";

#[test]
fn an_aws_table_names_the_identity_pool() {
    let c = parse(&format!(
        "{COGNITO}[profiles.p.aws]\nidentity_pool_id = '{POOL}'\nrole_arn = 'arn:aws:iam::123456789012:role/Dev'\n"
    ))
    .unwrap();
    let aws = c.profile("p").unwrap().aws.clone().expect("aws settings");
    assert_eq!(aws.identity_pool_id, POOL);
    assert_eq!(aws.flow, IdentityFlow::Enhanced, "the default flow");
    let pool = aws.resolve(&c.profile("p").unwrap().kind).unwrap();
    assert_eq!(pool.region, "eu-west-1", "from the pool id");
    assert_eq!(
        pool.login_key,
        "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    );
    // an inline table is the same thing
    let inline = parse(&format!(
        "{COGNITO}aws = {{ identity_pool_id = '{POOL}', flow = 'classic', role_arn = 'arn:aws:iam::123456789012:role/Dev' }}\n"
    ))
    .unwrap();
    assert_eq!(
        inline.profile("p").unwrap().aws.as_ref().unwrap().flow,
        IdentityFlow::Classic
    );
    assert!(parse(COGNITO).unwrap().profile("p").unwrap().aws.is_none());
}

#[test]
fn each_bad_aws_field_is_named_aws_dot_field() {
    let table = |body: &str| format!("{COGNITO}[profiles.p.aws]\n{body}");
    invalid(
        &table("region = 'eu-west-1'\n"),
        "aws.identity_pool_id",
        "missing",
    );
    invalid(
        &table("identity_pool_id = 'eu-west-1'\n"),
        "aws.identity_pool_id",
        "REGION:",
    );
    invalid(
        &table(&format!(
            "identity_pool_id = '{POOL}'\nregion = 'us-east-1'\n"
        )),
        "aws.region",
        "set it to eu-west-1",
    );
    invalid(
        &table(&format!(
            "identity_pool_id = '{POOL}'\nrole_arn = 'Admin'\n"
        )),
        "aws.role_arn",
        "arn:aws:iam::123456789012:role/MyRole",
    );
    invalid(
        &table(&format!("identity_pool_id = '{POOL}'\nflow = 'classic'\n")),
        "aws.role_arn",
        "classic flow",
    );
    invalid(
        &table(&format!("identity_pool_id = '{POOL}'\nflow = 'basic'\n")),
        "aws.flow",
        "\"enhanced\"",
    );
    invalid(
        &table(&format!(
            "identity_pool_id = '{POOL}'\nidentity_endpoint = 'http://example.com/'\n"
        )),
        "aws.identity_endpoint",
        "https",
    );
    invalid(
        &table(&format!(
            "identity_pool_id = '{POOL}'\nidentity_endpoint = 'not a url'\n"
        )),
        "aws.identity_endpoint",
        "not a URL",
    );
    invalid(
        &table(&format!("identity_pool_id = '{POOL}'\nrol_arn = 'x'\n")),
        "aws.rol_arn",
        "unknown field",
    );
}

#[test]
fn the_aws_table_is_saved_as_a_sub_table_and_edited_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut c = Config::empty(&path);
    let draft = ProfileDraft {
        region: Some("eu-west-1".into()),
        user_pool_id: Some("eu-west-1_AbC123".into()),
        domain: Some("myapp".into()),
        client_id: Some("abc".into()),
        aws: Some(AwsDraft {
            identity_pool_id: Some(POOL.into()),
            flow: Some("enhanced".into()),
            ..AwsDraft::default()
        }),
        ..ProfileDraft::default()
    };
    c.insert_draft("p", &draft).unwrap();
    c.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("[profiles.p.aws]\nidentity_pool_id = \"{POOL}\"")),
        "{text}"
    );
    assert!(
        !text.contains("flow"),
        "the default flow is not written: {text}"
    );

    // a comment in the table survives an edit of another of its settings
    let commented = text.replace("[profiles.p.aws]\n", "[profiles.p.aws]\n# the team pool\n");
    std::fs::write(&path, commented).unwrap();
    let mut c = Config::load(&path).unwrap();
    let mut draft = c.draft("p").unwrap();
    draft.aws.as_mut().unwrap().role_arn = Some("arn:aws:iam::123456789012:role/Dev".into());
    c.insert_draft("p", &draft).unwrap();
    c.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# the team pool"), "{text}");
    assert!(
        text.contains("role_arn = \"arn:aws:iam::123456789012:role/Dev\""),
        "{text}"
    );
    let again = Config::load(&path).unwrap();
    assert_eq!(again.profile("p").unwrap(), c.profile("p").unwrap());

    // and removing the identity pool removes the table
    let mut draft = again.draft("p").unwrap();
    draft.aws = None;
    let mut c = again;
    c.insert_draft("p", &draft).unwrap();
    c.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("aws") && !text.contains("# the team pool"),
        "{text}"
    );
}

#[test]
fn authorize_params_are_a_table_of_plain_names_never_latchkeys_own() {
    let c = parse(&format!(
        "{COGNITO}[profiles.p.authorize_params]\nlang = 'fr'\nidp_identifier = 'example.com'\n"
    ))
    .unwrap();
    let params = &c.profile("p").unwrap().authorize_params;
    assert_eq!(params.get("lang").map(String::as_str), Some("fr"));
    assert_eq!(
        params.get("idp_identifier").map(String::as_str),
        Some("example.com")
    );
    assert!(parse(COGNITO)
        .unwrap()
        .profile("p")
        .unwrap()
        .authorize_params
        .is_empty());

    let table = |body: &str| format!("{COGNITO}[profiles.p.authorize_params]\n{body}");
    for reserved in latchkey_core::RESERVED_PARAMS {
        invalid(
            &table(&format!("{reserved} = 'x'\n")),
            &format!("authorize_params.{reserved}"),
            "set by Latchkey",
        );
    }
    invalid(
        &table("'la ng' = 'fr'\n"),
        "authorize_params.la ng",
        "not a parameter name",
    );
    invalid(
        &table("lang = \"f\\nr\"\n"),
        "authorize_params.lang",
        "control characters",
    );
    invalid(&table("lang = 3\n"), "(profile)", "invalid type");
}

#[test]
fn authorize_params_are_saved_as_a_sub_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut c = Config::empty(&path);
    let draft = ProfileDraft {
        region: Some("eu-west-1".into()),
        user_pool_id: Some("eu-west-1_AbC123".into()),
        domain: Some("myapp".into()),
        client_id: Some("abc".into()),
        authorize_params: Some([("lang".to_owned(), "fr".to_owned())].into()),
        ..ProfileDraft::default()
    };
    c.insert_draft("p", &draft).unwrap();
    c.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[profiles.p.authorize_params]\nlang = \"fr\""),
        "{text}"
    );
    let again = Config::load(&path).unwrap();
    assert_eq!(again.profile("p").unwrap(), c.profile("p").unwrap());
}

#[test]
fn an_exported_profile_keeps_its_aws_table_and_authorize_params() {
    let c = parse(&format!(
        "{COGNITO}[profiles.p.aws]\nidentity_pool_id = '{POOL}'\n[profiles.p.authorize_params]\nlang = 'fr'\n"
    ))
    .unwrap();
    let profile = c.profile("p").unwrap();
    let text = Config::export_profile(profile);
    let file = Path::new("p.latchkey.toml");
    let imported = Config::import_profiles(&text, file).unwrap();
    assert_eq!(imported.len(), 1, "{text}");
    let (name, draft) = &imported[0];
    assert_eq!(name, "p");
    assert_eq!(&draft.validate(name, file).unwrap(), profile, "{text}");
}

// ---- issue 22: a profile file is untrusted input ----

/// The field an invalid profile is refused for.
fn refused_field(text: &str) -> String {
    match Config::parse(text, Path::new("config.toml")) {
        Err(ConfigError::Invalid { field, .. }) => field,
        other => panic!("expected a refused field, got {other:?}"),
    }
}

#[test]
fn g2_profile_names_are_letters_digits_dot_dash_underscore_at_load_add_and_import() {
    for name in ["work", "staging-eu.1_b", &"a".repeat(64)] {
        let text = format!("[profiles.\"{name}\"]\n{COGNITO}");
        assert!(Config::parse(&text, Path::new("c.toml")).is_ok(), "{name}");
    }
    // The newline would write a `[profile default]` of its own into an AWS config snippet.
    let injected = "x\\n[profile default]\\ncredential_process = sh -c evil";
    for name in [injected, "with space", "", "é", &"a".repeat(65), "a/b"] {
        let text = format!("[profiles.\"{name}\"]\n{COGNITO}");
        assert_eq!(refused_field(&text), "name", "load refuses `{name}`");
        assert!(
            matches!(
                Config::import_profiles(&text, Path::new("shared.toml"))
                    .map(|drafts| drafts[0].1.validate(&drafts[0].0, Path::new("shared.toml"))),
                Ok(Err(ConfigError::Invalid { ref field, .. })) if field == "name"
            ),
            "import refuses `{name}`"
        );
    }
    let draft = parse(COGNITO).unwrap().draft("p").unwrap();
    let mut config = Config::empty(Path::new("c.toml"));
    assert!(
        matches!(config.insert_draft("bad\nname", &draft), Err(ConfigError::Invalid { ref field, .. }) if field == "name"),
        "add refuses a name with a newline"
    );
    assert!(config.profiles.is_empty());
    let lenient = Config::parse_lenient(
        &format!("[profiles.\"bad name\"]\n{COGNITO}[profiles.good]\n{COGNITO}"),
        Path::new("c.toml"),
    )
    .unwrap();
    assert!(lenient.invalid.contains_key("bad name") && lenient.profiles.contains_key("good"));
}

#[test]
fn g4_authorize_params_that_hand_the_flow_to_a_request_object_or_another_mode_are_refused() {
    let table = |key: &str| format!("{COGNITO}[profiles.p.authorize_params]\n{key} = 'x'\n");
    for key in [
        "response_mode",
        "request",
        "request_uri",
        "claims",
        "registration",
        "Response_Mode",
        "REQUEST_URI",
        "State",
    ] {
        assert_eq!(
            refused_field(&format!("default = 'p'\n[profiles.p]\n{}", table(key))),
            format!("authorize_params.{key}"),
            "`{key}` is Latchkey's own"
        );
    }
    assert!(parse(&table("lang")).is_ok());
}

const SHARED: &str = r#"
[profiles.work]
region = "eu-west-1"
user_pool_id = "eu-west-1_AbC123"
domain = "https://work.auth.eu-west-1.amazoncognito.com"
client_id = "abc123"
scopes = ["openid", "email"]
api_base_urls = ["https://api.example.com/"]
browser = ["sh", "-c", "touch${IFS}/tmp/latchkey-owned", "{url}"]
sign_in_timeout_secs = 120
[profiles.work.authorize_params]
lang = "fr"
[profiles.work.aws]
identity_pool_id = "eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
"#;

#[test]
fn an_export_never_carries_the_browser_command() {
    let mut text = format!("[profiles.p]\n{COGNITO}");
    text.push_str("browser = ['firefox', '-P', 'work', '{url}']\n");
    let config = Config::parse(&text, Path::new("c.toml")).unwrap();
    let profile = config.profile("p").unwrap();
    assert_ne!(profile.browser, BrowserSetting::System);
    let exported = Config::export_profile(profile);
    let (_, draft) = &Config::import_profiles(&exported, Path::new("p.toml")).unwrap()[0];
    assert_eq!(draft.browser, None, "{exported}");
    assert_eq!(draft.browser_command, None, "{exported}");
}

#[test]
fn g1_an_import_drops_the_browser_command_says_so_and_lists_where_tokens_go_first() {
    let config = Config::empty(Path::new("c.toml"));
    let reviews = config
        .review_import(SHARED, Path::new("shared.toml"))
        .unwrap();
    let review = &reviews[0];
    assert_eq!(review.name, "work");
    assert!(!review.replaces);
    assert_eq!(review.action(), "Save profile work");
    assert_eq!(
        review.profile.browser,
        BrowserSetting::System,
        "never imported"
    );
    assert_eq!(
        review
            .dropped
            .iter()
            .map(|d| d.field.as_str())
            .collect::<Vec<_>>(),
        ["browser"],
        "and the user is told"
    );
    let fields: Vec<&str> = review.settings.iter().map(|s| s.field.as_str()).collect();
    assert!(!fields.contains(&"browser"));
    let at = |f: &str| {
        fields
            .iter()
            .position(|x| *x == f)
            .unwrap_or_else(|| panic!("{f} in {fields:?}"))
    };
    assert!(at("domain") < at("client_id"));
    assert!(at("client_id") < at("api_base_urls"));
    assert!(at("api_base_urls") < at("aws.identity_pool_id"));
    assert!(at("aws.identity_pool_id") < at("authorize_params.lang"));
    assert!(
        at("authorize_params.lang") < at("scopes"),
        "where tokens go, then the rest"
    );
    assert!(at("scopes") < at("sign_in_timeout_secs"));
    let security: Vec<bool> = review.settings.iter().map(|s| s.security).collect();
    assert!(
        security.windows(2).all(|w| w[0] >= w[1]),
        "every security-relevant setting comes first: {fields:?} {security:?}"
    );
    assert!(review.settings[at("api_base_urls")].security);
    assert!(!review.settings[at("scopes")].security);
    assert!(
        !fields.contains(&"api_token_header"),
        "defaults are not listed"
    );
}

#[test]
fn g1_an_existing_name_is_replaced_only_when_asked_and_keeps_this_machines_browser() {
    let local = SHARED
        .replace("touch${IFS}/tmp/latchkey-owned", "--local")
        .replace("https://api.example.com/", "https://api.mine.example/");
    let mut config = Config::parse(&local, Path::new("c.toml")).unwrap();
    let before = config.profile("work").unwrap().clone();
    let reviews = config
        .review_import(SHARED, Path::new("shared.toml"))
        .unwrap();
    let review = &reviews[0];
    assert!(review.replaces);
    assert_eq!(review.action(), "Replace profile work");
    assert_eq!(review.moves_session, ["api_base_urls"]);
    let api = review
        .settings
        .iter()
        .find(|s| s.field == "api_base_urls")
        .unwrap();
    assert_eq!(api.previous.as_deref(), Some("https://api.mine.example/"));
    assert_eq!(api.value, "https://api.example.com/");

    assert!(matches!(
        config.insert_reviewed(review, false),
        Err(ConfigError::Exists { ref name, .. }) if name == "work"
    ));
    assert_eq!(config.profile("work").unwrap(), &before, "nothing changed");
    let replaced = config.insert_reviewed(review, true).unwrap();
    assert_eq!(
        replaced.browser.clone(),
        BrowserSetting::Command(
            BrowserCommand::new(vec![
                "sh".into(),
                "-c".into(),
                "--local".into(),
                "{url}".into()
            ])
            .unwrap()
        ),
        "the machine-local setting stays this machine's"
    );
    assert_eq!(
        replaced.api_base_urls[0].as_str(),
        "https://api.example.com/"
    );
}

#[test]
fn g1_each_setting_that_sends_tokens_elsewhere_is_named() {
    let config = Config::parse(SHARED, Path::new("c.toml")).unwrap();
    let old = config.profile("work").unwrap();
    let moved = |edit: &dyn Fn(&str) -> String| {
        let next = Config::parse(&edit(SHARED), Path::new("c.toml")).unwrap();
        old.token_destination_changes(next.profile("work").unwrap())
    };
    assert!(
        moved(&|t| t.replace("sign_in_timeout_secs = 120", "sign_in_timeout_secs = 60")).is_empty()
    );
    assert!(moved(&|t| t.replace("\"email\"]", "\"phone\"]")).is_empty());
    assert_eq!(
        moved(&|t| t.replace("client_id = \"abc123\"", "client_id = \"other\"")),
        ["client_id"]
    );
    assert_eq!(
        moved(&|t| t.replace("https://work.auth", "https://evil.auth")),
        ["domain"]
    );
    assert_eq!(
        moved(&|t| t.replace("eu-west-1_AbC123", "eu-west-1_Other1")),
        ["issuer"]
    );
    assert_eq!(
        moved(&|t| t.replace("https://api.example.com/", "https://api.evil.example/")),
        ["api_base_urls"]
    );
    assert_eq!(
        moved(&|t| {
            t.replace(
            "identity_pool_id = \"eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d\"",
            "identity_pool_id = \"eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d\"\nidentity_endpoint = \"https://cognito-identity.evil.example/\""
        )
        }),
        ["aws"]
    );
}
