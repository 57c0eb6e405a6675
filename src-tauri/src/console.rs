//! The API console's memory: requests saved by name and the history of sent ones, per profile,
//! in `<app data>/profiles/<profile>/console.json`. Nothing stored ever holds a credential:
//! credential headers and query parameters, URL user-info, any JWT-looking text and the exact
//! values the session holds are removed before writing. Also "copy as curl", whose command
//! reads the token from `latchkey` when it runs and never puts it on a command line.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use latchkey_core::config::{Scheme, TokenChoice};
use latchkey_core::HeldSecrets;
use serde::{Deserialize, Serialize};

/// How many sent requests the history keeps (the oldest go first).
pub const HISTORY_LIMIT: usize = 200;

/// One request of the console, as the window sends, saves and re-runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleRequest {
    pub method: String,
    /// Absolute, or relative to the profile's first API base URL.
    pub url: String,
    /// Query parameters added to the URL's own.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
    pub token: TokenChoice,
    pub scheme: Scheme,
    /// The header the token goes in (API Gateway's "Token Source").
    pub token_header: String,
    /// Give up after this many seconds.
    pub timeout_secs: u64,
    /// With SigV4: the signing name (`None`: `execute-api`) and region (`None`: the pool's).
    #[serde(default)]
    pub aws_service: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedRequest {
    pub name: String,
    pub request: ConsoleRequest,
}

/// One sent request and what came of it (the response body is not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at_ms: u64,
    pub request: ConsoleRequest,
    pub status: Option<u16>,
    pub elapsed_ms: u64,
    pub size_bytes: u64,
    /// Why it got no answer (cancelled, timed out, refused).
    pub error: Option<String>,
}

/// Everything the console remembers for one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleData {
    #[serde(default)]
    pub saved: Vec<SavedRequest>,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

/// The console file of one profile.
pub struct ConsoleStore {
    path: PathBuf,
}

impl ConsoleStore {
    /// The store of `profile` under the app's data directory.
    pub fn of(data_dir: &Path, profile: &str) -> ConsoleStore {
        ConsoleStore {
            path: data_dir
                .join("profiles")
                .join(folder_name(profile))
                .join("console.json"),
        }
    }

