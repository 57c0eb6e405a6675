//! The checks of one profile, by concern: the provider (Cognito or OIDC), the client, the
//! loopback redirect, sign-out, API settings, timings and the identity pool (`aws.*`). Every
//! problem names its field and the fix; defaults (like Cognito's sign-out URL) are decided
//! here, once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use url::Url;

use super::api_settings::{is_header_name, DEFAULT_RESPONSE_LIMIT_MIB, RESPONSE_LIMIT_RANGE_MIB};
use super::authorize_params::is_reserved_param;
use super::expectation::{Expectation, EXPECTATION_SYNTAX};
use super::{agent_settings, identity_pool};
use super::{
    BrowserCommand, BrowserDraft, BrowserSetting, ConfigError, Profile, ProfileDraft, ProfileKind,
    Scheme, TokenChoice, DEFAULT_PORTS, OPEN_NOTHING, SYSTEM_DEFAULT,
};

/// Builds the `Invalid` errors of one profile.
pub(super) struct Problems<'a> {
    name: &'a str,
    path: &'a Path,
}

impl Problems<'_> {
    pub(super) fn err(&self, field: &str, problem: impl Into<String>, fix: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            // A name is checked like any field; until then it may hold anything.
            profile: self.name.escape_debug().to_string(),
            field: field.to_owned(),
            problem: problem.into(),
            fix: fix.to_owned(),
        }
    }
}

pub(super) type Checked<T> = Result<T, ConfigError>;

pub(super) fn profile(name: &str, d: &ProfileDraft, path: &Path) -> Checked<Profile> {
    let p = Problems { name, path };
    profile_name(&p, name)?;
    let client_id = client(&p, d)?;
    let kind = provider(&p, d)?;
    let is_cognito = matches!(kind, ProfileKind::Cognito { .. });
    let scopes = scopes(&p, d)?;
    let (redirect_host, redirect_path, ports, any_port) = redirect(&p, d, is_cognito)?;
    let default_sign_out = is_cognito.then(|| {
        format!(
            "http://{redirect_host}:{}/signed-out",
            ports.first().copied().unwrap_or(DEFAULT_PORTS[0])
        )
    });
    let sign_out_uri = sign_out(
        &p,
        d.sign_out_uri.as_deref().or(default_sign_out.as_deref()),
    )?;
    let identity_provider = identity_provider(&p, d)?;
    let authorize_params = authorize_params(&p, d)?;
    let (api_token, api_scheme, api_base_urls) = api(&p, d, is_cognito)?;
    let api_token_header = token_header(&p, d)?;
    let api_response_limit_mib = response_limit(&p, d)?;
    let browser = browser(&p, d)?;
    let aws = d
        .aws
        .as_ref()
        .map(|a| identity_pool::from_draft(&p, a))
        .transpose()?;
    let agent = agent_settings::from_draft(&p, d.agent.as_ref())?;
    let secs = |field: &str, v: Option<i64>, default: u64, range: (u64, u64)| {
        seconds(&p, field, v, default, range)
    };
    Ok(Profile {
        name: name.to_owned(),
        kind,
        client_id,
        scopes,
        redirect_host,
        redirect_path,
        ports,
        any_port,
        sign_out_uri,
        identity_provider,
        authorize_params,
        api_token,
        api_scheme,
        api_token_header,
        api_response_limit_mib,
        api_base_urls,
        browser,
        sign_in_timeout: secs(
            "sign_in_timeout_secs",
            d.sign_in_timeout_secs,
            300,
            (10, 3600),
        )?,
        http_timeout: secs("http_timeout_secs", d.http_timeout_secs, 30, (1, 600))?,
        refresh_margin: secs(
            "refresh_margin_secs",
            d.refresh_margin_secs,
            300,
            (0, 86400),
        )?,
        clock_leeway: secs("clock_leeway_secs", d.clock_leeway_secs, 60, (0, 600))?,
        expect: expectations(&p, d)?,
        aws,
        agent,
    })
}

/// A profile name is `[A-Za-z0-9._-]{1,64}`: it becomes a TOML table name, a keychain account,
/// an AWS `[profile …]` name and a console file name, and a newline in it could write a table
/// of its own into `latchkey aws config-snippet` (issue 22, LOW 2).
fn profile_name(p: &Problems, name: &str) -> Checked<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (1..=MAX_NAME_LEN).contains(&name.len()) && name.chars().all(allowed) {
        return Ok(());
    }
    Err(p.err(
        "name",
        format!(
            "`{}` is not a profile name",
            name.chars().take(80).collect::<String>().escape_debug()
        ),
        "use 1 to 64 letters, digits, `.`, `_` or `-` (e.g. `work`, `staging-eu`)",
    ))
}

