//! `latchkey profile …`: add, show, remove and choose profiles through core's one pipeline
//! (draft → validate → insert → atomic save that keeps the file's comments), and show what to
//! register at the provider.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use latchkey_core::config::{
    AwsDraft, BrowserDraft, Config, ConfigError, DroppedSetting, ImportReview, Profile,
    ProfileDraft, ReviewedSetting, MAX_IMPORT_BYTES,
};
use latchkey_core::{parse_command_line, Session, SessionOptions, SessionState, SignOutScope};
use serde::Serialize;

use super::profile_sources;
use super::profile_view::{self, Registration};
use crate::context::Ctx;
use crate::failure::{one_line, CliResult, Exit, Failure};
use crate::output::print_json;
use crate::profile_args::{FlowArg, ProfileAddArgs, ProfileCommand, SchemeArg, TokenKindArg};

pub async fn run(ctx: &Ctx, cmd: ProfileCommand) -> CliResult<Exit> {
    match cmd {
        ProfileCommand::List { json, names } => profile_view::list(ctx, json, names),
        ProfileCommand::Add(a) => add(ctx, *a).await,
        ProfileCommand::Import {
            file,
            replace,
            yes,
            json,
        } => import(ctx, &file, replace, yes, json).await,
        ProfileCommand::Show { name, json } => profile_view::show(ctx, name, json),
        ProfileCommand::Remove { name, keep_session } => remove(ctx, &name, keep_session).await,
        ProfileCommand::Use { name } => use_profile(ctx, &name),
        ProfileCommand::Browser { name, set, json } => {
            super::profile_browser::run(ctx, name, set, json)
        }
    }
}

/// The file to edit (validated first: editing an invalid file would hide the problem), or an
/// empty one when there is none yet.
pub(super) fn config_to_edit(ctx: &Ctx) -> CliResult<Config> {
    let path = ctx.config_path()?;
    match Config::load(&path) {
        Ok(c) => {
            crate::context::report_migrations(&c);
            Ok(c)
        }
        Err(ConfigError::NotFound { .. }) => Ok(Config::empty(&path)),
        Err(e) => Err(e.into()),
    }
}

/// The flags of `profile add` as a draft (validated like the file).
fn draft_of(a: &ProfileAddArgs) -> CliResult<ProfileDraft> {
    let list = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
    let mut d = ProfileDraft {
        kind: Some(if a.cognito { "cognito" } else { "oidc" }.into()),
        issuer: a.issuer.clone(),
        client_id: a.client_id.clone(),
        scopes: list(&a.scopes),
        redirect_host: a.redirect_host.clone(),
        sign_out_uri: a.sign_out_uri.clone(),
        api_base_urls: list(&a.api_base_urls),
        identity_provider: a.identity_provider.clone(),
        api_token: a.api_token.map(|k| match k {
            TokenKindArg::Id => "id".into(),
            TokenKindArg::Access => "access".into(),
        }),
        api_scheme: a.api_scheme.map(|k| match k {
            SchemeArg::Bearer => "bearer".into(),
            SchemeArg::Raw => "raw".into(),
            SchemeArg::Sigv4 => "sigv4".into(),
        }),
        aws: a.identity_pool_id.as_ref().map(|id| AwsDraft {
            identity_pool_id: Some(id.clone()),
            role_arn: a.role_arn.clone(),
            identity_endpoint: a.identity_endpoint.clone(),
            flow: a.identity_flow.map(|f| match f {
                FlowArg::Enhanced => "enhanced".into(),
                FlowArg::Classic => "classic".into(),
            }),
            ..AwsDraft::default()
        }),
        ..ProfileDraft::default()
    };
    if a.cognito {
        d.region = Some(a.region.clone().unwrap_or_default());
        d.user_pool_id = Some(a.user_pool_id.clone().unwrap_or_default());
        d.domain = Some(a.domain.clone().unwrap_or_default());
    }
    match (a.ports.is_empty(), a.cognito) {
        (false, _) => d.ports = Some(a.ports.iter().map(|p| i64::from(*p)).collect()),
        (true, false) => d.any_port = Some(true),
        (true, true) => {}
    }
    if let Some(browser) = &a.browser {
        let setting = parse_command_line(browser)
            .map_err(|e| Failure::new(Exit::Config, format!("--browser: {}", e.message())))?;
        d.browser = BrowserDraft::from_setting(&setting);
    }
    Ok(d)
}

