//! Calls to protected APIs with the session's token. Tokens go only to origins in the
//! profile's `api_base_urls` (unless the caller allows another origin for one call).

use std::time::{Duration, Instant};

use serde::Serialize;
use url::Url;

use crate::config::{Scheme, TokenChoice};
use crate::error::{Error, ErrorKind, Result};
use crate::session::{Session, Tokens};

/// One API call.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// `None`: the profile's `api_token` (ID token by default).
    pub token: Option<TokenChoice>,
    /// `None`: the profile's `api_scheme`.
    pub scheme: Option<Scheme>,
    /// Send the token even though the URL's origin is not in `api_base_urls`.
    pub allow_any_origin: bool,
}

impl ApiRequest {
    pub fn get(url: Url) -> Self {
        Self {
            method: "GET".into(),
            url,
            headers: vec![],
            body: None,
            token: None,
            scheme: None,
            allow_any_origin: false,
        }
    }
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(serialize_with = "ser_body")]
    pub body: Vec<u8>,
    pub elapsed: Duration,
    /// True when the call was retried once after a refresh (first answer was 401).
    pub retried_after_refresh: bool,
}

fn ser_body<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl ApiResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn origin_allowed(url: &Url, bases: &[Url]) -> bool {
    bases.iter().any(|b| b.origin() == url.origin())
}

impl Session {
    /// Send `req` with the configured token in `Authorization`; on 401 refresh once and retry.
    pub async fn call(&self, req: ApiRequest) -> Result<ApiResponse> {
        let profile = self.profile();
        if !matches!(req.url.scheme(), "http" | "https") {
            return Err(Error::new(
                ErrorKind::OriginNotAllowed,
                "only http(s) URLs can be called.",
            ));
        }
        if !req.allow_any_origin && !origin_allowed(&req.url, &profile.api_base_urls) {
            let origin = req.url.origin().ascii_serialization();
            return Err(Error::new(
                ErrorKind::OriginNotAllowed,
                format!("refusing to send a token to {origin}: it is not in this profile's `api_base_urls`. Add it there, or allow it for this call (`--allow-origin`) if you trust it."),
            ));
        }
        let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                Error::new(
                    ErrorKind::Config,
                    format!("`{}` is not an HTTP method.", req.method),
                )
            })?;
        let which = req.token.unwrap_or(profile.api_token);
        let scheme = req.scheme.unwrap_or(profile.api_scheme);

        let tokens = self.tokens().await?;
        let gen = self.current_generation();
        let first = self
            .send_once(&req, &method, &tokens, which, scheme)
            .await?;
        if first.status != 401 {
            return Ok(first);
        }
        tracing::debug!("API answered 401; refreshing once and retrying");
        let tokens = match gen {
            Some(g) => self.refresh_if_unchanged(g).await?,
            None => return Ok(first),
        };
        let mut second = self
            .send_once(&req, &method, &tokens, which, scheme)
            .await?;
        second.retried_after_refresh = true;
        Ok(second)
    }

    async fn send_once(
        &self,
        req: &ApiRequest,
        method: &reqwest::Method,
        tokens: &Tokens,
        which: TokenChoice,
        scheme: Scheme,
    ) -> Result<ApiResponse> {
        let token = match which {
            TokenChoice::Id => tokens.id_token.expose(),
            TokenChoice::Access => tokens.access_token.expose(),
        };
        let auth = match scheme {
            Scheme::Bearer => format!("Bearer {token}"),
            Scheme::Raw => token.to_owned(),
        };
        let mut rb = self.http().request(method.clone(), req.url.clone());
        for (k, v) in &req.headers {
            if !k.eq_ignore_ascii_case("authorization") {
                rb = rb.header(k, v);
            }
        }
        rb = rb.header("authorization", auth);
        if let Some(b) = &req.body {
            rb = rb.body(b.clone());
        }
        let started = Instant::now();
        let resp = rb.send().await.map_err(|e| {
            let mut err = Error::from_http("the API call", &e);
            if e.is_connect() || e.is_timeout() {
                err = Error::new(
                    ErrorKind::ProviderUnreachable,
                    format!(
                        "could not reach {} ({}). Check the URL and the network.",
                        req.url.origin().ascii_serialization(),
                        if e.is_timeout() {
                            "timed out"
                        } else {
                            "connection failed"
                        }
                    ),
                );
            }
            err
        })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::from_http("the API response", &e))?
            .to_vec();
        Ok(ApiResponse {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
            retried_after_refresh: false,
        })
    }
}
