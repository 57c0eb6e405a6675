//! `latchkey profile list` and `profile show`: the profiles as people and scripts read them,
//! and what to register at the provider for one (also printed by `profile add`).

use std::fmt;

use latchkey_core::config::{BrowserSetting, Profile, ProfileKind};
use serde::Serialize;

use crate::context::Ctx;
use crate::failure::{CliResult, Exit};
use crate::output::print_report;

/// `latchkey profile list`: a table, `--json`, or with `names` only the names (for completion).
pub fn list(ctx: &Ctx, json: bool, names: bool) -> CliResult<Exit> {
    let config = ctx.load_config()?;
    if names {
        config.profiles.keys().for_each(|name| println!("{name}"));
        return Ok(Exit::Ok);
    }
    let default = config.default_profile().ok().map(|p| p.name.clone());
    let entries = config
        .profiles
        .values()
        .map(|p| ProfileEntry {
            client_id: p.client_id.clone(),
            default: default.as_deref() == Some(p.name.as_str()),
            issuer: p.issuer(),
            kind: if p.is_cognito() { "cognito" } else { "oidc" },
            profile: p.name.clone(),
        })
        .collect();
    print_report(&ProfileList(entries), json)?;
    Ok(Exit::Ok)
}

/// What `profile list` says when there is no profile (or no file) yet: how to add one.
const NO_PROFILES_YET: &str = "\
No profiles yet. Try the built-in development provider (no account, no network):
  latchkey profile add demo --demo
  latchkey login
Or add your own provider:
  latchkey profile add NAME --cognito --region REGION --user-pool-id ID --client-id ID --domain URL
  latchkey profile add NAME --issuer URL --client-id ID
  latchkey profile add NAME --from-file FILE   (describe-user-pool-client JSON, amplify_outputs.json, aws-exports.js)
";

/// `latchkey profile list`'s report: every profile of the file, the default marked `*`.
#[derive(Serialize)]
#[serde(transparent)]
struct ProfileList(Vec<ProfileEntry>);

#[derive(Serialize)]
struct ProfileEntry {
    client_id: String,
    default: bool,
    issuer: String,
    kind: &'static str,
    /// The profile's name (`profile` in every command's JSON).
    profile: String,
}

impl fmt::Display for ProfileList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "{NO_PROFILES_YET}");
        }
        for p in &self.0 {
            let mark = if p.default { "*" } else { " " };
            writeln!(f, "{mark} {:<16} {:<8} {}", p.profile, p.kind, p.issuer)?;
        }
        Ok(())
    }
}

pub fn show(ctx: &Ctx, name: Option<String>, json: bool) -> CliResult<Exit> {
    let name = name.or_else(|| ctx.global.profile.clone());
    let config = ctx.load_config_for(name.as_deref())?;
    if let Some(f) = crate::context::no_profile(&config) {
        return Err(f);
    }
    let p = match &name {
        Some(n) => config.profile(n)?,
        None => config.default_profile()?,
    };
    let report = ProfileShow {
        default: config.default.as_deref() == Some(p.name.as_str()),
        issuer: p.issuer(),
        keychain_account: p.keychain_account(),
        profile: &p.name,
        settings: p,
        redirect_uris: p.redirect_uris(),
        sign_out_uris: p.sign_out_uris(),
    };
    print_report(&report, json)?;
    Ok(Exit::Ok)
}

/// `latchkey profile show`'s report: the profile's settings, with what follows from them
/// (issuer, callback and sign-out URLs, keychain account).
#[derive(Serialize)]
struct ProfileShow<'a> {
    #[serde(skip)]
    default: bool,
    issuer: String,
    keychain_account: String,
    /// The profile's name (`profile` in every command's JSON).
    profile: &'a str,
    /// Its settings, as in the profiles file.
    settings: &'a Profile,
    redirect_uris: Vec<String>,
    sign_out_uris: Vec<String>,
}

impl fmt::Display for ProfileShow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.settings;
        let default = if self.default { " (default)" } else { "" };
        writeln!(f, "Profile `{}`{default}", p.name)?;
        match &p.kind {
            ProfileKind::Cognito {
                region,
                user_pool_id,
                domain,
                ..
            } => {
                writeln!(f, "  kind            Amazon Cognito")?;
                writeln!(f, "  region          {region}")?;
                writeln!(f, "  user pool       {user_pool_id}")?;
                writeln!(f, "  hosted UI       {domain}")?;
            }
            ProfileKind::Oidc { .. } => writeln!(f, "  kind            OpenID Connect")?,
        }
        writeln!(f, "  issuer          {}", self.issuer)?;
        writeln!(f, "  client id       {}", p.client_id)?;
        writeln!(f, "  scopes          {}", p.scopes.join(" "))?;
        self.fmt_calls(f)?;
        writeln!(f)?;
        write!(f, "{}", Registration(p))
    }
}

impl ProfileShow<'_> {
    /// The API settings, browser command and identity pool, where set.
    fn fmt_calls(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.settings;
        if !p.api_base_urls.is_empty() {
            let origins: Vec<&str> = p.api_base_urls.iter().map(|u| u.as_str()).collect();
            writeln!(f, "  API origins     {}", origins.join(", "))?;
        }
        writeln!(
            f,
            "  API token       {:?} token, {:?} scheme",
            p.api_token, p.api_scheme
        )?;
        if p.browser != BrowserSetting::System {
            writeln!(f, "  browser         {}", p.browser)?;
        }
        if let Some(aws) = &p.aws {
            let role = aws
                .role_arn
                .as_deref()
                .map(|r| format!(", role {r}"))
                .unwrap_or_default();
            writeln!(
                f,
                "  identity pool   {} ({} flow{role})",
                aws.identity_pool_id,
                aws.flow.as_str()
            )?;
            if let Some(endpoint) = &aws.identity_endpoint {
                writeln!(f, "  identity API    {endpoint}")?;
            }
        }
        Ok(())
    }
}

/// What to register at the provider for a profile: callback and sign-out URLs (and for
/// Cognito, the grant and scopes).
pub struct Registration<'a>(pub &'a Profile);

impl fmt::Display for Registration<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        writeln!(f, "Register at the provider (app client {}):", p.client_id)?;
        if p.any_port {
            writeln!(
                f,
                "  callback URL (any loopback port, RFC 8252): {}",
                p.redirect_uris().join(", ")
            )?;
        } else {
            writeln!(f, "  Allowed callback URLs:")?;
            for u in p.redirect_uris() {
                writeln!(f, "    {u}")?;
            }
        }
        let outs = p.sign_out_uris();
        if !outs.is_empty() {
            writeln!(f, "  Allowed sign-out URLs:")?;
            for u in outs {
                writeln!(f, "    {u}")?;
            }
        }
        if p.is_cognito() {
            writeln!(
                f,
                "  Grant: authorization code; scopes: {}; no client secret.",
                p.scopes.join(" ")
            )?;
        }
        Ok(())
    }
}
