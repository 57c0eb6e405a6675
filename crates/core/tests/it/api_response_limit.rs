//! API answers are read up to the profile's `api_response_limit_mib` (32 MiB by default) and
//! marked truncated beyond it, against the test kit's proxy in front of the development
//! provider's demo API (the provider authorizes the call; the proxy makes its answer long).
//! The setting is checked like the profile's other numbers.

use std::path::Path;
use std::sync::Arc;

use latchkey_core::config::{Config, ConfigError, ProfileDraft};
use latchkey_core::{ApiRequest, ErrorKind, Vault, DEFAULT_RESPONSE_LIMIT_MIB};
use latchkey_testkit::{proxied_idp, signed_in, Rewrite};
use url::Url;

const MIB: usize = 1024 * 1024;

/// The demo API's answers, made `len(path)` bytes long when the provider answered 200.
fn long_answers(len: fn(&str) -> Option<usize>) -> Rewrite {
    Arc::new(
        move |path: &str, status: u16, body: Vec<u8>| match len(path) {
            Some(n) if status == 200 => (status, vec![b'x'; n]),
            _ => (status, body),
        },
    )
}

fn get(base: &str, path: &str) -> ApiRequest {
    ApiRequest::get(Url::parse(&format!("{base}{path}")).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_longer_than_32_mib_is_cut_there_and_marked_truncated() {
    let (_idp, proxy, profile) = proxied_idp(long_answers(|path| {
        path.ends_with("/demo-api/me").then_some(33 * MIB)
    }));
    assert_eq!(profile.api_response_limit_mib, DEFAULT_RESPONSE_LIMIT_MIB);
    let session = signed_in(profile, Vault::memory()).await;

    let long = session
        .call(get(&proxy.base, "/demo-api/me"))
        .await
        .unwrap();
    assert_eq!(long.status, 200);
    assert_eq!(long.body.len(), 32 * MIB, "the first 32 MiB, not more");
    assert!(long.truncated);
    assert_eq!(long.limit_mib, 32);
    assert!(long.truncation_note().is_some());

    let short = session
        .call(get(&proxy.base, "/demo-api/orders"))
        .await
        .unwrap();
    assert_eq!(short.status, 200);
    assert!(!short.truncated && short.truncation_note().is_none());
    assert!(short.text().contains("ord-1001"), "the whole answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profiles_limit_cuts_one_byte_more_and_keeps_an_answer_of_exactly_that_size() {
    let (_idp, proxy, mut profile) = proxied_idp(long_answers(|path| {
        if path.ends_with("/demo-api/me") {
            Some(MIB + 1)
        } else if path.ends_with("/demo-api/orders") {
            Some(MIB)
        } else {
            None
        }
    }));
    profile.api_response_limit_mib = 1;
    let session = signed_in(profile, Vault::memory()).await;

    let over = session
        .call(get(&proxy.base, "/demo-api/me"))
        .await
        .unwrap();
    assert_eq!((over.body.len(), over.truncated), (MIB, true));
    let exact = session
        .call(get(&proxy.base, "/demo-api/orders"))
        .await
        .unwrap();
    assert_eq!((exact.body.len(), exact.truncated), (MIB, false));
}

const PROFILE: &str = "region = 'eu-west-1'\nuser_pool_id = 'eu-west-1_AbC123'\ndomain = 'myapp'\nclient_id = 'abc123'\n";

fn parse(extra: &str) -> Result<Config, ConfigError> {
    Config::parse(
        &format!("default = 'p'\n[profiles.p]\n{PROFILE}{extra}"),
        Path::new("/home/u/.config/latchkey/config.toml"),
    )
}

#[test]
fn the_limit_is_a_whole_number_of_mib_from_1_to_1024() {
    for bad in ["0", "1025", "-1", "4294967297"] {
        let e = parse(&format!("api_response_limit_mib = {bad}\n")).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Invalid { field, .. } if field == "api_response_limit_mib"),
            "{bad}: {e}"
        );
        assert_eq!(latchkey_core::Error::from(e).kind(), ErrorKind::Config);
    }
    let config = parse("api_response_limit_mib = 8\n").unwrap();
    assert_eq!(config.default_profile().unwrap().api_response_limit_mib, 8);
    let defaulted = parse("").unwrap();
    let profile = defaulted.default_profile().unwrap();
    assert_eq!(profile.api_response_limit_mib, 32);
    assert_eq!(ProfileDraft::minimal(profile).api_response_limit_mib, None);
}

#[test]
fn a_limit_other_than_the_default_is_saved_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut profile = parse("").unwrap().default_profile().unwrap().clone();
    profile.api_response_limit_mib = 100;
    let mut config = Config::empty(&path);
    config.insert(profile.clone());
    config.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("api_response_limit_mib = 100"), "{text}");
    assert_eq!(Config::load(&path).unwrap().profile("p").unwrap(), &profile);
}
