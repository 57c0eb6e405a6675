//! The `latchkey-devidp` command line (also reused by `latchkey devidp`): flags → config,
//! start, print where everything is, serve until interrupted. Errors are one line; exit 2 for a usage error, 1 for any other.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::config::DemoApiConfig;
use crate::config::{
    load_users_file, ClientConfig, DevIdpConfig, FederatedIdp, MfaMode, Rotation, UserRecord,
    UsernameAttribute,
};
use crate::control::faults::Fault;
use crate::DevIdp;

/// The demo's pool-domain port (hosted UI, `/oauth2/*`, demo API): the default of
/// `latchkey devidp` and `latchkey-devidp`, and the app's built-in provider's (the library
/// default is an ephemeral port). One pair everywhere, so a demo profile fits all of them.
pub const DEMO_PORT: u16 = 47_211;
/// The demo's `cognito-idp` port (discovery, JWKS, `iss`), beside [`DEMO_PORT`].
pub const DEMO_ISSUER_PORT: u16 = 47_212;

const AFTER_HELP: &str = "\
Two origins, like AWS:
  pool domain (--port; stands for https://PREFIX.auth.REGION.amazoncognito.com):
    GET  /oauth2/authorize  → 302 /login (exact redirect_uri match; PKCE S256 only;
         identity_provider / idp_identifier → the stand-in external provider page)
    GET|POST /login, /signup, /confirm, /forgotPassword, /confirmforgotPassword;
    POST /forceChangePassword, /mfa (every form needs its XSRF-TOKEN cookie and _csrf field)
    GET  /oauth2/idpresponse, /logout, /error
    POST /oauth2/token (authorization_code, refresh_token), POST /oauth2/revoke, GET /oauth2/userInfo
    GET  /demo-api/{me,orders,admin}: an API Gateway REST API with a Cognito authorizer (the ID
         token in --api-token-header, or an access token with an --api-scope; admin needs the
         admins group); /demo-http-api/{me,orders,admin}: an HTTP API with a JWT authorizer;
         /demo-rest-jwt-api/{me,orders,admin}: a REST API with a JWT authorizer
  cognito-idp (--issuer-port; stands for https://cognito-idp.REGION.amazonaws.com):
    GET /{POOL}/.well-known/openid-configuration, GET /{POOL}/.well-known/jwks.json,
    POST / (X-Amz-Target: AWSCognitoIdentityProviderService.GlobalSignOut, GetUser,
           InitiateAuth with REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken, RevokeToken;
           Content-Type: application/x-amz-json-1.1)

Users file (TOML):
  [[users]]
  username = \"alice@example.com\"        # the sign-in name (an e-mail in an e-mail pool)
  password = \"Alice-pass-1\"
  groups = [\"users\", \"admins\"]
  attributes = { \"custom:tenant\" = \"acme\" }
  force_change_password = true           # optional: the first sign-in asks for a new password
  totp_secret = \"JBSWY3DPEHPK3PXP\"       # optional: an authenticator already set up
  mfa = \"email\"                          # optional, instead: a one-time code by \"email\" or \"sms\"
                                         # (sms needs attributes.phone_number); printed in the log

Durations: 3600, 3600s, 60m, 1h, 30d.

Fault names for --fault and the control endpoint:
  token_server_error token_slow=MILLIS token_malformed_json token_missing_refresh_token token_redirect
  token_error_description token_expires_in=SECS access_token_without_iat revoke_server_error
  id_token_wrong_iss id_token_wrong_aud id_token_missing_aud id_token_extra_aud id_token_missing_sub
  id_token_missing_iat id_token_missing_exp id_token_expired id_token_iat_future id_token_iat_week_old
  id_token_wrong_nonce id_token_bad_signature id_token_alg_none id_token_hs256 id_token_unknown_kid
  id_token_no_kid_single_key id_token_no_kid_multi_key id_token_unadvertised_alg jwks_duplicate_kid
  id_token_typ_at_jwt id_token_token_use_access id_token_wrong_at_hash id_token_exp_string
  id_token_iat_string id_token_aud_number id_token_oversized[=BYTES] token_response_oversized[=BYTES]
  discovery_oversized[=BYTES] jwks_oversized[=BYTES] userinfo_oversized[=BYTES]
  refresh_different_sub refresh_different_iss refresh_different_aud refresh_without_id_token
  refresh_different_auth_time
  clock_offset=SECS discovery_issuer_mismatch jwks_max_age=SECS userinfo_different_sub
  authorize_response_iss authorize_response_wrong_iss
";

/// A local provider that behaves like an Amazon Cognito user pool's hosted UI, plus a demo API.
#[derive(Parser, Debug)]
#[command(
    name = "latchkey-devidp",
    version,
    about = "A local provider that behaves like an Amazon Cognito user pool's hosted UI (OAuth 2.0 + OIDC, PKCE), plus a demo protected API. Listens on 127.0.0.1 only.",
    after_help = format!("{AFTER_HELP}\n{}", crate::control::CONTROL_HELP)
)]
struct Args {
    /// Port of the pool-domain origin on 127.0.0.1: hosted UI, /oauth2/*, demo API (0 = any free port)
    #[arg(long, default_value_t = DEMO_PORT)]
    port: u16,
    /// Port of the cognito-idp origin on 127.0.0.1: discovery, JWKS, iss, JSON API (0 = any free port)
    #[arg(long, default_value_t = DEMO_ISSUER_PORT)]
    issuer_port: u16,
    /// TOML users file (default: the demo users demo@latchkey.dev, viewer@latchkey.dev and otp@latchkey.dev, who gets an e-mail MFA code)
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
    /// What users sign in with: email and/or phone_number (the username is then generated, a
    /// UUID equal to sub, as in Cognito), or none for plain usernames
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "email", value_parser = parse_username_attribute)]
    username_attributes: Vec<Option<UsernameAttribute>>,
    /// User pool id: part of the issuer and the discovery path
    #[arg(long, value_name = "ID", default_value = crate::config::DEFAULT_USER_POOL_ID)]
    user_pool_id: String,
    /// App client id (a public client, no secret)
    #[arg(long, value_name = "ID", default_value = crate::config::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Registered callback URL, exact match (repeatable; replaces the default localhost:53682-53684 list)
    #[arg(long = "callback-url", value_name = "URL")]
    callback_urls: Vec<String>,
    /// Registered sign-out URL for /logout?logout_uri= (repeatable; replaces the default list)
    #[arg(long = "sign-out-url", value_name = "URL")]
    sign_out_urls: Vec<String>,
    /// Accept any port on http loopback callback URLs (RFC 8252; Cognito itself does not)
    #[arg(long)]
    any_loopback_port: bool,
    /// Scope the client may have (repeatable; default: openid email profile aws.cognito.signin.user.admin)
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Turn refresh-token rotation on, with a retry grace period of 0-60 seconds (default 0)
    #[arg(long, value_name = "GRACE_SECS", num_args = 0..=1, default_missing_value = "0")]
    rotation: Option<u64>,
    /// ID-token lifetime
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1h")]
    id_token_ttl: Duration,
    /// Access-token lifetime
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1h")]
    access_token_ttl: Duration,
    /// Refresh-token lifetime
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30d")]
    refresh_token_ttl: Duration,
    /// Multi-factor authentication with a TOTP app: off, optional (users with an
    /// authenticator get a code prompt) or required (others set one up at sign-in)
    #[arg(long, value_name = "MODE", default_value = "off")]
    mfa: MfaMode,
    /// Put amr in ID tokens (["pwd"], or ["pwd","otp","mfa"] after a TOTP code), as pools with
    /// Cognito's ACR/AMR claims do
    #[arg(long)]
    amr_claims: bool,
    /// An external identity provider for federated sign-in through a stand-in page, e.g.
    /// Google (repeatable; identity_provider=NAME skips the login page)
    #[arg(long = "identity-provider", value_name = "NAME")]
    identity_providers: Vec<String>,
    /// Demo REST API: the header its Cognito authorizer reads the token from (Token Source)
    #[arg(long, value_name = "HEADER", default_value = "Authorization")]
    api_token_header: String,
    /// Demo REST API: an OAuth scope on its methods (repeatable); then an access token with one
    /// of them is required instead of the ID token
    #[arg(long = "api-scope", value_name = "SCOPE")]
    api_scopes: Vec<String>,
    /// Demo REST API: an aud value to insist on (repeatable; real Cognito authorizers check none)
    #[arg(long = "api-audience", value_name = "AUD")]
    api_audiences: Vec<String>,
    /// Demo HTTP API (/demo-http-api): its JWT authorizer's audience (repeatable; default the client id)
    #[arg(long = "http-api-audience", value_name = "AUD")]
    http_api_audiences: Vec<String>,
    /// Demo HTTP API: a scope its routes require (repeatable; default none)
    #[arg(long = "http-api-scope", value_name = "SCOPE")]
    http_api_scopes: Vec<String>,
    /// Demo REST API with a JWT authorizer (/demo-rest-jwt-api): a scope its methods require
    /// (repeatable; default none; a token without one gets 403)
    #[arg(long = "rest-jwt-api-scope", value_name = "SCOPE")]
    rest_jwt_api_scopes: Vec<String>,
    /// Demo APIs: answer browsers cross-origin (API Gateway's CORS configuration; off by
    /// default, as a new API)
    #[arg(long)]
    demo_api_cors: bool,
    /// JSON file keeping signing keys, refresh grants (hashed) and signed-up users across restarts
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Send Cache-Control: max-age=SECS with the JWKS (default: no Cache-Control header)
    #[arg(long, value_name = "SECS")]
    jwks_max_age: Option<u64>,
    /// Secret for the control endpoint (at least 16 characters; default: a new one each run, printed at start)
    #[arg(long, value_name = "SECRET", env = crate::control::CONTROL_TOKEN_ENV, hide_env_values = true)]
    control_token: Option<String>,
    /// Start with a fault switched on (repeatable; names below)
    #[arg(long = "fault", value_name = "NAME[=VALUE]", value_parser = parse_fault)]
    faults: Vec<Fault>,
}

