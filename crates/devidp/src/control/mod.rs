//! The test-control endpoint under `/_devidp/` on the same loopback port: fault switches,
//! key rotation, clock advance, counters, the last confirmation code and the log tail.
//! Every request needs the per-run secret; bodies must be JSON; no CORS, so no web page can use it.

pub(crate) mod faults;
pub(crate) mod logbook;

use serde_json::{json, Value};

use crate::http::{constant_time_eq, param, Incoming, Reply};
use crate::provider::Provider;
use faults::faults_from_json;

/// The request header that carries the control secret ([`crate::DevIdp::control_token`]).
pub const CONTROL_TOKEN_HEADER: &str = "X-Devidp-Control-Token";
/// The environment variable `latchkey-devidp` and the app's embedded provider read the
/// control secret from (instead of generating one per run).
pub const CONTROL_TOKEN_ENV: &str = "LATCHKEY_DEVIDP_CONTROL_TOKEN";

/// Help text for the control endpoint (also part of `--help`).
pub const CONTROL_HELP: &str = "\
Control endpoint (loopback only, hosted-UI port, for tests). Every request needs the header
X-Devidp-Control-Token: <secret> (--control-token, LATCHKEY_DEVIDP_CONTROL_TOKEN, or the one
printed at start); a body must be Content-Type: application/json. No CORS headers: web pages
cannot call it.
  GET    /_devidp/faults               list the faults that are on
  POST   /_devidp/faults               switch faults on (cumulative). Body: \"name\", \"name=value\",
                                        {\"fault\": \"token_slow\", \"millis\": 1500},
                                        {\"fault\": \"clock_offset\", \"secs\": -300}, or an array
  DELETE /_devidp/faults               switch every fault off
  POST   /_devidp/rotate-keys          replace both signing keys (new kids; old ones removed)
  POST   /_devidp/clock                advance the provider's clock: {\"advance_secs\": 360}
  GET    /_devidp/stats                request counters
  GET    /_devidp/confirmation-code    the last sign-up confirmation code
  GET    /_devidp/log?n=50             the last log lines (secrets masked)";

pub(crate) fn handle(p: &Provider, req: &Incoming, rest: &str) -> Reply {
    if let Err(refusal) = admit(p, req, rest) {
        return refusal;
    }
    let method = req.method.as_str();
    match (method, rest) {
        ("GET", "faults") => faults_reply(p),
        ("POST", "faults") => {
            let value: Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(e) => return bad(&format!("the body is not JSON: {e}")),
            };
            match faults_from_json(&value) {
                Ok(faults) => {
                    for fault in faults {
                        p.log(format!("control: fault {fault} switched on"));
                        p.faults().set(fault);
                    }
                    faults_reply(p)
                }
                Err(e) => bad(&e),
            }
        }
        ("DELETE", "faults") => {
            p.faults().clear();
            p.log("control: all faults cleared".to_string());
            faults_reply(p)
        }
        ("POST", "rotate-keys") => match p.rotate_keys() {
            Ok(()) => {
                let keys = p.keys();
                Reply::json(
                    200,
                    &json!({"id_kid": keys.id.kid, "access_kid": keys.access.kid}),
                )
            }
            Err(e) => Reply::json(500, &json!({"error": e.to_string()})),
        },
        ("POST", "clock") => {
            let value: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let Some(secs) = value.get("advance_secs").and_then(Value::as_i64) else {
                return bad("expected {\"advance_secs\": N}");
            };
            let total = p.advance_clock(secs);
            Reply::json(200, &json!({"advance_secs": total}))
        }
        ("GET", "stats") => {
            Reply::json(200, &serde_json::to_value(p.stats()).unwrap_or(Value::Null))
        }
        ("GET", "confirmation-code") => match p.store().last_confirmation_code.clone() {
            Some(code) => Reply::json(200, &json!({"code": code})),
            None => Reply::json(
                404,
                &json!({"error": "no sign-up confirmation code has been issued"}),
            ),
        },
        ("GET", "log") => {
            let n = param(&req.query, "n")
                .and_then(|n| n.parse().ok())
                .unwrap_or(100);
            Reply::json(200, &json!({"lines": p.log.tail(n)}))
        }
        _ => Reply::json(
            404,
            &json!({"error": "unknown control endpoint", "help": CONTROL_HELP}),
        ),
    }
}

/// The gate in front of every control request: the secret first (so a stranger learns
/// nothing else), then the body's media type.
fn admit(p: &Provider, req: &Incoming, rest: &str) -> Result<(), Reply> {
    let expected = p.settings.control_token.as_bytes();
    match req.header(CONTROL_TOKEN_HEADER) {
        None => {
            p.log(format!(
                "control: refused {} /_devidp/{rest}: no {CONTROL_TOKEN_HEADER} header",
                req.method
            ));
            return Err(Reply::json(
                401,
                &json!({"error": format!("the control endpoint needs the {CONTROL_TOKEN_HEADER} header (see latchkey-devidp --help)")}),
            ));
        }
        Some(given) if !constant_time_eq(given.trim().as_bytes(), expected) => {
            p.log(format!(
                "control: refused {} /_devidp/{rest}: wrong control token",
                req.method
            ));
            return Err(Reply::json(
                403,
                &json!({"error": "the control token is wrong"}),
            ));
        }
        Some(_) => {}
    }
    let media = req
        .header("content-type")
        .and_then(|t| t.split(';').next())
        .map(str::trim);
    let json_body = media.is_some_and(|m| m.eq_ignore_ascii_case("application/json"));
    if (!req.body.is_empty() || media.is_some()) && !json_body {
        return Err(Reply::json(
            415,
            &json!({"error": "control requests with a body must be Content-Type: application/json"}),
        ));
    }
    Ok(())
}

fn faults_reply(p: &Provider) -> Reply {
    Reply::json(200, &json!({"faults": p.faults().list()}))
}

fn bad(message: &str) -> Reply {
    Reply::json(400, &json!({"error": message}))
}