async fn add(ctx: &Ctx, a: ProfileAddArgs) -> CliResult<Exit> {
    if a.demo {
        return profile_sources::add_demo(ctx, &a.name, a.force, a.make_default).await;
    }
    if let Some(file) = &a.from_file {
        return profile_sources::add_from_file(ctx, &a, file).await;
    }
    if a.domain.is_some() && !a.cognito {
        return Err(Failure::new(
            Exit::Usage,
            "--domain needs --cognito (or --from-file): it is a Cognito user pool's hosted-UI domain.",
        ));
    }
    let mut config = config_to_edit(ctx)?;
    let path = ctx.config_path()?;
    if config.profiles.contains_key(&a.name) && !a.force {
        return Err(Failure::new(Exit::Config, format!("profile `{}` already exists in {}; pass --force to replace it, or choose another name.", a.name, path.display())));
    }
    let first = config.profiles.is_empty();
    let mut next = draft_of(&a)?.validate(&a.name, &path)?;
    if let Some(old) = config.profiles.get(&a.name) {
        if a.browser.is_none() {
            // Machine-local: a replace without --browser keeps this machine's choice.
            next.browser = old.browser.clone();
        }
        sign_out_if_moved(old, &next).await?;
    }
    config.insert(next);
    if a.make_default || first {
        config.default = Some(a.name.clone());
    }
    config.save()?;
    println!(
        "Added profile `{}` to {}{}.",
        a.name,
        path.display(),
        if config.default.as_deref() == Some(a.name.as_str()) {
            " (default)"
        } else {
            ""
        }
    );
    println!();
    print!("{}", Registration(config.profile(&a.name)?));
    Ok(Exit::Ok)
}

/// Signs `old`'s session out before its profile is replaced by `next`, when `next` sends
/// tokens elsewhere; says what happened. A failed revocation is a warning (the local session
/// is gone all the same); a keychain that cannot be reached stops the replace.
pub(super) async fn sign_out_if_moved(old: &Profile, next: &Profile) -> CliResult<()> {
    let moved = old.token_destination_changes(next);
    if moved.is_empty() {
        return Ok(());
    }
    let session = Session::new(old.clone(), SessionOptions::default())?;
    if let Some(out) = session.sign_out_if_moved(next).await? {
        for w in &out.warnings {
            eprintln!("latchkey: warning: {}", one_line(w));
        }
        eprintln!(
            "latchkey: signed out `{}` first ({}its saved session deleted): the new {} send tokens elsewhere.",
            old.name,
            if out.revoked { "refresh token revoked, " } else { "" },
            moved.join(", ")
        );
    }
    Ok(())
}

/// One imported profile's review in `profile import --json`: the profile's name under
/// `profile`, as in every command's JSON.
#[derive(Serialize)]
struct ReviewReport<'a> {
    dropped: &'a [DroppedSetting],
    moves_session: &'a [String],
    profile: &'a str,
    replaces: bool,
    settings: &'a [ReviewedSetting],
}

impl<'a> From<&'a ImportReview> for ReviewReport<'a> {
    fn from(r: &'a ImportReview) -> Self {
        ReviewReport {
            dropped: &r.dropped,
            moves_session: &r.moves_session,
            profile: &r.name,
            replaces: r.replaces,
            settings: &r.settings,
        }
    }
}

/// `profile import FILE`: review every profile of the file, ask (or take `--yes`), sign out a
/// replaced profile's session when its tokens would go elsewhere, then save.
async fn import(ctx: &Ctx, file: &Path, replace: bool, yes: bool, json: bool) -> CliResult<Exit> {
    let text = read_import(file)?;
    let mut config = config_to_edit(ctx)?;
    let reviews = config.review_import(&text, file)?;
    if json {
        print_json(&reviews.iter().map(ReviewReport::from).collect::<Vec<_>>())?;
    } else {
        for review in &reviews {
            print_review(review);
        }
    }
    if let Some(taken) = reviews.iter().find(|r| r.replaces && !replace) {
        return Err(Failure::new(
            Exit::Config,
            format!(
                "profile `{}` already exists; nothing was saved. Pass --replace to replace it after reading the review above, or rename the profile in the file.",
                taken.name
            ),
        ));
    }
    if !yes && !confirmed(&reviews)? {
        println!("Nothing was saved.");
        return Ok(Exit::Ok);
    }
    for review in &reviews {
        if let Some(old) = config.profiles.get(&review.name) {
            sign_out_if_moved(old, &review.profile).await?;
        }
        config.insert_reviewed(review, replace)?;
    }
    if config.default.is_none() && config.profiles.len() == reviews.len() {
        config.default = reviews.first().map(|r| r.name.clone());
    }
    config.save()?;
    for review in &reviews {
        let verb = if review.replaces {
            "Replaced"
        } else {
            "Imported"
        };
        let line = format!(
            "{verb} profile `{}` in {}.",
            review.name,
            ctx.config_path()?.display()
        );
        match json {
            true => eprintln!("{line}"),
            false => println!("{line}"),
        }
    }
    Ok(Exit::Ok)
}

/// The file's text, refusing what cannot be a profile file before parsing it.
pub(super) fn read_import(file: &Path) -> CliResult<String> {
    let cannot = |e: std::io::Error| {
        Failure::new(
            Exit::Config,
            format!("cannot read {}: {e}. Check the path.", file.display()),
        )
    };
    let size = std::fs::metadata(file).map_err(cannot)?.len();
    if size > MAX_IMPORT_BYTES {
        return Err(Failure::new(
            Exit::Config,
            format!(
                "{} is {size} bytes: a profile file is at most {} KiB; nothing was imported.",
                file.display(),
                MAX_IMPORT_BYTES / 1024
            ),
        ));
    }
    std::fs::read_to_string(file).map_err(cannot)
}