/// The longest profile name.
const MAX_NAME_LEN: usize = 64;

pub(super) fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// https, or http only for a loopback host; no credentials or fragment.
fn check_url_rules(u: &Url) -> Result<(), String> {
    match u.scheme() {
        "https" => {}
        "http" if u.host_str().is_some_and(is_loopback_host) => {}
        "http" => {
            return Err("plain http is allowed only for a loopback development provider".into())
        }
        other => return Err(format!("scheme `{other}` is not https")),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("the URL must not contain a user name or password".into());
    }
    if u.fragment().is_some() {
        return Err("the URL must not contain a fragment".into());
    }
    Ok(())
}

fn client(p: &Problems, d: &ProfileDraft) -> Checked<String> {
    if d.client_secret.is_some() {
        return Err(p.err(
            "client_secret",
            "a client secret cannot be kept secret in a desktop app (RFC 8252 §8.5): anyone with the app can read it",
            "remove `client_secret` and create an app client without a secret (a public client; Latchkey always uses PKCE)",
        ));
    }
    match d.client_id.as_deref().map(str::trim) {
        None | Some("") => Err(p.err(
            "client_id",
            "missing",
            "set `client_id` to the app client id shown by the provider (Cognito: User pool → App clients)",
        )),
        Some(c) if c.chars().any(|ch| ch.is_control() || ch.is_whitespace()) => Err(p.err(
            "client_id",
            "contains spaces or control characters",
            "copy the client id again without surrounding text",
        )),
        Some(c) => Ok(c.to_owned()),
    }
}

fn provider(p: &Problems, d: &ProfileDraft) -> Checked<ProfileKind> {
    let kind = d.kind.as_deref().unwrap_or(if d.user_pool_id.is_some() {
        "cognito"
    } else {
        "oidc"
    });
    match kind {
        "cognito" => cognito(p, d),
        "oidc" => oidc(p, d),
        other => Err(p.err(
            "kind",
            format!("unknown kind `{other}`"),
            "use `kind = \"cognito\"` or `kind = \"oidc\"`",
        )),
    }
}

fn is_aws_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
}

fn cognito(p: &Problems, d: &ProfileDraft) -> Checked<ProfileKind> {
    let region = d.region.clone().unwrap_or_default();
    if !is_aws_region(&region) {
        return Err(p.err(
            "region",
            if region.is_empty() {
                "missing".into()
            } else {
                format!("`{region}` is not an AWS region")
            },
            "set `region` to the user pool's region, e.g. \"eu-west-1\"",
        ));
    }
    let pool = d.user_pool_id.clone().unwrap_or_default();
    let pool_ok = pool.split_once('_').is_some_and(|(prefix, id)| {
        !id.is_empty()
            && id.chars().all(|c| c.is_ascii_alphanumeric())
            && (prefix == region || d.issuer.is_some())
    });
    if !pool_ok {
        return Err(p.err(
            "user_pool_id",
            if pool.is_empty() { "missing".into() } else { format!("`{pool}` is not a user pool id of region {region}") },
            "set `user_pool_id` to the pool id shown in the Cognito console, e.g. \"eu-west-1_AbCdEf123\" (it starts with the region)",
        ));
    }
    let domain = cognito_domain(p, d.domain.as_deref().unwrap_or_default(), &region)?;
    let issuer = match &d.issuer {
        None => None,
        Some(s) => {
            let u = Url::parse(s).map_err(|e| p.err("issuer", format!("`{s}` is not a URL ({e})"), "remove `issuer` (it is derived from region and pool id) or give the emulator's issuer URL"))?;
            check_url_rules(&u).map_err(|why| p.err("issuer", why, "use an https issuer"))?;
            Some(u)
        }
    };
    Ok(ProfileKind::Cognito {
        region,
        user_pool_id: pool,
        domain,
        issuer,
    })
}

