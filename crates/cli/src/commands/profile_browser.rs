//! `latchkey profile browser`: which browser opens a profile's sign-in page, the browsers and
//! browser profiles found on this machine, and setting it (machine-local, never exported).

use std::fmt;

use latchkey_core::config::{BrowserDraft, BrowserSetting, Config};
use latchkey_core::{discover_browsers, locate_program, parse_command_line, DiscoveredBrowser};
use serde::Serialize;

use super::profile::config_to_edit;
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::output::print_report;

pub fn run(ctx: &Ctx, name: Option<String>, set: Option<String>, json: bool) -> CliResult<Exit> {
    let name = name.or_else(|| ctx.global.profile.clone());
    let config = match &set {
        Some(value) => set_browser(ctx, name.as_deref(), value)?,
        None => ctx.load_config_for(name.as_deref())?,
    };
    let profile = match &name {
        Some(n) => config.profile(n)?,
        None => config.default_profile()?,
    };
    let report = BrowserReport {
        profile: profile.name.clone(),
        browser: profile.browser.to_string(),
        program_found: program_found(&profile.browser),
        changed: set.is_some(),
        found_on_this_machine: discover_browsers(),
    };
    print_report(&report, json)?;
    Ok(Exit::Ok)
}

/// Saves `value` as profile `name`'s browser (the default profile without a name).
fn set_browser(ctx: &Ctx, name: Option<&str>, value: &str) -> CliResult<Config> {
    let setting = parse_command_line(value)
        .map_err(|e| Failure::new(Exit::Config, format!("--set: {}", e.message())))?;
    let mut config = config_to_edit(ctx)?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => config.default_profile()?.name.clone(),
    };
    let mut draft = config
        .profile(&name)
        .map(|_| config.draft(&name))?
        .unwrap_or_default();
    draft.browser = BrowserDraft::from_setting(&setting);
    draft.browser_command = None;
    config.insert_draft(&name, &draft)?;
    config.save()?;
    Ok(config)
}

/// Whether the configured program can be started (`None`: no program is configured).
fn program_found(setting: &BrowserSetting) -> Option<bool> {
    match setting {
        BrowserSetting::Command(c) => Some(locate_program(c.program()).is_some()),
        _ => None,
    }
}

/// `latchkey profile browser`'s report.
#[derive(Serialize)]
struct BrowserReport {
    profile: String,
    /// As written in the file: `system`, `none` or a JSON array.
    browser: String,
    program_found: Option<bool>,
    changed: bool,
    found_on_this_machine: Vec<DiscoveredBrowser>,
}

impl fmt::Display for BrowserReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.changed { "now opens" } else { "opens" };
        let found = match self.program_found {
            Some(true) => " (program found)",
            Some(false) => " (program NOT found: install it or change the setting)",
            None => "",
        };
        writeln!(
            f,
            "Profile `{}` {verb} its sign-in page with: {}{found}",
            self.profile, self.browser
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Choices (latchkey profile browser {} --set VALUE):",
            self.profile
        )?;
        writeln!(f, "  {:<32} system", "the system default browser")?;
        writeln!(f, "  {:<32} none", "open nothing, print the address")?;
        for b in &self.found_on_this_machine {
            writeln!(
                f,
                "  {:<32} {}",
                b.label,
                shell_quoted(&json_array(&b.argv))
            )?;
        }
        if self.found_on_this_machine.is_empty() {
            writeln!(
                f,
                "  (no Chromium, Chrome, Brave, Edge or Firefox profile found on this machine)"
            )?;
        }
        Ok(())
    }
}

fn json_array(argv: &[String]) -> String {
    serde_json::to_string(argv).unwrap_or_default()
}

/// `text` in single quotes for a POSIX shell.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
