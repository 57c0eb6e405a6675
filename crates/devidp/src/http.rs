//! Plain request/response values the handlers work with, independent of the server crate:
//! query/form/cookie parsing and reply builders (JSON, HTML, redirects).

use serde_json::Value;

/// One HTTP request, fully read.
pub(crate) struct Incoming {
    pub(crate) method: String,
    pub(crate) path: String,
    /// The query string exactly as received (without `?`).
    pub(crate) raw_query: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Incoming {
    pub(crate) fn new(
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Self {
        let (path, raw_query) = url.split_once('?').unwrap_or((url, ""));
        Incoming {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            raw_query: raw_query.to_string(),
            query: parse_urlencoded(raw_query.as_bytes()),
            headers,
            body,
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as form fields, if the content type is `application/x-www-form-urlencoded`.
    pub(crate) fn form(&self) -> Option<Vec<(String, String)>> {
        let content_type = self.header("content-type")?;
        let media = content_type.split(';').next()?.trim();
        media
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            .then(|| parse_urlencoded(&self.body))
    }

    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

pub(crate) fn parse_urlencoded(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// The first value of `name` among parameters; an empty value counts as absent.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub(crate) fn encode_query(params: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// One HTTP response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn new(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Reply::new(status)
            .header("Content-Type", "application/json;charset=UTF-8")
            .header("Cache-Control", "no-store")
            .body(value.to_string().into_bytes())
    }

    /// An OAuth error body `{"error", "error_description"}`.
    pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Self {
        Reply::json(
            status,
            &serde_json::json!({"error": error, "error_description": description}),
        )
    }

    pub(crate) fn html(status: u16, page: String) -> Self {
        Reply::new(status)
            .header("Content-Type", "text/html;charset=UTF-8")
            .header("Cache-Control", "no-store")
            .header(
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
            )
            .header("X-Frame-Options", "DENY")
            .header("Referrer-Policy", "no-referrer")
            .body(page.into_bytes())
    }

    pub(crate) fn redirect(location: &str) -> Self {
        Reply::new(302)
            .header("Location", location)
            .header("Cache-Control", "no-store")
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Removes every header called `name` (case-insensitively).
    pub(crate) fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    /// Sets `name` to `value`, replacing any earlier value.
    pub(crate) fn replace_header(self, name: &str, value: &str) -> Self {
        self.without_header(name).header(name, value)
    }

    pub(crate) fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }
}

/// Compares two secrets in time that depends on their lengths only.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Appends parameters to a URL's query string (keeping any query it already has).
pub(crate) fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => {
            let sep = if base.contains('?') { '&' } else { '?' };
            let owned: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            format!("{base}{sep}{}", encode_query(&owned))
        }
    }
}