/// A hosted-UI domain: a prefix (`myapp`), a host, or a full URL.
fn cognito_domain(p: &Problems, text: &str, region: &str) -> Checked<Url> {
    if text.is_empty() {
        return Err(p.err(
            "domain",
            "missing",
            "set `domain` to the hosted-UI domain: a prefix (\"myapp\"), the full URL (\"https://myapp.auth.eu-west-1.amazoncognito.com\") or your custom domain",
        ));
    }
    let full = if text.contains("://") {
        text.to_owned()
    } else if text.contains('.') {
        format!("https://{text}")
    } else {
        format!("https://{text}.auth.{region}.amazoncognito.com")
    };
    let domain = Url::parse(&full).map_err(|e| p.err("domain", format!("`{text}` is not a URL ({e})"), "use a prefix like \"myapp\" or a URL like \"https://myapp.auth.eu-west-1.amazoncognito.com\""))?;
    check_url_rules(&domain)
        .map_err(|why| p.err("domain", why, "use the https hosted-UI domain"))?;
    if domain.path() != "/" || domain.query().is_some() {
        return Err(p.err("domain", "the domain must not have a path or query", "give only the scheme and host, e.g. \"https://myapp.auth.eu-west-1.amazoncognito.com\""));
    }
    Ok(domain)
}

fn oidc(p: &Problems, d: &ProfileDraft) -> Checked<ProfileKind> {
    for (field, present) in [
        ("region", d.region.is_some()),
        ("user_pool_id", d.user_pool_id.is_some()),
        ("domain", d.domain.is_some()),
    ] {
        if present {
            return Err(p.err(
                field,
                format!(
                    "`{field}` belongs to Cognito profiles, but this profile has kind = \"oidc\""
                ),
                "remove it, or set `kind = \"cognito\"`",
            ));
        }
    }
    let s = d.issuer.clone().unwrap_or_default();
    if s.is_empty() {
        return Err(p.err("issuer", "missing", "set `issuer` to the provider's issuer URL (its discovery document is at <issuer>/.well-known/openid-configuration)"));
    }
    let u = Url::parse(&s).map_err(|e| p.err("issuer", format!("`{s}` is not a URL ({e})"), "use the issuer URL exactly as the provider publishes it, e.g. \"https://id.example.com\""))?;
    check_url_rules(&u)
        .map_err(|why| p.err("issuer", why, "use the provider's https issuer URL"))?;
    if u.query().is_some() {
        return Err(p.err(
            "issuer",
            "an issuer URL has no query",
            "remove the `?…` part",
        ));
    }
    Ok(ProfileKind::Oidc { issuer: u })
}

fn scopes(p: &Problems, d: &ProfileDraft) -> Checked<Vec<String>> {
    let scopes = d
        .scopes
        .clone()
        .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
    if !scopes.iter().any(|s| s == "openid") {
        return Err(p.err(
            "scopes",
            "`openid` is missing, so the provider would issue no ID token",
            "add \"openid\" to `scopes`",
        ));
    }
    if let Some(bad) = scopes.iter().find(|s| {
        s.is_empty()
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    }) {
        return Err(p.err(
            "scopes",
            format!("`{bad}` is not a valid scope"),
            "list each scope as its own string, e.g. [\"openid\", \"email\"]",
        ));
    }
    Ok(scopes)
}

/// Host, path, ports and any-port mode of the loopback redirect URI.
fn redirect(
    p: &Problems,
    d: &ProfileDraft,
    is_cognito: bool,
) -> Checked<(String, String, Vec<u16>, bool)> {
    let default_host = if is_cognito { "localhost" } else { "127.0.0.1" };
    let host = match d.redirect_host.as_deref().unwrap_or(default_host) {
        h @ ("localhost" | "127.0.0.1") => h.to_owned(),
        "::1" | "[::1]" => "[::1]".to_owned(),
        other => return Err(p.err("redirect_host", format!("`{other}` is not a loopback host"), "use \"localhost\", \"127.0.0.1\" or \"[::1]\": the callback listener binds loopback only")),
    };
    let path = d
        .redirect_path
        .clone()
        .unwrap_or_else(|| "/callback".into());
    if !path.starts_with('/')
        || path.contains(['?', '#', ' '])
        || path.chars().any(char::is_control)
    {
        return Err(p.err(
            "redirect_path",
            format!("`{path}` is not a plain absolute path"),
            "use a path like \"/callback\" (leading slash, no query or fragment)",
        ));
    }
    let any_port = d.any_port.unwrap_or(false);
    let ports = match &d.ports {
        None if any_port => vec![],
        None => DEFAULT_PORTS.to_vec(),
        Some(list) => list
            .iter()
            .map(|&port| match u16::try_from(port) {
                Ok(port) if port >= 1024 => Ok(port),
                _ => Err(p.err("ports", format!("{port} is not a usable port"), "use ports between 1024 and 65535, registered at the provider as http://localhost:<port>/callback")),
            })
            .collect::<Checked<Vec<u16>>>()?,
    };
    if any_port && !ports.is_empty() {
        return Err(p.err("ports", "`ports` and `any_port = true` are both set", "remove `ports` to use an ephemeral port (the provider must accept any loopback port), or remove `any_port`"));
    }
    if !any_port && ports.is_empty() {
        return Err(p.err("ports", "the list is empty", "list at least one port, or set `any_port = true` for providers that accept any loopback port (RFC 8252)"));
    }
    if any_port && is_cognito {
        return Err(p.err(
            "any_port",
            "Cognito matches the redirect URI exactly, port included",
            "remove `any_port` and list the ports registered as callback URLs in `ports`",
        ));
    }
    Ok((host, path, ports, any_port))
}

