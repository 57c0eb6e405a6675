//! "Test connection": what `latchkey doctor` and the app's profile page ask the provider, live:
//! the discovery document and its issuer, the signing keys, and the clock skew against the
//! provider's `Date` header. Each step says what it found and what to do.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{discovery_url, Provider, ProviderMetadata};
use crate::config::Profile;
use crate::http::{self, get_json, DISCOVERY_LIMIT, JWKS_LIMIT};
use crate::verify::JwkSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeStatus {
    Ok,
    Warn,
    Fail,
    Skip,
}

/// One step of a probe: `discovery`, `jwks` or `clock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeStep {
    pub name: &'static str,
    pub status: ProbeStatus,
    pub message: String,
}

/// What a probe found, step by step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
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
    let date = match jwks(profile, &client, &mut report).await {
        Some(d) if date.is_none() => Some(d),
        _ => date,
    };
    clock(profile, date, &mut report);
    report
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
    profile: &Profile,
    client: &reqwest::Client,
    report: &mut ProbeReport,
) -> Option<String> {
    let provider = match Provider::load(profile, client.clone()).await {
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
