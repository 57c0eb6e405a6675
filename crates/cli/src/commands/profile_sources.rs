//! `profile add --demo` (the built-in development provider) and `profile add --from-file` (a
//! Cognito app client's settings from another tool's file, reviewed before it is saved).

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use latchkey_core::config::{Config, Profile, MAX_IMPORT_BYTES};

use super::profile::{config_to_edit, confirmed, print_review, read_import, sign_out_if_moved};
use super::profile_view::Registration;
use crate::app_client::{self, AppClient};
use crate::context::Ctx;
use crate::failure::{CliResult, Exit, Failure};
use crate::profile_args::ProfileAddArgs;

/// The name `latchkey login` gives the demo profile it offers.
pub const DEMO_NAME: &str = "demo";

/// `profile add NAME --demo`.
pub async fn add_demo(ctx: &Ctx, name: &str, force: bool, make_default: bool) -> CliResult<Exit> {
    let (profile, path, is_default) = save_demo(ctx, name, force, make_default)?;
    println!("Added profile `{}` to {}.", profile.name, path.display());
    print!("{}", demo_next_steps(&profile.name, is_default));
    Ok(Exit::Ok)
}

/// What to do after adding demo profile `name` (`--profile NAME` unless it is the default).
fn demo_next_steps(name: &str, is_default: bool) -> String {
    let flag = match is_default {
        true => String::new(),
        false => format!(" --profile {name}"),
    };
    format!(
        "It uses the built-in development provider, which Latchkey runs in-process whenever a \
         command needs it (no account, no network). Next:\n  latchkey login{flag}     (sign in as \
         {} / {})\n  latchkey call{flag} /demo-api/me\n",
        latchkey_devidp::DEMO_USERNAME,
        latchkey_devidp::DEMO_PASSWORD
    )
}

/// Saves the demo profile `name` (the default when asked, or when it is the first profile);
/// returns it, the file and whether it is the default.
pub fn save_demo(
    ctx: &Ctx,
    name: &str,
    force: bool,
    make_default: bool,
) -> CliResult<(Profile, std::path::PathBuf, bool)> {
    let mut config = config_to_edit(ctx)?;
    let path = ctx.config_path()?;
    refuse_existing(&config, name, force, &path)?;
    let profile = latchkey_demo::demo_profile(name, latchkey_demo::DemoPorts::PREFERRED);
    let first = config.profiles.is_empty();
    config.insert(profile.clone());
    if make_default || first {
        config.default = Some(name.to_owned());
    }
    config.save()?;
    let is_default = config.default.as_deref() == Some(name);
    Ok((profile, path, is_default))
}

fn refuse_existing(config: &Config, name: &str, force: bool, path: &Path) -> CliResult<()> {
    if (config.profiles.contains_key(name) || config.invalid.contains_key(name)) && !force {
        return Err(Failure::new(
            Exit::Config,
            format!(
                "profile `{name}` already exists in {}; pass --force to replace it, or choose another name.",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Asks on `output` whether to add the demo profile, reads the answer from `input`: yes on
/// Enter, `y` or `yes`; anything else (and the end of the input) is no.
pub fn ask_to_add_demo(input: &mut impl BufRead, output: &mut impl Write) -> std::io::Result<bool> {
    write!(
        output,
        "No profile yet. Add the built-in development provider as profile `{DEMO_NAME}`? [Y/n] "
    )?;
    output.flush()?;
    let mut answer = String::new();
    if input.read_line(&mut answer)? == 0 {
        return Ok(false);
    }
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "" | "y" | "yes"
    ))
}

/// `profile add NAME --from-file FILE`: read, show what was read from where and the review,
/// ask (or take `--yes`), sign out a replaced profile's session when its tokens would go
/// elsewhere, then save.
pub async fn add_from_file(ctx: &Ctx, a: &ProfileAddArgs, file: &Path) -> CliResult<Exit> {
    let (label, text) = read_source(file)?;
    let client = app_client::read(&label, &text, a.domain.as_deref())
        .map_err(|e| Failure::new(Exit::Config, e.to_string()))?;
    let mut config = config_to_edit(ctx)?;
    let path = ctx.config_path()?;
    refuse_existing(&config, &a.name, a.force, &path)?;
    let review = config.review_draft(&a.name, client.draft.clone(), Path::new(&label))?;
    print_read(&label, &client);
    print_review(&review);
    let reviews = [review];
    if !a.yes && !confirmed(&reviews)? {
        println!("Nothing was saved.");
        return Ok(Exit::Ok);
    }
    let [review] = reviews;
    if let Some(old) = config.profiles.get(&a.name) {
        sign_out_if_moved(old, &review.profile).await?;
    }
    let first = config.profiles.is_empty();
    config.insert_reviewed(&review, a.force)?;
    if a.make_default || first {
        config.default = Some(a.name.clone());
    }
    config.save()?;
    println!("Added profile `{}` to {}.", a.name, path.display());
    println!();
    print!("{}", Registration(config.profile(&a.name)?));
    Ok(Exit::Ok)
}

/// The file's name for messages and its text; `-` is stdin (as large as a file may be).
fn read_source(file: &Path) -> CliResult<(String, String)> {
    if file != Path::new("-") {
        return Ok((file.display().to_string(), read_import(file)?));
    }
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_IMPORT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| Failure::new(Exit::Config, format!("cannot read stdin: {e}.")))?;
    if text.len() as u64 > MAX_IMPORT_BYTES {
        return Err(Failure::new(
            Exit::Config,
            format!(
                "stdin holds more than {} KiB: not an app client's settings; nothing was imported.",
                MAX_IMPORT_BYTES / 1024
            ),
        ));
    }
    Ok(("<stdin>".into(), text))
}

/// What was read, from which key of which file, and what is left to do at the provider.
fn print_read(label: &str, client: &AppClient) {
    println!("Read from {label} ({}):", client.format);
    for v in &client.read {
        println!("  {:<22} {}   <- {}", v.setting, v.value, v.source);
    }
    for note in &client.notes {
        println!("  note: {note}");
    }
    println!();
}

/// Whether the user on a terminal wants the demo profile (`latchkey login` with no profile).
pub fn terminal_wants_demo() -> CliResult<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    ask_to_add_demo(&mut std::io::stdin().lock(), &mut std::io::stderr())
        .map_err(|e| Failure::new(Exit::Other, format!("cannot read the answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> (bool, String) {
        let mut out = Vec::new();
        let yes = ask_to_add_demo(&mut text.as_bytes(), &mut out).unwrap();
        (yes, String::from_utf8(out).unwrap())
    }

    #[test]
    fn enter_and_yes_add_the_demo_and_anything_else_does_not() {
        for text in ["\n", "y\n", "Yes\n"] {
            assert!(answer(text).0, "{text:?} is a yes");
        }
        for text in ["n\n", "no\n", "later\n", ""] {
            assert!(!answer(text).0, "{text:?} is a no");
        }
    }

    #[test]
    fn the_question_is_one_line_that_names_the_profile_and_the_default() {
        let (_, asked) = answer("\n");
        assert_eq!(asked.lines().count(), 1);
        assert!(asked.ends_with("[Y/n] "));
    }
}
