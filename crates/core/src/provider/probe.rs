//! "Test connection": what `latchkey doctor` and the app's profile page ask the provider, live:
//! the discovery document and its issuer, the signing keys, the clock skew against the
//! provider's `Date` header and, for Cognito, whether each callback URL is registered (an
//! authorize request without a browser). Each step says what it found and what to do.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{discovery_url, Provider, ProviderMetadata};
use crate::authorize::Entry;
use crate::config::Profile;
use crate::http::{self, get_json, DISCOVERY_LIMIT, JWKS_LIMIT};
use crate::verify::JwkSet;

/// How one probe step came out. Serialised in lowercase (`ok`, `warn`, `fail`, `skip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeStatus {
    /// The step found what sign-in needs.
    Ok,
    /// Not a failure, but worth fixing or not fully checked: the clock is off by more than half
    /// the leeway, or a callback URL could not be checked (no answer, or no redirect).
    Warn,
    /// The step found what breaks sign-in (unreachable discovery or JWKS, no usable key, a clock
    /// off by more than the leeway, an unregistered callback URL); [`ProbeReport::ok`] is false.
    Fail,
    /// The step does not apply or has nothing to compare: callback URLs of a provider other
    /// than Cognito, or no `Date` header for the clock.
    Skip,
}

/// One step of a probe: `discovery`, `jwks`, `clock` or `callback` (one per callback URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeStep {
    /// Which step: `discovery`, `jwks`, `clock` or `callback`.
    pub name: &'static str,
    /// `fail` makes [`ProbeReport::ok`] false; `warn` and `skip` do not.
    pub status: ProbeStatus,
    /// What the step found and what to do, for people; a `callback` step's starts with its URL.
    pub message: String,
}

/// What a probe found, step by step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// The steps in the order they ran: `discovery`, `jwks`, `clock`, then one `callback` per
    /// callback URL (or one `skip` for a provider other than Cognito).
    pub steps: Vec<ProbeStep>,
}

impl ProbeReport {
    fn add(&mut self, name: &'static str, status: ProbeStatus, message: impl Into<String>) {
        self.steps.push(ProbeStep {
            name,
            status,
            message: message.into(),
        });
    }
    /// No step failed.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.status != ProbeStatus::Fail)
    }
}

/// Ask the profile's provider, live (at most 15 s per request).
pub async fn probe(profile: &Profile) -> ProbeReport {
    let mut report = ProbeReport::default();
    let client = match http::client(profile.http_timeout.min(Duration::from_secs(15))) {
        Ok(c) => c,
        Err(e) => {
            report.add("discovery", ProbeStatus::Fail, e.message());
            return report;
        }
    };
    let date = discovery(profile, &client, &mut report).await;
    let provider = Provider::load(profile, client.clone()).await;
    let date = match jwks(&provider, &client, &mut report).await {
        Some(d) if date.is_none() => Some(d),
        _ => date,
    };
    clock(profile, date, &mut report);
    if let Ok(provider) = &provider {
        callbacks(profile, &provider.metadata, &client, &mut report).await;
    }
    report
}

/// For each callback URL, an authorize request as the sign-in would send it, without a
/// browser and without following the answer: Cognito redirects an unregistered URL to its
/// `/error?error=redirect_mismatch` page (the commonest set-up mistake, otherwise found only
/// when a sign-in times out), a registered one to its login page, and a refused request
/// (grant type or scope not enabled for the client) back to the URL with `error=`.
async fn callbacks(
    profile: &Profile,
    metadata: &ProviderMetadata,
    client: &reqwest::Client,
    report: &mut ProbeReport,
) {
    if !profile.is_cognito() {
        return report.add(
            "callback",
            ProbeStatus::Skip,
            "only Cognito's answer tells whether a callback URL is registered; check the client's redirect URIs at the provider",
        );
    }
    for uri in profile.redirect_uris() {
        let (status, message) = callback(profile, metadata, client, &uri).await;
        report.add("callback", status, message);
    }
}

async fn callback(
    profile: &Profile,
    metadata: &ProviderMetadata,
    client: &reqwest::Client,
    uri: &str,
) -> (ProbeStatus, String) {
    let request = match crate::authorize::build_request(metadata, profile, uri, Entry::SignIn, &[])
    {
        Ok(r) => r,
        Err(e) => return (ProbeStatus::Fail, format!("{uri}: {}", e.message())),
    };
    let answer = match client.get(request.url.clone()).send().await {
        Ok(a) => a,
        Err(e) => {
            let e = crate::error::Error::from_http("the authorize endpoint", &e);
            return (
                ProbeStatus::Warn,
                format!("{uri}: not checked: {}", e.message()),
            );
        }
    };
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| request.url.join(l).ok());
    let Some(location) = location.filter(|_| answer.status().is_redirection()) else {
        return (
            ProbeStatus::Warn,
            format!(
                "{uri}: not checked: the authorize endpoint answered HTTP {} instead of a redirect",
                answer.status().as_u16()
            ),
        );
    };
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let to_app = location.as_str().starts_with(uri);
    match (to_app, param("error")) {
        (false, Some(error)) if location.path().ends_with("/error") => {
            let message = match error.as_str() {
                "redirect_mismatch" => format!(
                    "{uri} is not registered for app client {}: add it to the app client's Allowed callback URLs (Cognito console: App client → Login pages); the match is exact, port and path included",
                    profile.client_id
                ),
                other => format!(
                    "{uri}: the provider refused the sign-in request on its error page ({other}); check the app client id"
                ),
            };
            (ProbeStatus::Fail, message)
        }
        (true, Some(error)) => {
            let description = param("error_description").unwrap_or_default();
            let hint = match error.as_str() {
                "unauthorized_client" => " Enable the Authorization code grant for the app client.",
                "invalid_scope" => " Allow the profile's scopes for the app client, or remove the ones it does not have.",
                _ => "",
            };
            (
                ProbeStatus::Fail,
                format!("{uri} is registered, but the provider refused the sign-in request: {error} {description}.{hint}"),
            )
        }
        _ => (ProbeStatus::Ok, format!("{uri} is registered")),
    }
}

