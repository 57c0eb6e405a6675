//! What every command needs: the configuration file, the chosen profile, a `Session` over the
//! system keychain, and the browser opener (the `--browser-command` flag, else core's choice:
//! `LATCHKEY_BROWSER_COMMAND`, the profile's `browser`, the system's). A demo profile's provider
//! is started in-process here, for as long as the command runs, when nothing serves it yet.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};

use latchkey_core::config::{Config, ConfigError, Profile};
use latchkey_core::Browser;
use latchkey_core::Vault;
use latchkey_core::{Error as CoreError, ErrorKind};
use latchkey_core::{Session, SessionOptions, SessionState};

use crate::cli::GlobalArgs;
use crate::failure::{CliResult, Exit, Failure};

pub struct Ctx {
    pub global: GlobalArgs,
    /// Set once the profiles set aside have been reported (a command may read the file twice).
    set_aside_reported: Once,
    /// The development providers started for demo profiles, kept until the command ends.
    demo_providers: Mutex<Vec<latchkey_devidp::DevIdp>>,
}

impl Ctx {
    pub fn new(global: GlobalArgs) -> Ctx {
        Ctx {
            global,
            set_aside_reported: Once::new(),
            demo_providers: Mutex::new(Vec::new()),
        }
    }

    pub fn config_path(&self) -> CliResult<PathBuf> {
        match &self.global.config {
            Some(p) => Ok(p.clone()),
            None => Ok(Config::default_path()?),
        }
    }

    /// The profiles file, an invalid profile set aside: using it is an error (from
    /// [`Config::profile`]), the others work, and each one set aside that is not the selected
    /// profile is a warning on stderr, once per run.
    pub fn load_config(&self) -> CliResult<Config> {
        self.load_config_for(self.global.profile.as_deref())
    }

    /// [`Ctx::load_config`] for a command that uses profile `name` (`None`: the file's
    /// default), which is not warned about.
    pub fn load_config_for(&self, name: Option<&str>) -> CliResult<Config> {
        let config = self.load_file()?;
        let selected = name.or(config.default_name());
        self.set_aside_reported.call_once(|| {
            report_set_aside(&config, selected);
            report_migrations(&config);
        });
        Ok(config)
    }

    /// The file, or an empty configuration when there is none yet (not an error: commands that
    /// need a profile say how to add one, see [`no_profile`]).
    fn load_file(&self) -> CliResult<Config> {
        let path = self.config_path()?;
        match Config::load_lenient(&path) {
            Ok(config) => Ok(config),
            Err(ConfigError::NotFound { .. }) => Ok(Config::empty(&path)),
            Err(other) => Err(other.into()),
        }
    }

    /// The `--profile` profile, else the file's default (or only) profile; for a demo profile,
    /// its provider runs (in this process if nothing serves it yet).
    pub fn profile(&self) -> CliResult<Profile> {
        let config = self.load_config()?;
        if let Some(f) = no_profile(&config) {
            return Err(f);
        }
        let p = match &self.global.profile {
            Some(name) => config.profile(name)?,
            None => config.default_profile()?,
        };
        self.serve_demo(p.clone())
    }

    /// `profile` itself, its development provider started first when it is a demo profile
    /// that nothing serves; when a preferred port was taken, the profile as moved (saved).
    fn serve_demo(&self, profile: Profile) -> CliResult<Profile> {
        if !latchkey_demo::is_demo(&profile) {
            return Ok(profile);
        }
        let mut running = self
            .demo_providers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let data_dir = latchkey_demo::default_data_dir().map_err(demo_failure)?;
        let Some(started) = latchkey_demo::serve(&profile, &data_dir).map_err(demo_failure)? else {
            return Ok(profile);
        };
        running.push(started.idp);
        let Some(moved) = started.moved else {
            return Ok(profile);
        };
        let mut config = Config::load(&self.config_path()?)?;
        config.insert(moved.clone());
        config.save()?;
        eprintln!(
            "latchkey: note: a port of the development provider was taken; profile `{}` now points at {} (saved).",
            moved.name,
            moved.issuer()
        );
        Ok(moved)
    }

    /// Starts the provider of every demo profile that nothing serves yet (the agent, which
    /// serves any profile while it runs); one that cannot start is a warning. Unix only, as the
    /// agent.
    #[cfg(unix)]
    pub fn serve_demo_profiles(&self) {
        let Ok(config) = self.load_config() else {
            return;
        };
        for profile in config.profiles.values() {
            if let Err(f) = self.serve_demo(profile.clone()) {
                eprintln!(
                    "latchkey: warning: profile `{}`: {}",
                    profile.name, f.message
                );
            }
        }
    }