    /// What is stored; nothing yet, or an unreadable file, is an empty console (a broken file
    /// is kept aside as `console.json.broken`, not overwritten).
    pub fn load(&self) -> ConsoleData {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return ConsoleData::default();
        };
        match serde_json::from_str(&text) {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(target: "latchkey_app", "{} is not a console file ({e}); starting an empty one and keeping it as console.json.broken", self.path.display());
                let _ = std::fs::rename(&self.path, self.path.with_extension("json.broken"));
                ConsoleData::default()
            }
        }
    }

    /// Saves `request` as `name` (replacing one of that name), without any credential (nor
    /// any of the `held` values).
    pub fn save_request(
        &self,
        name: &str,
        request: &ConsoleRequest,
        held: &HeldSecrets,
    ) -> std::io::Result<ConsoleData> {
        let mut data = self.load();
        let saved = SavedRequest {
            name: name.trim().to_owned(),
            request: scrubbed(request, held),
        };
        match data.saved.iter_mut().find(|s| s.name == saved.name) {
            Some(existing) => *existing = saved,
            None => data.saved.push(saved),
        }
        self.write(&data)?;
        Ok(data)
    }

    pub fn delete_request(&self, name: &str) -> std::io::Result<ConsoleData> {
        let mut data = self.load();
        data.saved.retain(|s| s.name != name);
        self.write(&data)?;
        Ok(data)
    }

    /// Adds a sent request (without any credential, nor any of the `held` values) to the
    /// front of the history.
    pub fn record(
        &self,
        mut entry: HistoryEntry,
        held: &HeldSecrets,
    ) -> std::io::Result<ConsoleData> {
        let mut data = self.load();
        entry.request = scrubbed(&entry.request, held);
        entry.error = entry.error.map(|e| scrub_text(&e, held));
        data.history.insert(0, entry);
        data.history.truncate(HISTORY_LIMIT);
        self.write(&data)?;
        Ok(data)
    }

    pub fn clear_history(&self) -> std::io::Result<ConsoleData> {
        let mut data = self.load();
        data.history.clear();
        self.write(&data)?;
        Ok(data)
    }

    /// Writes through a temporary file and a rename, readable by this user only.
    fn write(&self, data: &ConsoleData) -> std::io::Result<()> {
        let dir = self.path.parent().expect("a file in a folder");
        std::fs::create_dir_all(dir)?;
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(data).map_err(std::io::Error::other)?;
        #[cfg(unix)]
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        #[cfg(not(unix))]
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// A profile name as a folder name: letters, digits, `-` and `_` as they are, anything else as
/// `%XX` (so two names never share a folder and none can climb out with `..`).
fn folder_name(profile: &str) -> String {
    let mut out = String::new();
    for b in profile.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

/// Header names whose values are credentials: never stored (compared case-insensitively).
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-amz-security-token",
    "x-api-key",
    "x-auth-token",
];
/// Query parameters whose values are credentials: never stored (names compared decoded and
/// case-insensitively). OAuth tokens, API keys, passwords, and the signature parts of AWS
/// presigned URLs and of other signed URLs (`sig`, `signature`).
const CREDENTIAL_PARAMS: &[&str] = &[
    "access_token",
    "id_token",
    "refresh_token",
    "token",
    "api_key",
    "apikey",
    "key",
    "client_secret",
    "password",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

fn is_credential_header(name: &str, token_header: &str) -> bool {
    name.trim().eq_ignore_ascii_case(token_header)
        || CREDENTIAL_HEADERS
            .iter()
            .any(|c| name.trim().eq_ignore_ascii_case(c))
}

fn is_credential_param(name: &str) -> bool {
    let decoded = url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default();
    CREDENTIAL_PARAMS
        .iter()
        .any(|c| decoded.trim().eq_ignore_ascii_case(c))
}

/// `request` without any credential: the token's header and the credential headers dropped,
/// credential query parameters dropped (from the URL and the editor's list), the URL's
/// user-info dropped, and any JWT-looking text and any `held` value replaced, wherever it is.
pub fn scrubbed(request: &ConsoleRequest, held: &HeldSecrets) -> ConsoleRequest {
    let text = |t: &str| scrub_text(t, held);
    ConsoleRequest {
        method: request.method.clone(),
        url: scrub_url(&request.url, held),
        params: request
            .params
            .iter()
            .filter(|(k, _)| !is_credential_param(k))
            .map(|(k, v)| (text(k), text(v)))
            .collect(),
        headers: request
            .headers
            .iter()
            .filter(|(k, _)| !is_credential_header(k, &request.token_header))
            .map(|(k, v)| (text(k), text(v)))
            .collect(),
        body: request.body.as_deref().map(text),
        token: request.token,
        scheme: request.scheme,
        token_header: request.token_header.clone(),
        timeout_secs: request.timeout_secs,
        aws_service: request.aws_service.clone(),
        aws_region: request.aws_region.clone(),
    }
}

/// A URL as typed (absolute or relative) without user-info and without credential
/// parameters in its query or fragment (`#access_token=…`), then scrubbed as text.
fn scrub_url(raw: &str, held: &HeldSecrets) -> String {
    let url = without_user_info(raw);
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url.as_ref(), None),
    };
    let (base, query) = match rest.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (rest, None),
    };
    let mut out = base.to_owned();
    for (mark, part) in [('?', query), ('#', fragment)] {
        if let Some(kept) = part
            .map(without_credential_params)
            .filter(|p| !p.is_empty())
        {
            out.push(mark);
            out.push_str(&kept);
        }
    }
    scrub_text(&out, held)
}

/// `scheme://user:password@host/…` without its `user:password@`.
fn without_user_info(raw: &str) -> Cow<'_, str> {
    let Some(scheme_end) = raw.find("://") else {
        return Cow::Borrowed(raw);
    };
    let authority_start = scheme_end + 3;
    let authority = raw[authority_start..]
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    match authority.rfind('@') {
        Some(at) => Cow::Owned(format!(
            "{}{}",
            &raw[..authority_start],
            &raw[authority_start + at + 1..]
        )),
        None => Cow::Borrowed(raw),
    }
}

