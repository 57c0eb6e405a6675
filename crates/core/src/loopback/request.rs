//! The loopback listener's HTTP: a strict, bounded parser for the request head (pure, so it is
//! fuzzed) and the small self-contained pages it answers with.

use std::fmt;

use crate::secret::SecretToken;

/// The largest request head (request line + headers) read from a connection.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// The most header lines accepted.
const MAX_HEADERS: usize = 64;

/// The parts of a request the listener looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method as sent (uppercase ASCII letters only); the listener serves only `GET`.
    pub method: String,
    /// The request target (`/callback?code=…`). Never logged: it carries the code and state.
    pub target: String,
    /// The `Host` header, lower-cased.
    pub host: Option<String>,
    /// The `Authorization` header as sent, trimmed (`latchkey aws serve`'s bearer token).
    pub authorization: Option<SecretToken>,
}

/// Why a request head was refused (the status to answer with, and a reason for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// More than [`MAX_HEAD_BYTES`] without the end of the head: 431.
    TooLarge,
    /// Not a well-formed HTTP/1.x request head: 400.
    Malformed(&'static str),
}

impl HeadError {
    /// The HTTP status to answer with: 431 for [`HeadError::TooLarge`], 400 for
    /// [`HeadError::Malformed`].
    pub fn status(self) -> u16 {
        match self {
            HeadError::TooLarge => 431,
            HeadError::Malformed(_) => 400,
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::TooLarge => write!(f, "request head over {MAX_HEAD_BYTES} bytes"),
            HeadError::Malformed(why) => f.write_str(why),
        }
    }
}

/// Where the head ends (`\r\n\r\n`), if it does within the bytes read so far.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parse a complete request head (up to and including the blank line).
pub fn parse_head(head: &[u8]) -> Result<RequestHead, HeadError> {
    if head.len() > MAX_HEAD_BYTES {
        return Err(HeadError::TooLarge);
    }
    let text = std::str::from_utf8(head).map_err(|_| HeadError::Malformed("not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed("bad request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HeadError::Malformed("bad method"));
    }
    if !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(HeadError::Malformed("bad request target"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HeadError::Malformed("not HTTP/1.x"));
    }
    let mut host = None;
    let mut authorization = None;
    let mut count = 0;
    for line in lines.take_while(|l| !l.is_empty()) {
        count += 1;
        if count > MAX_HEADERS {
            return Err(HeadError::TooLarge);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(HeadError::Malformed("bad header line"))?;
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(HeadError::Malformed("bad header name"));
        }
        if name.eq_ignore_ascii_case("host") {
            if host.is_some() {
                return Err(HeadError::Malformed("two Host headers"));
            }
            host = Some(value.trim().to_ascii_lowercase());
        }
        if name.eq_ignore_ascii_case("authorization") {
            if authorization.is_some() {
                return Err(HeadError::Malformed("two Authorization headers"));
            }
            authorization = Some(SecretToken::new(value.trim()));
        }
    }
    Ok(RequestHead {
        method: method.to_owned(),
        target: target.to_owned(),
        host,
        authorization,
    })
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem;color:#222}h1{font-size:1.4rem}";

/// A small self-contained page. It says `Connection: close` (a browser that kept the
/// connection open would later send the next request to a listener nobody reads), no
/// referrer, no caching, no scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: u16,
    pub title: &'static str,
    pub text: &'static str,
    /// A `302 Found` to this URL instead of the page (status, title and text are ignored).
    pub redirect: Option<String>,
}

impl Page {
    pub const fn new(status: u16, title: &'static str, text: &'static str) -> Page {
        Page {
            status,
            title,
            text,
            redirect: None,
        }
    }

    /// Send the browser on to `to`.
    pub fn redirect(to: &str) -> Page {
        Page {
            redirect: Some(to.to_owned()),
            ..Page::new(302, "Latchkey", "Continue to the sign-in page.")
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        if let Some(to) = &self.redirect {
            return format!(
                "HTTP/1.1 302 Found\r\n\
                 Location: {to}\r\n\
                 Content-Length: 0\r\n\
                 Referrer-Policy: no-referrer\r\n\
                 Cache-Control: no-store\r\n\
                 Connection: close\r\n\r\n"
            )
            .into_bytes();
        }
        let Page {
            status,
            title,
            text,
            ..
        } = self;
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>{PAGE_STYLE}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>"
        );
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            410 => "Gone",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Error",
        };
        format!(
            "HTTP/1.1 {status} {reason}\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             Content-Length: {}\r\n\
             Referrer-Policy: no-referrer\r\n\
             Cache-Control: no-store\r\n\
             X-Content-Type-Options: nosniff\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_request_head_parses() {
        let head =
            b"GET /callback?code=c&state=s HTTP/1.1\r\nHost: LocalHost:5\r\nAccept: */*\r\n\r\n";
        let req = parse_head(head).unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/callback?code=c&state=s");
        assert_eq!(req.host.as_deref(), Some("localhost:5"));
        assert_eq!(req.authorization, None);
        assert_eq!(head_end(head), Some(head.len()));
    }

    #[test]
    fn malformed_and_oversized_heads_are_refused() {
        for bad in [
            &b"GET http://evil/ HTTP/1.1\r\n\r\n"[..],
            b"GET /a HTTP/2\r\n\r\n",
            b"get /a HTTP/1.1\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET /a HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ] {
            assert!(
                matches!(parse_head(bad), Err(HeadError::Malformed(_))),
                "{bad:?}"
            );
        }
        let many = "X-A: b\r\n".repeat(MAX_HEADERS + 1);
        let head = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse_head(head.as_bytes()), Err(HeadError::TooLarge));
        let huge = vec![b'a'; MAX_HEAD_BYTES + 1];
        assert_eq!(parse_head(&huge), Err(HeadError::TooLarge));
    }
}