/// Where the provider's logout page sends the browser: validated like a redirect URI.
fn sign_out(p: &Problems, uri: Option<&str>) -> Checked<Option<Url>> {
    let Some(s) = uri else { return Ok(None) };
    const FIX: &str = "use the sign-out URL registered at the provider, e.g. \"http://localhost:53682/signed-out\" (https, or http on a loopback host)";
    let u = Url::parse(s)
        .map_err(|e| p.err("sign_out_uri", format!("`{s}` is not a URL ({e})"), FIX))?;
    if u.host_str().is_none() {
        return Err(p.err("sign_out_uri", format!("`{s}` has no host"), FIX));
    }
    check_url_rules(&u).map_err(|why| p.err("sign_out_uri", why, FIX))?;
    Ok(Some(u))
}

fn identity_provider(p: &Problems, d: &ProfileDraft) -> Checked<Option<String>> {
    match &d.identity_provider {
        Some(idp) if idp.is_empty() || idp.len() > 128 || idp.chars().any(char::is_control) => {
            Err(p.err("identity_provider", format!("`{}` is not an identity provider name", idp.escape_debug()), "use the provider name as configured in the user pool, e.g. \"COGNITO\", \"Google\" or your SAML/OIDC provider's name, or remove the field"))
        }
        other => Ok(other.clone()),
    }
}

/// Extra authorize parameters: plain names, values without control characters, and none of
/// the parameters that carry the flow's security (those Latchkey sets itself).
fn authorize_params(p: &Problems, d: &ProfileDraft) -> Checked<BTreeMap<String, String>> {
    let params = d.authorize_params.clone().unwrap_or_default();
    for (key, value) in &params {
        let field = format!("authorize_params.{key}");
        if is_reserved_param(key) {
            return Err(p.err(&field, format!("`{key}` is set by Latchkey itself (it carries the sign-in's security or has its own setting)"), "remove it; use the profile's `identity_provider` or `scopes` field where one exists"));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
        if key.is_empty() || key.len() > 64 || !key.chars().all(plain) {
            return Err(p.err(&field, format!("`{}` is not a parameter name", key.escape_debug()), "use a name of letters, digits, `_`, `-`, `.` or `:` as the provider documents it (e.g. `lang`, `idp_identifier`)"));
        }
        if value.len() > 1024 || value.chars().any(char::is_control) {
            return Err(p.err(
                &field,
                "the value is longer than 1,024 characters or holds control characters",
                "give the value as the provider documents it, on one line",
            ));
        }
    }
    Ok(params)
}

fn api(
    p: &Problems,
    d: &ProfileDraft,
    is_cognito: bool,
) -> Checked<(TokenChoice, Scheme, Vec<Url>)> {
    let token = match d.api_token.as_deref() {
        None | Some("id") => TokenChoice::Id,
        Some("access") => TokenChoice::Access,
        Some(o) => {
            return Err(p.err(
                "api_token",
                format!("`{o}` is not a token kind"),
                "use \"id\" or \"access\"",
            ))
        }
    };
    let scheme = match d.api_scheme.as_deref() {
        None if is_cognito => Scheme::Raw,
        None | Some("bearer") => Scheme::Bearer,
        Some("raw") => Scheme::Raw,
        Some("sigv4") if d.aws.is_none() => return Err(p.err(
            "api_scheme",
            "\"sigv4\" signs calls with AWS credentials, and this profile names no identity pool",
            "add an `[aws]` table with `identity_pool_id`, or use \"bearer\" or \"raw\"",
        )),
        Some("sigv4") => Scheme::Sigv4,
        Some(o) => return Err(p.err(
            "api_scheme",
            format!("`{o}` is not a scheme"),
            "use \"bearer\" (Authorization: Bearer <token>), \"raw\" (Authorization: <token>) or \"sigv4\" (signed with the identity pool's AWS credentials)",
        )),
    };
    const FIX: &str = "list API base URLs like \"https://api.example.com/\"";
    let mut bases = Vec::new();
    for s in d.api_base_urls.iter().flatten() {
        let u = Url::parse(s)
            .map_err(|e| p.err("api_base_urls", format!("`{s}` is not a URL ({e})"), FIX))?;
        if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
            return Err(p.err("api_base_urls", format!("`{s}` is not an http(s) URL"), FIX));
        }
        if u.scheme() == "http" && !u.host_str().is_some_and(is_loopback_host) {
            return Err(p.err(
                "api_base_urls",
                format!("`{s}` would send tokens over plain http"),
                "use https (plain http only for loopback APIs)",
            ));
        }
        bases.push(u);
    }
    Ok((token, scheme, bases))
}

