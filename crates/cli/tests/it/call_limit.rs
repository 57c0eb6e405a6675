//! `latchkey call` reads at most the profile's `api_response_limit_mib` of an answer: the real
//! binary against the test kit's proxy in front of the development provider's demo API (the
//! provider authorizes the call; the proxy makes its answer 3 MiB long). The body is cut at the
//! limit, stderr says so, `--json` marks it; an answer under the limit is whole and unmarked.

use crate::common;

use std::sync::Arc;

use common::{complete_login, Env};
use latchkey_testkit::proxied_idp;

const MIB: usize = 1024 * 1024;

#[test]
fn an_answer_over_the_profiles_limit_is_cut_and_said_to_be() {
    let (_idp, proxy, mut profile) = proxied_idp(Arc::new(|path: &str, status, body| {
        match path.ends_with("/demo-api/me") && status == 200 {
            true => (status, vec![b'x'; 3 * MIB]),
            false => (status, body),
        }
    }));
    profile.api_response_limit_mib = 1;
    let env = Env::new();
    env.write_profile(&profile);
    let (login, url) = env.start_login(&[]);
    complete_login(
        &url,
        latchkey_testkit::devidp::DEMO_USERNAME,
        latchkey_testkit::devidp::DEMO_PASSWORD,
    );
    assert!(login.wait_with_output().unwrap().status.success());
    let me = format!("{}/demo-api/me", proxy.base);

    let out = env.cmd(&["call", &me]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout.len(), MIB, "the first MiB, not more");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let notes: Vec<&str> = stderr.lines().collect();
    assert_eq!(notes.len(), 1, "one note on stderr: {stderr}");
    assert!(notes[0].starts_with("latchkey: warning: "), "{stderr}");

    let json = env.run(&["call", "--json", &me]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let json = json.json();
    assert_eq!(json["truncated"], true);
    assert_eq!(json["body"].as_str().map(str::len), Some(MIB));

    let orders = env.run(&["call", "--json", &format!("{}/demo-api/orders", proxy.base)]);
    assert_eq!((orders.code, orders.stderr.as_str()), (0, ""));
    let orders = orders.json();
    assert_eq!(orders["truncated"], false);
    assert_eq!(orders["body"]["orders"][0]["id"], "ord-1001");
}