/// `3600`, `3600s`, `60m`, `1h`, `30d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 3600, 90s, 60m, 1h or 30d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{text:?} has an unknown unit (use s, m, h or d)")),
    };
    if secs == 0 {
        return Err("a duration must be at least 1 second".to_string());
    }
    Ok(Duration::from_secs(secs))
}

/// `email`, `phone_number`, or `none` (plain usernames).
fn parse_username_attribute(text: &str) -> Result<Option<UsernameAttribute>, String> {
    match text.trim() {
        "none" => Ok(None),
        other => other.parse().map(Some),
    }
}

fn parse_fault(text: &str) -> Result<Fault, String> {
    text.parse()
}

/// Runs the `latchkey-devidp` command line. `args` starts with the program name, like
/// `std::env::args_os()`. Returns when the provider fails to start; otherwise serves until
/// the process is interrupted.
pub fn cli_main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.to_string();
            let line = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("latchkey-devidp: error: {line} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("latchkey-devidp: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Why the provider did not start, and its exit code: 2 for a flag value it refuses (a usage
/// error, as clap's own), 1 for anything else (a port in use, an unreadable file).
struct StartFailure {
    code: u8,
    message: String,
}

impl StartFailure {
    fn usage(message: String) -> StartFailure {
        StartFailure { code: 2, message }
    }
}

impl From<crate::DevIdpError> for StartFailure {
    fn from(e: crate::DevIdpError) -> StartFailure {
        let code = match e {
            crate::DevIdpError::Config(_) => 2,
            _ => 1,
        };
        StartFailure {
            code,
            message: e.to_string(),
        }
    }
}

fn run(args: Args) -> Result<(), StartFailure> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let default_users = args.users.is_none();
    let users = match &args.users {
        Some(path) => load_users_file(path)?,
        None => UserRecord::demo_users(),
    };
    if let Some(grace) = args.rotation {
        if grace > 60 {
            return Err(StartFailure::usage(format!(
                "--rotation={grace}: the grace period must be 0 to 60 seconds"
            )));
        }
    }
    let client = client_config(&args);
    let token_given = args.control_token.is_some();
    let idp = DevIdp::start(DevIdpConfig {
        port: args.port,
        issuer_port: args.issuer_port,
        user_pool_id: args.user_pool_id,
        public_urls: None,
        client,
        users: users.clone(),
        username_attributes: args.username_attributes.into_iter().flatten().collect(),
        mfa: args.mfa,
        amr_claims: args.amr_claims,
        identity_providers: args
            .identity_providers
            .iter()
            .map(|name| FederatedIdp::named(name))
            .collect(),
        demo_api: DemoApiConfig {
            token_header: args.api_token_header,
            scopes: args.api_scopes,
            audiences: args.api_audiences,
            http_api_audiences: args.http_api_audiences,
            http_api_scopes: args.http_api_scopes,
            rest_jwt_scopes: args.rest_jwt_api_scopes,
            cors: args.demo_api_cors,
        },
        state_file: args.state_file,
        jwks_max_age: args.jwks_max_age.map(Duration::from_secs),
        control_token: args.control_token,
        ..DevIdpConfig::default()
    })?;
    for fault in args.faults {
        idp.set_fault(fault);
    }
    print_banner(&idp, &users, default_users, token_given);
    loop {
        std::thread::park();
    }
}

/// The app client the command line describes (the defaults where it says nothing).
fn client_config(args: &Args) -> ClientConfig {
    let defaults = ClientConfig::default();
    ClientConfig {
        client_id: args.client_id.clone(),
        callback_urls: if args.callback_urls.is_empty() {
            defaults.callback_urls
        } else {
            args.callback_urls.clone()
        },
        sign_out_urls: if args.sign_out_urls.is_empty() {
            defaults.sign_out_urls
        } else {
            args.sign_out_urls.clone()
        },
        any_loopback_port: args.any_loopback_port,
        scopes: if args.scopes.is_empty() {
            defaults.scopes
        } else {
            args.scopes.clone()
        },
        rotation: args.rotation.map(|g| Rotation {
            grace_period: Duration::from_secs(g),
        }),
        id_token_ttl: args.id_token_ttl,
        access_token_ttl: args.access_token_ttl,
        refresh_token_ttl: args.refresh_token_ttl,
    }
}

/// Prints the banner, best effort: a provider whose stdout has gone (a closed terminal, a
/// reader that stopped after the ready line) keeps serving instead of dying on a broken pipe.
fn print_banner(idp: &DevIdp, users: &[UserRecord], default_users: bool, token_given: bool) {
    use std::io::Write;
    let text = banner(idp, users, default_users, token_given);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// What the provider prints when it is ready: its URLs, users, and the profile to add.
fn banner(idp: &DevIdp, users: &[UserRecord], default_users: bool, token_given: bool) -> String {
    let mut b: Vec<String> = vec![];
    let base = idp.base_url();
    let client = idp.client();
    b.push("Latchkey development provider (Cognito-compatible) is running.".into());
    b.push(format!("  Hosted UI domain: {base}"));
    b.push(format!("  cognito-idp:      {}", idp.cognito_idp_url()));
    b.push(format!("  Issuer:           {}", idp.issuer()));
    b.push(format!("  Discovery:        {}", idp.discovery_url()));
    b.push(format!("  JWKS:             {}", idp.jwks_url()));
    b.push(format!("  Client id:        {}", idp.client_id()));
    if let (Some(pool), Some(endpoint)) = (idp.identity_pool(), idp.identity_endpoint()) {
        b.push(format!(
            "  Identity pool:    {} at {endpoint} (Cognito Identity + STS)",
            pool.identity_pool_id
        ));
    }
    b.push(format!(
        "  Callback URLs:    {}",
        client.callback_urls.join(" ")
    ));
    b.push(format!(
        "  Sign-out URLs:    {}",
        client.sign_out_urls.join(" ")
    ));
    b.push(format!(
        "  Rotation:         {}",
        client
            .rotation
            .map(|r| format!("on (grace {} s)", r.grace_period.as_secs()))
            .unwrap_or_else(|| "off".to_string())
    ));
    b.push(format!(
        "  Demo API:         {base}/demo-api/me  {base}/demo-api/orders  {base}/demo-api/admin"
    ));
    b.push(format!(
        "  Control:          {base}/_devidp/ (faults, rotate-keys, clock, stats; see --help)"
    ));
    if token_given {
        b.push(
            "  Control token:    the one given (--control-token or LATCHKEY_DEVIDP_CONTROL_TOKEN)"
                .into(),
        );
    } else {
        // Generated for this run; printed so the person who started it can drive it.
        b.push(format!(
            "  Control token:    {} (header {})",
            idp.control_token(),
            crate::control::CONTROL_TOKEN_HEADER
        ));
    }
    if default_users {
        for user in users {
            b.push(format!(
                "  Demo user:        {} / {}  (groups: {})",
                user.username,
                user.password,
                user.groups.join(", ")
            ));
        }
    } else {
        let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
        b.push(format!("  Users:            {}", names.join(", ")));
    }
    b.push("Add a profile for it, then `latchkey login`:".into());
    b.push(format!("  {}", profile_add_command(idp)));
    b.push("Press Ctrl-C to stop.".into());
    let mut text = b.join("\n");
    text.push('\n');
    text
}

/// The profile a demo user adds for this provider: the `latchkey profile add` line, ready to
/// paste (its callback ports only when they are not the CLI's defaults).
fn profile_add_command(idp: &DevIdp) -> String {
    let pool = idp.user_pool_id();
    let region = pool
        .split_once('_')
        .map_or("us-east-1", |(region, _)| region);
    let base = idp.base_url();
    let mut line = format!(
        "latchkey profile add demo --cognito --region {region} --user-pool-id {pool} --client-id {} --domain {base} --issuer {} --api-base-url {base}/",
        idp.client_id(),
        idp.issuer(),
    );
    let ports = callback_ports(&idp.client().callback_urls);
    if ports != crate::config::DEFAULT_CALLBACK_PORTS {
        for port in ports {
            line.push_str(&format!(" --port {port}"));
        }
    }
    line
}

/// The ports of the `http://localhost:PORT/callback` URLs among `callback_urls` (the ones a
/// profile's `ports` can name).
fn callback_ports(callback_urls: &[String]) -> Vec<u16> {
    callback_urls
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .filter(|u| u.host_str() == Some("localhost") && u.path() == "/callback")
        .filter_map(|u| u.port())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_plain_seconds_and_units() {
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("60m"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("h").is_err());
    }
}