/// `a=1&token=x&b=2` without its credential pairs: `a=1&b=2`.
fn without_credential_params(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !is_credential_param(pair.split('=').next().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("&")
}

/// What replaces a token found in stored text.
pub const REMOVED: &str = "<token removed>";

/// `text` with every `held` value and every JWT-looking run replaced by [`REMOVED`].
pub fn scrub_text(text: &str, held: &HeldSecrets) -> String {
    without_jwts(&held.redact(text, REMOVED))
}

/// `text` with every JWT-looking run (`eyJ…` with two or four dots: a JWS or a JWE) replaced.
fn without_jwts(text: &str) -> String {
    let is_part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let run_len = rest[start..]
            .find(|c: char| !is_part(c))
            .unwrap_or(rest.len() - start);
        let run = &rest[start..start + run_len];
        let dots = run.matches('.').count();
        if (dots == 2 || dots == 4) && run.len() > 20 {
            out.push_str(REMOVED);
        } else {
            out.push_str(run);
        }
        rest = &rest[start + run_len..];
    }
    out.push_str(rest);
    out
}

/// The request as a `curl` command for bash (or zsh) that can be shared and re-run without
/// holding a secret, and that puts none on a command line when it runs (where any local user
/// could read it in `/proc/PID/cmdline`): the token's header is read by curl from a process
/// substitution (`-H @<(printf …)`, `printf` being a shell builtin) filled by `latchkey
/// token`; for SigV4, `latchkey aws credentials` is read in a subshell, so the AWS variables
/// end with the command, and curl reads the key pair as a config file (`-K <(printf …)`).
/// `pool_region` is the identity pool's region, the SigV4 default; `held` values never appear.
pub fn curl_command(
    request: &ConsoleRequest,
    url: &url::Url,
    profile: &str,
    pool_region: Option<&str>,
    held: &HeldSecrets,
) -> String {
    let mut parts = vec!["curl".to_owned()];
    if !request.method.eq_ignore_ascii_case("GET") {
        parts.push(format!(
            "-X {}",
            single_quoted(&request.method.to_ascii_uppercase())
        ));
    }
    let replaced = match request.scheme {
        Scheme::Bearer | Scheme::Raw => {
            parts.push(token_header_from_cli(request, profile));
            request.token_header.as_str()
        }
        Scheme::Sigv4 => {
            parts.extend(sigv4_from_environment(request, pool_region));
            "authorization"
        }
    };
    for (name, v) in scrubbed(request, held)
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case(replaced))
    {
        parts.push(format!("-H {}", single_quoted(&format!("{name}: {v}"))));
    }
    if let Some(body) = request.body.as_deref().filter(|b| !b.is_empty()) {
        parts.push(format!(
            "--data-raw {}",
            single_quoted(&scrub_text(body, held))
        ));
    }
    parts.push(single_quoted(&scrub_url(url.as_str(), held)));
    match request.scheme {
        Scheme::Sigv4 => format!(
            "(\n  eval \"$(latchkey aws credentials --profile {} --format env)\"\n  {}\n)",
            single_quoted(profile),
            parts.join(" \\\n    ")
        ),
        _ => parts.join(" \\\n  "),
    }
}

/// `-H @<(printf '%s: Bearer %s\n' 'Authorization' "$(latchkey token …)")`: curl reads the
/// header from a pipe; the token passes through no program's arguments.
fn token_header_from_cli(request: &ConsoleRequest, profile: &str) -> String {
    let token = format!(
        "\"$(latchkey token --profile {}{})\"",
        single_quoted(profile),
        match request.token {
            TokenChoice::Id => "",
            TokenChoice::Access => " --access",
        }
    );
    let format = match request.scheme {
        Scheme::Bearer => "'%s: Bearer %s\\n'",
        _ => "'%s: %s\\n'",
    };
    format!(
        "-H @<(printf {format} {} {token})",
        single_quoted(&request.token_header)
    )
}

/// curl's SigV4 options, with the key pair and session token read from the environment the
/// command's subshell set, through pipes (never as arguments).
fn sigv4_from_environment(request: &ConsoleRequest, pool_region: Option<&str>) -> [String; 3] {
    let region = request
        .aws_region
        .as_deref()
        .or(pool_region)
        .unwrap_or("us-east-1");
    let service = request.aws_service.as_deref().unwrap_or("execute-api");
    [
        format!(
            "--aws-sigv4 {}",
            single_quoted(&format!("aws:amz:{region}:{service}"))
        ),
        r#"-K <(printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY")"#
            .to_owned(),
        r#"-H @<(printf 'x-amz-security-token: %s\n' "$AWS_SESSION_TOKEN")"#.to_owned(),
    ]
}

