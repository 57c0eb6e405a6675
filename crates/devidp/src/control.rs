//! The test-control endpoint under `/_devidp/` on the same loopback port: fault switches,
//! key rotation, clock advance, counters, the last confirmation code and the log tail.

use serde_json::{json, Value};

use crate::faults::faults_from_json;
use crate::http::{param, Incoming, Reply};
use crate::provider::Provider;

/// Help text for the control endpoint (also part of `--help`).
pub const CONTROL_HELP: &str = "\
Control endpoint (loopback only, same port; JSON in and out):
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
        ("POST", "rotate-keys") => match crate::rotate_keys(p) {
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
            let total = crate::advance_clock_secs(p, secs);
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

fn faults_reply(p: &Provider) -> Reply {
    Reply::json(200, &json!({"faults": p.faults().list()}))
}

fn bad(message: &str) -> Reply {
    Reply::json(400, &json!({"error": message}))
}