/// Returns the provider's `Date` header, when it sent one.
async fn discovery(
    profile: &Profile,
    client: &reqwest::Client,
    report: &mut ProbeReport,
) -> Option<String> {
    let issuer = profile.issuer();
    let url = match discovery_url(&issuer) {
        Ok(u) => u,
        Err(e) => {
            report.add("discovery", ProbeStatus::Fail, e.message());
            return None;
        }
    };
    let started = Instant::now();
    match get_json(client, &url, "the discovery document", DISCOVERY_LIMIT).await {
        Err(e) => {
            report.add(
                "discovery",
                ProbeStatus::Fail,
                format!(
                    "{url}: {} (Cognito: check the region and user pool id.)",
                    e.message()
                ),
            );
            None
        }
        Ok((doc, headers)) => {
            match ProviderMetadata::from_discovery(&doc, &issuer) {
                Ok(_) => report.add(
                    "discovery",
                    ProbeStatus::Ok,
                    format!(
                        "{url} reachable; issuer matches ({} ms)",
                        started.elapsed().as_millis()
                    ),
                ),
                Err(e) => report.add("discovery", ProbeStatus::Fail, e.message()),
            }
            header(&headers, "date")
        }
    }
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn jwks(
    provider: &crate::error::Result<Provider>,
    client: &reqwest::Client,
    report: &mut ProbeReport,
) -> Option<String> {
    let provider = match provider {
        Ok(p) => p,
        Err(e) => {
            report.add(
                "jwks",
                ProbeStatus::Fail,
                format!("cannot load the provider's endpoints: {}", e.message()),
            );
            return None;
        }
    };
    let uri = &provider.metadata.jwks_uri;
    match get_json(client, uri, "the signing keys (JWKS)", JWKS_LIMIT).await {
        Err(e) => {
            report.add(
                "jwks",
                ProbeStatus::Fail,
                format!("{uri}: {} Tokens cannot be verified.", e.message()),
            );
            None
        }
        Ok((doc, headers)) => {
            match JwkSet::from_value(doc) {
                Ok(set) if set.is_empty() => report.add(
                    "jwks",
                    ProbeStatus::Fail,
                    format!("{uri} lists no usable signing key; tokens cannot be verified."),
                ),
                Ok(set) => report.add(
                    "jwks",
                    ProbeStatus::Ok,
                    format!(
                        "{uri}: {} signing key(s){}",
                        set.len(),
                        if set.skipped() > 0 {
                            format!(
                                ", {} skipped (unknown type or not for signatures)",
                                set.skipped()
                            )
                        } else {
                            String::new()
                        }
                    ),
                ),
                Err(why) => report.add("jwks", ProbeStatus::Fail, format!("{uri}: {why}.")),
            }
            header(&headers, "date")
        }
    }
}

fn clock(profile: &Profile, date: Option<String>, report: &mut ProbeReport) {
    let Some(theirs) = date
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
    else {
        return report.add(
            "clock",
            ProbeStatus::Skip,
            "the provider sent no Date header to compare with",
        );
    };
    let skew = chrono::Utc::now().timestamp() - theirs.timestamp();
    let leeway = profile.clock_leeway.as_secs() as i64;
    let direction = if skew > 0 { "ahead of" } else { "behind" };
    if skew.abs() <= leeway.max(5) / 2 {
        report.add(
            "clock",
            ProbeStatus::Ok,
            format!(
                "this computer's clock is within {} s of the provider's",
                skew.abs().max(1)
            ),
        );
    } else if skew.abs() <= leeway {
        report.add("clock", ProbeStatus::Warn, format!("this computer's clock is {} s {direction} the provider's (leeway {leeway} s). Enable automatic time sync.", skew.abs()));
    } else {
        report.add("clock", ProbeStatus::Fail, format!("this computer's clock is {} s {direction} the provider's, more than the {leeway} s leeway: tokens will look expired or not yet valid. Enable automatic time sync (e.g. `timedatectl set-ntp true`).", skew.abs()));
    }
}
