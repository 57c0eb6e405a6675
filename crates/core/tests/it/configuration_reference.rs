//! docs/configuration.md against the parser: every key a profile accepts is described there
//! and every key described there is accepted; a misspelt key names the key it is closest to.

use std::collections::BTreeSet;
use std::path::Path;

use latchkey_core::config::{setting_names, Config, ConfigError};

const REFERENCE: &str = include_str!("../../../../docs/configuration.md");

/// The first cells of the rows of every `| key | type | default | meaning |` table.
fn documented_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut in_settings_table = false;
    for line in REFERENCE.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if !line.starts_with('|') {
            in_settings_table = false;
        } else if cells.get(1..5) == Some(&["key", "type", "default", "meaning"][..]) {
            in_settings_table = true;
        } else if in_settings_table && !cells[1].starts_with("---") {
            keys.insert(cells[1].trim_matches('`').to_owned());
        }
    }
    keys
}

#[test]
fn the_reference_describes_exactly_the_keys_the_parser_accepts() {
    let parsed: BTreeSet<String> = setting_names().into_iter().collect();
    let documented = documented_keys();
    let undocumented: Vec<_> = parsed.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&parsed).collect();
    assert!(
        undocumented.is_empty(),
        "keys the parser accepts and docs/configuration.md does not describe: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "keys docs/configuration.md describes and the parser refuses: {unknown:?}"
    );
}

/// The key and `did_you_mean` of the error `text` gets (it must be an unknown key).
fn suggestion(text: &str) -> (String, Option<String>) {
    match Config::parse(text, Path::new("config.toml")) {
        Err(ConfigError::UnknownKey {
            key, did_you_mean, ..
        }) => (key, did_you_mean),
        other => panic!("expected an unknown key, got {other:?}"),
    }
}

#[test]
fn a_misspelt_key_names_the_key_meant() {
    let oidc = "[profiles.p]\nissuer = 'https://id.example.com'\nclient_id = 'x'\n";
    assert_eq!(
        suggestion(&format!("{oidc}scope = ['openid']\n")),
        ("scope".into(), Some("scopes".into()))
    );
    assert_eq!(
        suggestion(&format!(
            "{oidc}[profiles.p.aws]\nidentity_pool_id = 'eu-west-1:x'\nrol_arn = 'a'\n"
        )),
        ("aws.rol_arn".into(), Some("aws.role_arn".into()))
    );
    assert_eq!(
        suggestion(&format!("{oidc}[profiles.p.agent]\nconfrim = true\n")),
        ("agent.confrim".into(), Some("agent.confirm".into()))
    );
    assert_eq!(
        suggestion(&format!("{oidc}colour = 'blue'\n")),
        ("colour".into(), None)
    );
}