/// `'text'`, with each `'` written as `'\''`.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLWJ5dGVz";
    /// Credentials of shapes no pattern recognises: only their held values find them.
    const OPAQUE_ACCESS: &str = "ya29.opaque-access-token-Qx7";
    const REFRESH: &str = "opaque-refresh-token-Zr41";
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecretKEY";
    const AWS_SESSION: &str = "IQoJb3JpZ2luX2VjEJr//////////sessionTOKEN==";

    fn held() -> HeldSecrets {
        HeldSecrets::new([OPAQUE_ACCESS, REFRESH, AWS_SECRET, AWS_SESSION].map(str::to_owned))
    }

    fn none() -> HeldSecrets {
        HeldSecrets::default()
    }

    fn request() -> ConsoleRequest {
        ConsoleRequest {
            method: "POST".into(),
            url: format!("/demo-api/orders?access_token={JWT}&page=2"),
            params: vec![("q".into(), "it's".into()), ("id_token".into(), "x".into())],
            headers: vec![
                ("Authorization".into(), format!("Bearer {JWT}")),
                ("X-Api-Token".into(), JWT.into()),
                ("Cookie".into(), "session=1".into()),
                ("Accept".into(), "application/json".into()),
                ("X-Trace".into(), format!("token={JWT};")),
            ],
            body: Some(format!("{{\"token\": \"{JWT}\", \"n\": 1}}")),
            token: TokenChoice::Id,
            scheme: Scheme::Raw,
            token_header: "X-Api-Token".into(),
            timeout_secs: 30,
            aws_service: None,
            aws_region: None,
        }
    }

    /// A request carrying every kind of credential the console must not keep.
    fn request_with_every_credential() -> ConsoleRequest {
        let session_in_query: String =
            url::form_urlencoded::byte_serialize(AWS_SESSION.as_bytes()).collect();
        ConsoleRequest {
            url: format!(
                "https://alice:cred-01@api.example.com/orders?X-Amz-Signature=cred-02&X-Amz-Credential=ASIA%2Fcred-03&SIG=cred-04&Key=cred-05&api_key=cred-06&Token=cred-07&s={session_in_query}&page=2#access_token=cred-08&tab=1"
            ),
            params: vec![
                ("API_KEY".into(), "cred-09".into()),
                ("sig".into(), "cred-10".into()),
                ("note".into(), format!("refresh {REFRESH}")),
                ("page".into(), "3".into()),
            ],
            headers: vec![
                ("x-api-key".into(), "cred-11".into()),
                ("X-API-KEY".into(), "cred-12".into()),
                ("x-api-token".into(), "cred-13".into()),
                ("X-Auth-Token".into(), "cred-14".into()),
                ("AUTHORIZATION".into(), format!("Bearer {OPAQUE_ACCESS}")),
                ("X-Forwarded-Token".into(), OPAQUE_ACCESS.into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(format!(
                "{{\"secret\": \"{AWS_SECRET}\", \"session\": \"{AWS_SESSION}\", \"jwt\": \"{JWT}\", \"n\": 1}}"
            )),
            ..request()
        }
    }

    #[test]
    fn url_user_info_is_dropped() {
        let url = |raw: &str| {
            scrubbed(
                &ConsoleRequest {
                    url: raw.into(),
                    ..request()
                },
                &none(),
            )
            .url
        };
        assert_eq!(
            url("https://alice:pa55word@api.example.com/x?page=1"),
            "https://api.example.com/x?page=1"
        );
        assert_eq!(
            url("https://alice@api.example.com"),
            "https://api.example.com"
        );
        assert_eq!(
            url("https://api.example.com/a@b?c=d@e"),
            "https://api.example.com/a@b?c=d@e",
            "an @ after the host is not user-info"
        );
        assert_eq!(url("/demo-api/me"), "/demo-api/me");
    }

    #[test]
    fn credential_headers_are_dropped_whatever_their_case() {
        let names: Vec<String> = scrubbed(&request_with_every_credential(), &none())
            .headers
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(names, ["X-Forwarded-Token", "Accept"]);
    }

    #[test]
    fn credential_query_parameters_are_dropped_whatever_their_case() {
        let kept = scrubbed(&request_with_every_credential(), &held());
        assert_eq!(
            kept.url,
            format!("https://api.example.com/orders?s={REMOVED}&page=2#tab=1")
        );
        let names: Vec<&str> = kept.params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["note", "page"]);
        let encoded = ConsoleRequest {
            url: "/x?api%5Fkey=cred-15&X%2DAmz%2DSignature=cred-16&page=1".into(),
            ..request()
        };
        assert_eq!(
            scrubbed(&encoded, &none()).url,
            "/x?page=1",
            "names are compared decoded"
        );
    }

    #[test]
    fn held_values_are_replaced_in_the_url_headers_and_body() {
        let kept = scrubbed(&request_with_every_credential(), &held());
        assert_eq!(kept.params[0].1, format!("refresh {REMOVED}"));
        assert_eq!(
            kept.headers[0],
            ("X-Forwarded-Token".to_owned(), REMOVED.to_owned())
        );
        assert_eq!(
            kept.body.as_deref(),
            Some(
                format!(
                    "{{\"secret\": \"{REMOVED}\", \"session\": \"{REMOVED}\", \"jwt\": \"{REMOVED}\", \"n\": 1}}"
                )
                .as_str()
            )
        );
        let in_path = ConsoleRequest {
            url: format!("/users/{REFRESH}/x"),
            ..request()
        };
        assert_eq!(
            scrubbed(&in_path, &held()).url,
            format!("/users/{REMOVED}/x")
        );
    }

    #[test]
    fn the_history_file_holds_no_credential_of_any_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConsoleStore::of(dir.path(), "Demo");
        let request = request_with_every_credential();
        store.save_request("everything", &request, &held()).unwrap();
        store
            .record(
                HistoryEntry {
                    at_ms: 1,
                    request,
                    status: None,
                    elapsed_ms: 0,
                    size_bytes: 0,
                    error: Some(format!("refused {OPAQUE_ACCESS} and {JWT}")),
                },
                &held(),
            )
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("profiles/Demo/console.json")).unwrap();
        let session_in_query: String =
            url::form_urlencoded::byte_serialize(AWS_SESSION.as_bytes()).collect();
        for secret in [
            "cred-",
            "eyJ",
            OPAQUE_ACCESS,
            REFRESH,
            AWS_SECRET,
            AWS_SESSION,
            &session_in_query,
        ] {
            assert!(!text.contains(secret), "{secret} is in the file: {text}");
        }
        assert_eq!(store.load().history.len(), 1);
    }

    #[test]
    fn nothing_stored_holds_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConsoleStore::of(dir.path(), "work/../x");
        store.save_request("orders", &request(), &none()).unwrap();
        store
            .record(
                HistoryEntry {
                    at_ms: 1,
                    request: request(),
                    status: None,
                    elapsed_ms: 0,
                    size_bytes: 0,
                    error: Some(format!("refused {JWT}")),
                },
                &none(),
            )
            .unwrap();
        let file = dir.path().join("profiles/work%2F%2E%2E%2Fx/console.json");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("eyJ"), "{text}");
        assert!(
            !text.contains("session=1"),
            "cookies are credentials: {text}"
        );
        let data = store.load();
        let saved = &data.saved[0].request;
        assert_eq!(saved.url, "/demo-api/orders?page=2");
        assert_eq!(saved.params, vec![("q".to_owned(), "it's".to_owned())]);
        let names: Vec<&str> = saved.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Accept", "X-Trace"]);
        assert_eq!(saved.headers[1].1, format!("token={REMOVED};"));
        assert_eq!(data.history.len(), 1);
    }

    #[test]
    fn saving_again_under_a_name_replaces_and_history_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConsoleStore::of(dir.path(), "Demo");
        let mut r = request();
        store.save_request("a", &r, &none()).unwrap();
        r.method = "GET".into();
        let data = store.save_request("a", &r, &none()).unwrap();
        assert_eq!(data.saved.len(), 1);
        assert_eq!(data.saved[0].request.method, "GET");
        for i in 0..HISTORY_LIMIT + 5 {
            store
                .record(
                    HistoryEntry {
                        at_ms: i as u64,
                        request: r.clone(),
                        status: Some(200),
                        elapsed_ms: 1,
                        size_bytes: 2,
                        error: None,
                    },
                    &none(),
                )
                .unwrap();
        }
        let data = store.load();
        assert_eq!(data.history.len(), HISTORY_LIMIT);
        assert_eq!(
            data.history[0].at_ms,
            (HISTORY_LIMIT + 4) as u64,
            "newest first"
        );
    }

    #[test]
    fn a_broken_file_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConsoleStore::of(dir.path(), "Demo");
        std::fs::create_dir_all(store.path.parent().unwrap()).unwrap();
        std::fs::write(&store.path, "{not json").unwrap();
        assert_eq!(store.load(), ConsoleData::default());
        assert!(store.path.with_extension("json.broken").exists());
    }

    #[test]
    fn short_eyj_words_are_not_tokens() {
        assert_eq!(
            scrub_text("eyJ is fine, eyJa.b too", &none()),
            "eyJ is fine, eyJa.b too"
        );
    }

    #[test]
    fn curl_reads_the_token_header_from_the_cli_through_a_pipe_and_quotes_the_rest() {
        let url = url::Url::parse("https://api.example.com/orders?q=it%27s").unwrap();
        let mut r = request();
        r.token_header = "X-$Token".into();
        r.headers
            .push(("X-Note".into(), format!("at {OPAQUE_ACCESS}")));
        let text = curl_command(&r, &url, "o'neil", None, &held());
        assert!(
            !text.contains("eyJ") && !text.contains(OPAQUE_ACCESS),
            "{text}"
        );
        assert!(text.starts_with("curl \\\n  -X 'POST'"), "{text}");
        assert!(
            text.contains(
                "-H @<(printf '%s: %s\\n' 'X-$Token' \"$(latchkey token --profile 'o'\\''neil')\")"
            ),
            "{text}"
        );
        assert!(text.contains("-H 'Accept: application/json'"), "{text}");
        assert!(text.contains("-H 'X-Note: at <token removed>'"), "{text}");
        assert!(
            text.contains("--data-raw '{\"token\": \"<token removed>\", \"n\": 1}'"),
            "{text}"
        );
        assert!(
            text.ends_with("'https://api.example.com/orders?q=it%27s'"),
            "{text}"
        );
        r.scheme = Scheme::Bearer;
        r.token = TokenChoice::Access;
        r.token_header = "Authorization".into();
        let text = curl_command(&r, &url, "work", None, &none());
        assert!(
            text.contains(
                "-H @<(printf '%s: Bearer %s\\n' 'Authorization' \"$(latchkey token --profile 'work' --access)\")"
            ),
            "{text}"
        );
        assert!(
            !text.contains("-H 'Authorization"),
            "the typed one is replaced: {text}"
        );
    }

    #[test]
    fn curl_for_sigv4_reads_the_credentials_in_a_subshell_and_signs_with_curl() {
        let url = url::Url::parse("https://api.example.com/orders").unwrap();
        let mut r = request();
        r.scheme = Scheme::Sigv4;
        let text = curl_command(&r, &url, "work", Some("eu-west-1"), &none());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "(", "{text}");
        assert_eq!(
            lines[1],
            "  eval \"$(latchkey aws credentials --profile 'work' --format env)\""
        );
        assert_eq!(lines[2], "  curl \\");
        assert_eq!(lines.last(), Some(&")"), "{text}");
        assert!(
            text.contains("--aws-sigv4 'aws:amz:eu-west-1:execute-api'"),
            "{text}"
        );
        assert!(
            text.contains(
                "-K <(printf 'user = \"%s:%s\"\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\")"
            ),
            "{text}"
        );
        assert!(!text.contains("--user"), "{text}");
        assert!(
            !text.contains("eyJ") && !text.contains("latchkey token"),
            "{text}"
        );
        r.aws_region = Some("us-west-2".into());
        r.aws_service = Some("lambda".into());
        let text = curl_command(&r, &url, "work", Some("eu-west-1"), &none());
        assert!(text.contains("'aws:amz:us-west-2:lambda'"), "{text}");
    }
}
