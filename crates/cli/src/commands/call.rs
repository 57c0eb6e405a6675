//! `latchkey call`: a protected API call with the profile's token, or signed with its AWS
//! credentials (`--sigv4`); the origin allow-list as in the app; an answer longer than the
//! profile's `api_response_limit_mib` is cut there, and stderr (or `--json`) says so.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use latchkey_core::config::{Profile, Scheme, TokenChoice};
use latchkey_core::{resolve_api_url, ApiRequest, ApiResponse, ApiUrlError};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::agent_link;
use crate::cli::CallArgs;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::output::{print_json, to_json};

fn body_from(data: &str) -> CliResult<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                Failure::new(
                    Exit::Other,
                    format!("cannot read the request body from stdin ({e})."),
                )
            })?;
            Ok(buf)
        }
        Some(path) => std::fs::read(path).map_err(|e| {
            Failure::new(
                Exit::Other,
                format!(
                    "cannot read the request body from {path} ({e}); check the path after `-d @`."
                ),
            )
        }),
        None => Ok(data.as_bytes().to_vec()),
    }
}

fn parse_header(h: &str) -> CliResult<(String, String)> {
    match h.split_once(':') {
        Some((k, v)) if !k.trim().is_empty() && !k.trim().contains(char::is_whitespace) => {
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        }
        _ => Err(Failure::new(
            Exit::Usage,
            format!("`-H {h}` is not a header; write it as 'Name: value'."),
        )),
    }
}

pub async fn run(ctx: &Ctx, a: CallArgs) -> CliResult<Exit> {
    let profile = ctx.profile()?;
    let url = target_url(&profile, &ctx.config_path()?, &a.url)?;
    let req = request(&a, url)?;
    let resp = match through_agent(ctx, &profile, &req).await? {
        Some(resp) => resp,
        None => ctx.signed_in_session().await?.call(req).await?,
    };
    let report = CallReport::new(&resp);
    match a.json {
        true => print_json(&to_json(&report)?)?,
        false => report.write_body(&mut std::io::stdout().lock(), a.include),
    }
    if let Some(note) = resp.truncation_note() {
        eprintln!("latchkey: warning: {note}");
    }
    if a.fail && resp.status >= 400 {
        return Err(Failure::new(
            Exit::HttpStatus,
            format!("the API answered HTTP {}.", resp.status),
        ));
    }
    Ok(Exit::Ok)
}

/// The call made here with the agent's token, and on 401 once more with a renewed one; `None`
/// when no agent answers, or for SigV4 (signed with this process's credentials, as before).
async fn through_agent(
    ctx: &Ctx,
    profile: &Profile,
    req: &ApiRequest,
) -> CliResult<Option<ApiResponse>> {
    if req.scheme.unwrap_or(profile.api_scheme) == Scheme::Sigv4 {
        return Ok(None);
    }
    let which = req.token.unwrap_or(profile.api_token);
    let Some(first) = agent_link::token(ctx, &profile.name, which, 0).await? else {
        return Ok(None);
    };
    let session = ctx.session(None)?;
    let answer = session.call_once_with(req, &first.token).await?;
    if answer.status != 401 {
        return Ok(Some(answer));
    }
    tracing::debug!("API answered 401; asking the agent for a renewed token and retrying");
    let Some(renewed) = agent_link::renewed_token(ctx, &profile.name, which).await? else {
        return Ok(Some(answer));
    };
    let mut second = session.call_once_with(req, &renewed.token).await?;
    second.retried_after_refresh = true;
    Ok(Some(second))
}

/// The URL to call: `typed` itself, or a path on the profile's first API base URL (the app
/// console's rule). A path with no API base URL is a configuration error (exit 5) naming the
/// setting; a bad URL a usage error (exit 2).
fn target_url(profile: &Profile, config_file: &Path, typed: &str) -> CliResult<Url> {
    resolve_api_url(&profile.api_base_urls, typed).map_err(|e| match e {
        ApiUrlError::NoApiBaseUrl { .. } => Failure::new(
            Exit::Config,
            format!(
                "{e}. Give a full URL like https://api.example.com/me, or add the API's base URL to profile `{}`: `api_base_urls = [\"https://api.example.com/\"]` in its table of {}.",
                profile.name,
                config_file.display()
            ),
        ),
        ApiUrlError::Invalid { .. } => Failure::new(
            Exit::Usage,
            format!("{e}; give a full URL like https://api.example.com/me, or a path like /me."),
        ),
    })
}