    /// A session over the system keychain. The CLI cannot keep a session in memory across
    /// invocations, so an unusable keychain is an error here (exit 4), not a warning.
    pub fn session(&self, browser: Option<Arc<dyn Browser>>) -> CliResult<Session> {
        self.session_for(self.profile()?, browser)
    }

    /// [`Ctx::session`] for a given profile.
    pub fn session_for(
        &self,
        profile: Profile,
        browser: Option<Arc<dyn Browser>>,
    ) -> CliResult<Session> {
        let session = Session::new(
            profile,
            SessionOptions {
                vault: Vault::system(),
                browser,
                ..SessionOptions::default()
            },
        )?;
        if let Some(w) = session.storage().warning {
            return Err(Failure::new(Exit::Keychain, keychain_message(&w)));
        }
        Ok(session)
    }

    /// A session restored from the keychain that must be signed in.
    pub async fn signed_in_session(&self) -> CliResult<Session> {
        let session = self.session(None)?;
        let state = session.restore().await?;
        match state {
            SessionState::SignedIn { .. } | SessionState::Refreshing { .. } => Ok(session),
            other => Err(not_signed_in(&session, &other)),
        }
    }
}

/// The failure of a command that needs a profile when `config` has none at all (no file yet,
/// or an empty one): what to run next, exit 5 as for any configuration problem.
pub fn no_profile(config: &Config) -> Option<Failure> {
    if !config.profiles.is_empty() || !config.invalid.is_empty() {
        return None;
    }
    let path = config.path.clone().unwrap_or_default();
    Some(Failure::new(
        Exit::Config,
        format!(
            "no profile yet ({} {}). Try the built-in development provider with `latchkey profile add demo --demo`, then `latchkey login`; or add your own with `latchkey profile add NAME --cognito …`, `--issuer URL` or `--from-file FILE` (see `latchkey profile add --help`).",
            path.display(),
            if path.exists() { "has no profile" } else { "does not exist" }
        ),
    ))
}

fn demo_failure(e: latchkey_demo::DemoError) -> Failure {
    Failure::new(Exit::ProviderUnreachable, e.to_string())
}

/// A warning for every profile of `config` set aside as invalid, except `selected` (whose
/// error the command reports when it uses it).
fn report_set_aside(config: &Config, selected: Option<&str>) {
    for (name, e) in &config.invalid {
        if Some(name.as_str()) != selected {
            eprintln!("latchkey: warning: profile `{name}` is set aside (the others work): {e}");
        }
    }
}

/// A note for every setting read in its old form and rewritten (said once: the file now has
/// the new form).
pub fn report_migrations(config: &Config) {
    for m in &config.migrations {
        eprintln!("latchkey: note: {}", m.notice());
    }
}

pub fn keychain_message(warning: &str) -> String {
    let w = warning.trim_end_matches('.');
    if w.to_ascii_lowercase().contains("keychain") || w.contains("Secret Service") {
        // Core's message ends with "kept in memory only", which is not what the CLI does.
        let cut = w.find(" Until then").map(|i| &w[..i]).unwrap_or(w);
        format!("keychain unavailable: {}", cut.trim_end_matches('.'))
    } else {
        format!("keychain unavailable: {w}")
    }
}

pub fn not_signed_in(session: &Session, state: &SessionState) -> Failure {
    let profile = &session.profile().name;
    let reason = match state {
        SessionState::SignedOut { reason: Some(r) } if r != "no saved session; sign in" => {
            format!(" ({})", r.trim_end_matches('.'))
        }
        SessionState::Error { message, .. } => format!(" ({})", message.trim_end_matches('.')),
        _ => String::new(),
    };
    let message = format!(
        "not signed in to profile `{profile}`{reason}. Run `latchkey login{}`.",
        profile_flag(profile)
    );
    match session.last_end() {
        // The provider ended the session: `session_expired` until the next sign-in.
        Some(_) => Failure::with_kind(Exit::NotSignedIn, ErrorKind::SessionExpired, message),
        None => Failure::new(Exit::NotSignedIn, message),
    }
}

/// Core's failure for a command of `session`'s profile, a missing sign-in said the CLI's way
/// (core's text names the app's button and no profile).
pub fn for_session(session: &Session) -> impl Fn(CoreError) -> Failure + '_ {
    move |e| match e.kind() {
        ErrorKind::NotSignedIn => not_signed_in(session, &SessionState::SignedOut { reason: None }),
        _ => e.into(),
    }
}

fn profile_flag(name: &str) -> String {
    if std::env::var_os("LATCHKEY_PROFILE").is_some()
        || std::env::args().any(|a| a == "--profile" || a == "-p" || a.starts_with("--profile="))
    {
        format!(" --profile {name}")
    } else {
        String::new()
    }
}
