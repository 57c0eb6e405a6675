//! The tray menu as data: a pure function from the profiles' states (as the agent reports
//! them) to the menu's items, and the action each item's id names. `tray` draws and serves it.

use chrono::{DateTime, Utc};
use latchkey_core::agent::ProfileStatus;

/// What a click on a tray item asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    SignIn(String),
    SignOut(String),
    CopyToken(String),
    Open,
    Quit,
}

impl TrayAction {
    /// The menu item id that carries this action (a profile name may hold any character but
    /// the first `:` ends the verb).
    pub fn id(&self) -> String {
        match self {
            TrayAction::SignIn(p) => format!("sign-in:{p}"),
            TrayAction::SignOut(p) => format!("sign-out:{p}"),
            TrayAction::CopyToken(p) => format!("copy-token:{p}"),
            TrayAction::Open => "open".into(),
            TrayAction::Quit => "quit".into(),
        }
    }

    pub fn from_id(id: &str) -> Option<TrayAction> {
        match id.split_once(':') {
            Some(("sign-in", p)) => Some(TrayAction::SignIn(p.into())),
            Some(("sign-out", p)) => Some(TrayAction::SignOut(p.into())),
            Some(("copy-token", p)) => Some(TrayAction::CopyToken(p.into())),
            None if id == "open" => Some(TrayAction::Open),
            None if id == "quit" => Some(TrayAction::Quit),
            _ => None,
        }
    }
}

/// One line of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayItem {
    /// A line that says something (a profile's state); not clickable.
    Note(String),
    /// A clickable line.
    Action {
        label: String,
        action: TrayAction,
    },
    Separator,
}

/// The menu for `profiles` (in the order given) at `now`: per profile its state and expiry,
/// then what can be done with it; then Open Latchkey and Quit.
pub fn tray_menu(profiles: &[ProfileStatus], now: DateTime<Utc>) -> Vec<TrayItem> {
    let mut items = Vec::new();
    for status in profiles {
        items.push(TrayItem::Note(profile_line(status, now)));
        items.extend(profile_actions(status));
        items.push(TrayItem::Separator);
    }
    items.push(TrayItem::Action {
        label: "Open Latchkey".into(),
        action: TrayAction::Open,
    });
    items.push(TrayItem::Action {
        label: "Quit Latchkey".into(),
        action: TrayAction::Quit,
    });
    items
}

/// The tooltip: how many profiles are signed in, and who answers the tools.
pub fn tray_tooltip(profiles: &[ProfileStatus], agent_line: &str) -> String {
    let signed_in = profiles.iter().filter(|p| is_signed_in(p)).count();
    format!(
        "Latchkey: {signed_in} of {} profiles signed in\n{agent_line}",
        profiles.len()
    )
}

fn is_signed_in(status: &ProfileStatus) -> bool {
    matches!(status.state.as_str(), "signed_in" | "refreshing")
}

fn profile_line(status: &ProfileStatus, now: DateTime<Utc>) -> String {
    let name = &status.profile;
    match status.state.as_str() {
        "signed_in" | "refreshing" => {
            let who = status.user.as_deref().unwrap_or("signed in");
            match status.id_expires_at {
                Some(at) => format!("{name}: {who}, {}", expiry(at, now)),
                None => format!("{name}: {who}"),
            }
        }
        "signing_in" => format!("{name}: signing in (finish in the browser)"),
        "error" => format!("{name}: needs attention (open Latchkey)"),
        _ => format!("{name}: signed out"),
    }
}

/// "expires in 42 min", "expires in 3 h", "expired".
fn expiry(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = (at - now).num_seconds();
    match left {
        ..=0 => "token expired (renewed on next use)".into(),
        1..=119 => format!("expires in {left} s"),
        120..=7199 => format!("expires in {} min", left / 60),
        _ => format!("expires in {} h", left / 3600),
    }
}

fn profile_actions(status: &ProfileStatus) -> Vec<TrayItem> {
    let name = status.profile.clone();
    let action = |label: String, action| TrayItem::Action { label, action };
    match status.state.as_str() {
        "signed_in" | "refreshing" => vec![
            action(
                format!("Copy token of {name}"),
                TrayAction::CopyToken(name.clone()),
            ),
            action(format!("Sign out of {name}"), TrayAction::SignOut(name)),
        ],
        "signing_in" => vec![],
        _ => vec![action(
            format!("Sign in to {name}…"),
            TrayAction::SignIn(name),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn status(profile: &str, state: &str, expires_in: Option<i64>) -> ProfileStatus {
        let now = now();
        ProfileStatus {
            profile: profile.into(),
            state: state.into(),
            user: (state == "signed_in").then(|| "demo@latchkey.dev".into()),
            id_expires_at: expires_in.map(|s| now + chrono::Duration::seconds(s)),
            reason: None,
            sign_in_waiters: 0,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
    }

    fn actions(items: &[TrayItem]) -> Vec<TrayAction> {
        items
            .iter()
            .filter_map(|i| match i {
                TrayItem::Action { action, .. } => Some(action.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_profile_shows_its_state_and_the_actions_that_fit_it() {
        let menu = tray_menu(
            &[
                status("Demo", "signed_in", Some(42 * 60)),
                status("work", "signed_out", None),
            ],
            now(),
        );
        assert_eq!(
            menu[0],
            TrayItem::Note("Demo: demo@latchkey.dev, expires in 42 min".into())
        );
        assert_eq!(
            actions(&menu),
            vec![
                TrayAction::CopyToken("Demo".into()),
                TrayAction::SignOut("Demo".into()),
                TrayAction::SignIn("work".into()),
                TrayAction::Open,
                TrayAction::Quit,
            ]
        );
    }

    #[test]
    fn a_sign_in_in_flight_offers_nothing_to_click_for_that_profile() {
        let menu = tray_menu(&[status("Demo", "signing_in", None)], now());
        assert_eq!(
            actions(&menu),
            vec![TrayAction::Open, TrayAction::Quit],
            "{menu:?}"
        );
    }

    #[test]
    fn an_expired_token_says_so_and_other_times_read_in_their_unit() {
        assert_eq!(
            expiry(now() - chrono::Duration::seconds(5), now()),
            "token expired (renewed on next use)"
        );
        assert_eq!(
            expiry(now() + chrono::Duration::seconds(90), now()),
            "expires in 90 s"
        );
        assert_eq!(
            expiry(now() + chrono::Duration::hours(5), now()),
            "expires in 5 h"
        );
    }

    #[test]
    fn every_action_round_trips_through_its_menu_id() {
        for action in [
            TrayAction::SignIn("a:b c".into()),
            TrayAction::SignOut("Demo".into()),
            TrayAction::CopyToken("Demo".into()),
            TrayAction::Open,
            TrayAction::Quit,
        ] {
            assert_eq!(TrayAction::from_id(&action.id()), Some(action));
        }
        assert_eq!(TrayAction::from_id("rm -rf"), None);
    }
}
