//! The provider's signing keys, cached for as long as its `Cache-Control` says (at least the
//! re-fetch interval, at most a day), re-fetched once when a token names an unknown `kid`
//! (rate-limited: a penalty box, like aws-jwt-verify's), and kept when a re-fetch fails (the
//! keys stay the provider's last word). Times come from the verifier's clock.

use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::http::{cache_max_age, get_json, JWKS_LIMIT};
use crate::verify::{Alg, Jwk, JwkSet, KeyChoice};

/// After a re-fetch for an unknown `kid`, further re-fetches wait this long.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// The longest a JWKS is trusted without asking again, whatever `Cache-Control` says.
const MAX_CACHE_TIME: Duration = Duration::from_secs(24 * 3600);
/// How long a JWKS is kept when the provider sends no `Cache-Control`.
const DEFAULT_CACHE_TIME: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct Cached {
    set: JwkSet,
    /// When the keys were fetched and for how long they hold (seconds, verifier's clock).
    fetched_at: Option<i64>,
    ttl: i64,
    last_refetch: Option<i64>,
}

impl Cached {
    fn fresh(&self, now: i64) -> bool {
        self.fetched_at
            .is_some_and(|t| now >= t && now.saturating_sub(t) < self.ttl)
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

pub(super) struct JwksCache {
    uri: Url,
    state: tokio::sync::Mutex<Cached>,
}

impl JwksCache {
    pub(super) fn new(uri: Url) -> Self {
        Self {
            uri,
            state: tokio::sync::Mutex::new(Cached::default()),
        }
    }

    async fn fetch(&self, http: &reqwest::Client, st: &mut Cached, now: i64) -> Result<()> {
        tracing::debug!(url = %self.uri, "fetching JWKS");
        let (doc, headers) = get_json(
            http,
            &self.uri,
            "the provider's signing keys (JWKS)",
            JWKS_LIMIT,
        )
        .await?;
        st.set = JwkSet::from_value(doc).map_err(|why| {
            Error::provider(format!(
                "the provider's JWKS at {} is unusable: {why}; check the issuer.",
                self.uri
            ))
        })?;
        st.ttl = secs(
            cache_max_age(&headers)
                .unwrap_or(DEFAULT_CACHE_TIME)
                .clamp(JWKS_REFETCH_INTERVAL, MAX_CACHE_TIME),
        );
        st.fetched_at = Some(now);
        Ok(())
    }

    pub(super) async fn signing_key(
        &self,
        http: &reqwest::Client,
        kid: Option<&str>,
        alg: Alg,
        now: i64,
    ) -> Result<std::result::Result<Jwk, String>> {
        let mut st = self.state.lock().await;
        if !st.fresh(now) {
            if let Err(e) = self.fetch(http, &mut st, now).await {
                if st.fetched_at.is_none() {
                    return Err(e);
                }
                tracing::debug!(kind = ?e.kind(), "JWKS re-fetch failed; keeping the cached keys");
            }
        }
        if let KeyChoice::UnknownKid = st.set.choose(kid, alg) {
            let may_refetch = st
                .last_refetch
                .is_none_or(|t| now < t || now.saturating_sub(t) >= secs(JWKS_REFETCH_INTERVAL));
            if !may_refetch {
                return Ok(Err(format!(
                    "no key with kid `{}` in the provider's JWKS (a re-fetch is rate-limited; try again in a few seconds)",
                    kid.unwrap_or_default()
                )));
            }
            tracing::debug!("signing key not in the cached JWKS; re-fetching once");
            st.last_refetch = Some(now);
            self.fetch(http, &mut st, now).await?;
        }
        Ok(match st.set.choose(kid, alg) {
            KeyChoice::Found(key) => Ok(key.clone()),
            KeyChoice::UnknownKid => Err(format!(
                "no key with kid `{}` in the provider's JWKS (re-fetched)",
                kid.unwrap_or_default()
            )),
            KeyChoice::Refused(why) => Err(why),
        })
    }

    pub(super) async fn cached_key_count(&self) -> usize {
        self.state.lock().await.set.len()
    }
}