/// The request the flags describe, to `url`; a usage error (exit 2) for a bad header or
/// method.
fn request(a: &CallArgs, url: Url) -> CliResult<ApiRequest> {
    let headers = a
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<CliResult<Vec<_>>>()?;
    let body = a.data.as_deref().map(body_from).transpose()?;
    let method = match &a.method {
        Some(m) => m.to_ascii_uppercase(),
        None if body.is_some() => "POST".to_owned(),
        None => "GET".to_owned(),
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(Failure::new(
            Exit::Usage,
            format!(
                "`{method}` is not an HTTP method; use e.g. -X GET, -X POST, -X PUT, -X DELETE."
            ),
        ));
    }
    Ok(ApiRequest {
        method,
        url,
        headers,
        body,
        token: if a.access {
            Some(TokenChoice::Access)
        } else if a.id {
            Some(TokenChoice::Id)
        } else {
            None
        },
        scheme: if a.sigv4 {
            Some(Scheme::Sigv4)
        } else if a.bearer {
            Some(Scheme::Bearer)
        } else if a.raw {
            Some(Scheme::Raw)
        } else {
            None
        },
        aws_service: a.sigv4.then(|| a.service.clone()),
        aws_region: a.region.clone(),
        allow_any_origin: a.allow_any_origin,
        token_header: None,
        timeout: None,
    })
}

/// `latchkey call`'s report: the API's answer. As JSON, the body is parsed when it is JSON
/// (else text); for people, the body goes out as the bytes received (it may be a file, so it
/// is no `Display`), after the status and headers with `-i`.
#[derive(Serialize)]
struct CallReport<'a> {
    body: Value,
    elapsed_ms: u64,
    /// The answer's headers by lower-case name.
    headers: BTreeMap<String, HeaderValues<'a>>,
    /// The first answer refused the credentials (401 for a token; 403 for expired AWS
    /// credentials): they were renewed and the request sent once more; this is that answer.
    retried_after_refresh: bool,
    status: u16,
    truncated: bool,
    /// The headers as received, for `-i`.
    #[serde(skip)]
    received_headers: &'a [(String, String)],
    #[serde(skip)]
    raw_body: &'a [u8],
}

/// A header's value: a string, or an array of strings, in the order received, when the
/// answer repeated the header (`set-cookie`).
#[derive(Serialize)]
#[serde(untagged)]
enum HeaderValues<'a> {
    One(&'a str),
    Repeated(Vec<&'a str>),
}

/// The headers by lower-case name; a repeated header's values as one array.
fn headers_by_name(received: &[(String, String)]) -> BTreeMap<String, HeaderValues<'_>> {
    let mut by_name: BTreeMap<String, HeaderValues<'_>> = BTreeMap::new();
    for (name, value) in received {
        let values = by_name
            .entry(name.to_ascii_lowercase())
            .and_modify(|seen| {
                if let HeaderValues::One(first) = *seen {
                    *seen = HeaderValues::Repeated(vec![first]);
                }
            })
            .or_insert(HeaderValues::One(value));
        if let HeaderValues::Repeated(all) = values {
            all.push(value);
        }
    }
    by_name
}

impl<'a> CallReport<'a> {
    fn new(resp: &'a ApiResponse) -> Self {
        CallReport {
            body: serde_json::from_slice(&resp.body).unwrap_or_else(|_| Value::String(resp.text())),
            elapsed_ms: resp.elapsed.as_millis() as u64,
            headers: headers_by_name(&resp.headers),
            retried_after_refresh: resp.retried_after_refresh,
            status: resp.status,
            truncated: resp.truncated,
            received_headers: &resp.headers,
            raw_body: &resp.body,
        }
    }

    /// The body as received (`include`: after `HTTP status` and the headers); a newline is
    /// added on a terminal when the body does not end with one.
    fn write_body(&self, out: &mut impl Write, include: bool) {
        if include {
            let _ = writeln!(out, "HTTP {}", self.status);
            for (k, v) in self.received_headers {
                let _ = writeln!(out, "{k}: {v}");
            }
            let _ = writeln!(out);
        }
        let _ = out.write_all(self.raw_body);
        if !self.raw_body.ends_with(b"\n") && std::io::stdout().is_terminal() {
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }
}