/// The review for people: where tokens go first, each change beside what it replaces.
pub(super) fn print_review(review: &ImportReview) {
    let title = match review.replaces {
        true => format!("Profile `{}` (replaces the existing profile)", review.name),
        false => format!("Profile `{}` (new)", review.name),
    };
    println!("{title}");
    for s in &review.settings {
        let mark = if s.security { "!" } else { " " };
        match &s.previous {
            Some(before) => println!("  {mark} {:<24} {}  (was: {before})", s.field, s.value),
            None => println!("  {mark} {:<24} {}", s.field, s.value),
        }
    }
    for d in &review.dropped {
        println!("  dropped {}: {}", d.field, d.reason);
    }
    if !review.moves_session.is_empty() {
        println!(
            "  The existing session of `{}` will be signed out first: {} would send its tokens elsewhere.",
            review.name,
            review.moves_session.join(", ")
        );
    }
    println!("  (! = where tokens go or how the sign-in works)");
    println!();
}

/// Asks on the terminal; without one, `--yes` is needed.
pub(super) fn confirmed(reviews: &[ImportReview]) -> CliResult<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            Exit::Config,
            "nothing was saved: no terminal to ask on. Read the review above, then pass --yes to save it.",
        ));
    }
    let actions: Vec<String> = reviews.iter().map(ImportReview::action).collect();
    print!("{}? [y/N] ", actions.join(", "));
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(Exit::Other, format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Remove a profile, valid or not (the file is read leniently: removing an invalid profile is
/// one way to fix it); unless `keep_session`, sign it out first (revoke the refresh token at
/// the provider and delete it from the keychain), then revoke and delete whatever else is
/// stored under its name (an invalid profile's session, or one an edit left), so nothing is
/// left behind.
async fn remove(ctx: &Ctx, name: &str, keep_session: bool) -> CliResult<Exit> {
    let path = ctx.config_path()?;
    let mut config = match Config::load_lenient(&path) {
        Err(ConfigError::NotFound { .. }) => Config::empty(&path),
        loaded => loaded?,
    };
    if let Some(f) = crate::context::no_profile(&config) {
        return Err(f);
    }
    if !config.invalid.contains_key(name) {
        config.profile(name)?;
    }
    let profile = config.profiles.get(name).cloned();
    config.remove(name);
    if !keep_session {
        if let Some(profile) = profile {
            sign_out_removed(profile).await;
        }
        let removals =
            latchkey_core::remove_sessions_of(&latchkey_core::Vault::system(), &config, name).await;
        match removals {
            Ok(removals) => {
                for r in removals {
                    println!(
                        "Saved {} ({}, client {}): {}.",
                        r.stray.contents(),
                        r.stray.issuer,
                        r.stray.client_id,
                        one_line(&r.describe())
                    );
                }
            }
            Err(e) => eprintln!(
                "latchkey: warning: could not look for other saved sessions of `{name}`: {}",
                one_line(&e.to_string())
            ),
        }
    }
    config.save()?;
    println!("Removed profile `{name}` from {}.", path.display());
    Ok(Exit::Ok)
}

/// Sign a removed (valid) profile out: revoke its refresh token, delete its saved session.
async fn sign_out_removed(profile: Profile) {
    let session = match Session::new(profile, SessionOptions::default()) {
        Ok(session) => session,
        Err(e) => {
            return eprintln!(
                "latchkey: warning: could not sign the profile out: {}",
                one_line(e.message())
            )
        }
    };
    // A session that cannot be restored (expired, damaged) is still deleted below.
    let was_signed_in = matches!(
        session.restore().await,
        Ok(SessionState::SignedIn { .. } | SessionState::Refreshing { .. })
    );
    match session.sign_out(SignOutScope::ThisDevice).await {
        Ok(out) => {
            for w in &out.warnings {
                eprintln!("latchkey: warning: {}", one_line(w));
            }
            match was_signed_in {
                true => println!(
                    "Signed out: {}its saved session deleted from the keychain.",
                    if out.revoked {
                        "refresh token revoked, "
                    } else {
                        ""
                    }
                ),
                false => println!("It was not signed in: no session to sign out."),
            }
        }
        Err(e) => eprintln!(
            "latchkey: warning: could not sign the profile out: {}",
            one_line(e.message())
        ),
    }
}

fn use_profile(ctx: &Ctx, name: &str) -> CliResult<Exit> {
    let mut config = config_to_edit(ctx)?;
    if let Some(f) = crate::context::no_profile(&config) {
        return Err(f);
    }
    config.profile(name)?;
    config.default = Some(name.to_owned());
    config.save()?;
    println!("Profile `{name}` is now the default.");
    Ok(Exit::Ok)
}
