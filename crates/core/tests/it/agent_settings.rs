//! `[profiles.NAME.agent]` (issue 24 item 6): read, checked with the field named, written back,
//! exported, and shown first in an import review when an import would loosen it.

use std::path::Path;
use std::time::Duration;

use latchkey_core::config::{AgentSettings, Config, ConfigError};

const OIDC: &str = "[profiles.p]\nissuer = 'https://id.example.com'\nclient_id = 'x'\n";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("config.toml"))
}

#[test]
fn the_agent_table_is_read_and_its_absence_means_the_defaults() {
    let plain = parse(OIDC).unwrap();
    assert_eq!(plain.profile("p").unwrap().agent, AgentSettings::default());
    let text = format!("{OIDC}[profiles.p.agent]\nidle_forget_secs = 1800\nconfirm = true\n");
    let config = parse(&text).unwrap();
    assert_eq!(
        config.profile("p").unwrap().agent,
        AgentSettings {
            idle_forget: Some(Duration::from_secs(1800)),
            confirm: true,
        }
    );
}

#[test]
fn an_idle_time_out_of_range_names_the_field() {
    for bad in ["0", "-5", "2592001"] {
        let text = format!("{OIDC}[profiles.p.agent]\nidle_forget_secs = {bad}\n");
        match parse(&text) {
            Err(ConfigError::Invalid { field, .. }) => {
                assert_eq!(field, "agent.idle_forget_secs", "{bad}")
            }
            other => panic!("{bad}: expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn the_settings_survive_a_save_and_an_export() {
    let text = format!("{OIDC}[profiles.p.agent]\nidle_forget_secs = 60\nconfirm = true\n");
    let config = parse(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    config.save_to(&path).unwrap();
    let saved = Config::load(&path).unwrap();
    assert_eq!(
        saved.profile("p").unwrap().agent,
        config.profile("p").unwrap().agent
    );

    let exported = Config::export_profile(config.profile("p").unwrap());
    let (_, draft) = &Config::import_profiles(&exported, Path::new("p.toml")).unwrap()[0];
    let agent = draft.agent.as_ref().expect("exported: {exported}");
    assert_eq!(
        (agent.idle_forget_secs, agent.confirm),
        (Some(60), Some(true))
    );
}

#[test]
fn an_import_that_stops_the_confirmation_is_among_the_first_listed_with_this_machines_value() {
    let local = parse(&format!("{OIDC}[profiles.p.agent]\nconfirm = true\n")).unwrap();
    let reviews = local
        .review_import(
            &format!("{OIDC}scopes = ['openid']\n"),
            Path::new("in.toml"),
        )
        .unwrap();
    let review = &reviews[0];
    assert!(review.replaces);
    assert!(!review.profile.agent.confirm, "what would be saved");
    let fields: Vec<&str> = review.settings.iter().map(|s| s.field.as_str()).collect();
    let at = fields
        .iter()
        .position(|f| *f == "agent.confirm")
        .unwrap_or_else(|| panic!("agent.confirm in {fields:?}"));
    let confirm = &review.settings[at];
    assert!(confirm.security, "among the settings shown first");
    assert!(
        review.settings[..at].iter().all(|s| s.security),
        "{fields:?}"
    );
    assert_eq!(confirm.previous.as_deref(), Some("true"));
}