fn token_header(p: &Problems, d: &ProfileDraft) -> Checked<String> {
    match d.api_token_header.as_deref().map(str::trim) {
        None => Ok("Authorization".into()),
        Some(h) if is_header_name(h) => Ok(h.to_owned()),
        Some(h) => Err(p.err(
            "api_token_header",
            format!("`{}` is not an HTTP header name", h.escape_debug()),
            "use the header your API reads the token from (API Gateway: the authorizer's Token Source), e.g. \"Authorization\" or \"X-Api-Token\"",
        )),
    }
}

/// How many MiB of an API's answer are read: a whole number in
/// [`RESPONSE_LIMIT_RANGE_MIB`].
fn response_limit(p: &Problems, d: &ProfileDraft) -> Checked<u32> {
    let range = RESPONSE_LIMIT_RANGE_MIB;
    let Some(mib) = d.api_response_limit_mib else {
        return Ok(DEFAULT_RESPONSE_LIMIT_MIB);
    };
    match u32::try_from(mib) {
        Ok(mib) if range.contains(&mib) => Ok(mib),
        _ => Err(p.err(
            "api_response_limit_mib",
            format!("{mib} MiB is out of range"),
            &format!(
                "use a whole number of MiB between {} and {} (default {}); a longer answer is cut there and marked truncated",
                range.start(),
                range.end(),
                DEFAULT_RESPONSE_LIMIT_MIB
            ),
        )),
    }
}

/// `browser` (or its old name `browser_command`, whose vector gets the address last as before).
fn browser(p: &Problems, d: &ProfileDraft) -> Checked<BrowserSetting> {
    let (field, draft) = match (&d.browser, &d.browser_command) {
        (Some(_), Some(_)) => {
            return Err(p.err(
                "browser_command",
                "both `browser` and its old name `browser_command` are set",
                "keep only `browser`",
            ))
        }
        (Some(b), None) => ("browser", b.clone()),
        (None, Some(argv)) => ("browser_command", BrowserDraft::Argv(argv.clone())),
        (None, None) => return Ok(BrowserSetting::System),
    };
    match draft {
        BrowserDraft::Word(w) if w == SYSTEM_DEFAULT => Ok(BrowserSetting::System),
        BrowserDraft::Word(w) if w == OPEN_NOTHING => Ok(BrowserSetting::OpenNothing),
        BrowserDraft::Word(w) => Err(p.err(field, format!("`{w}` is neither \"{SYSTEM_DEFAULT}\" nor \"{OPEN_NOTHING}\""), "write \"system\" (the default browser), \"none\" (open nothing: the address is shown to copy) or a command as a list, e.g. [\"firefox\", \"-P\", \"work\", \"{url}\"]")),
        BrowserDraft::Argv(argv) => BrowserCommand::new(argv)
            .map(BrowserSetting::Command)
            .map_err(|e| p.err(field, e.to_string(), e.fix())),
    }
}

fn expectations(p: &Problems, d: &ProfileDraft) -> Checked<Vec<Expectation>> {
    d.expect
        .iter()
        .flatten()
        .map(|text| {
            text.parse::<Expectation>().map_err(|e| {
                p.err(
                    "expect",
                    e.to_string(),
                    &format!("{EXPECTATION_SYNTAX}, one string each"),
                )
            })
        })
        .collect()
}

fn seconds(
    p: &Problems,
    field: &str,
    value: Option<i64>,
    default: u64,
    (min, max): (u64, u64),
) -> Checked<Duration> {
    match value {
        None => Ok(Duration::from_secs(default)),
        Some(x) => match u64::try_from(x) {
            Ok(x) if (min..=max).contains(&x) => Ok(Duration::from_secs(x)),
            _ => Err(p.err(
                field,
                format!("{x} is out of range"),
                &format!("use a number of seconds between {min} and {max} (default {default})"),
            )),
        },
    }
}
