//! `latchkey profile …`: edit the profile file as TOML, validate it with core's rules before
//! writing (so a bad flag never leaves a broken file), and show what to register.

use std::path::Path;

use latchkey_core::config::{Config, Profile, ProfileKind};
use latchkey_core::vault::Vault;
use toml::Value;

use crate::cli::{ProfileAddArgs, ProfileCommand, SchemeArg, TokenKindArg};
use crate::context::Ctx;
use crate::failure::{one_line, CliResult, Exit, Failure};
use crate::output::print_json;

pub async fn run(ctx: &Ctx, cmd: ProfileCommand) -> CliResult<Exit> {
    match cmd {
        ProfileCommand::List { json } => list(ctx, json),
        ProfileCommand::Add(a) => add(ctx, *a),
        ProfileCommand::Show { name, json } => show(ctx, name, json),
        ProfileCommand::Remove { name, keep_session } => remove(ctx, &name, keep_session),
        ProfileCommand::Use { name } => use_profile(ctx, &name),
    }
}

/// The file as a TOML table (empty when it does not exist yet).
fn read_doc(path: &Path) -> CliResult<toml::Table> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            // Validate what is there first: editing an invalid file would hide the problem.
            Config::parse(&text, path)?;
            text.parse::<toml::Table>().map_err(|e| {
                Failure::new(
                    Exit::Config,
                    format!(
                        "{} is not valid TOML: {}",
                        path.display(),
                        one_line(&e.to_string())
                    ),
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(e) => Err(Failure::new(
            Exit::Config,
            format!(
                "cannot read {} ({e}); check its permissions.",
                path.display()
            ),
        )),
    }
}

/// Validate with core's rules, then write atomically (temp file + rename).
fn write_doc(path: &Path, doc: &toml::Table) -> CliResult<Config> {
    let text = toml::to_string_pretty(doc).map_err(|e| {
        Failure::new(
            Exit::Other,
            format!("cannot encode the profile file ({e})."),
        )
    })?;
    let config = Config::parse(&text, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::new(
                Exit::Config,
                format!("cannot create {} ({e}).", dir.display()),
            )
        })?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Failure::new(
                Exit::Config,
                format!(
                    "cannot write {} ({e}); check the directory's permissions.",
                    path.display()
                ),
            )
        })?;
    Ok(config)
}

fn profiles_mut(doc: &mut toml::Table) -> &mut toml::Table {
    let entry = doc
        .entry("profiles")
        .or_insert_with(|| Value::Table(toml::Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(toml::Table::new());
    }
    entry.as_table_mut().expect("just made a table")
}

fn add(ctx: &Ctx, a: ProfileAddArgs) -> CliResult<Exit> {
    let path = ctx.config_path()?;
    let mut doc = read_doc(&path)?;
    let mut t = toml::Table::new();
    let s = |v: &str| Value::String(v.to_owned());
    if a.cognito {
        t.insert("kind".into(), s("cognito"));
        t.insert("region".into(), s(a.region.as_deref().unwrap_or_default()));
        t.insert(
            "user_pool_id".into(),
            s(a.user_pool_id.as_deref().unwrap_or_default()),
        );
        t.insert("domain".into(), s(a.domain.as_deref().unwrap_or_default()));
    } else {
        t.insert("kind".into(), s("oidc"));
    }
    if let Some(i) = &a.issuer {
        t.insert("issuer".into(), s(i));
    }
    t.insert("client_id".into(), s(&a.client_id));
    if !a.scopes.is_empty() {
        t.insert(
            "scopes".into(),
            Value::Array(a.scopes.iter().map(|x| s(x)).collect()),
        );
    }
    if !a.ports.is_empty() {
        t.insert(
            "ports".into(),
            Value::Array(a.ports.iter().map(|p| Value::Integer(*p as i64)).collect()),
        );
        if !a.cognito {
            t.insert("any_port".into(), Value::Boolean(false));
        }
    }
    if let Some(h) = &a.redirect_host {
        t.insert("redirect_host".into(), s(h));
    }
    if let Some(u) = &a.sign_out_uri {
        t.insert("sign_out_uri".into(), s(u));
    }
    if !a.api_base_urls.is_empty() {
        t.insert(
            "api_base_urls".into(),
            Value::Array(a.api_base_urls.iter().map(|x| s(x)).collect()),
        );
    }
    if let Some(k) = a.api_token {
        t.insert(
            "api_token".into(),
            s(match k {
                TokenKindArg::Id => "id",
                TokenKindArg::Access => "access",
            }),
        );
    }
    if let Some(k) = a.api_scheme {
        t.insert(
            "api_scheme".into(),
            s(match k {
                SchemeArg::Bearer => "bearer",
                SchemeArg::Raw => "raw",
            }),
        );
    }
    if let Some(idp) = &a.identity_provider {
        t.insert("identity_provider".into(), s(idp));
    }
    if !a.cognito && a.ports.is_empty() {
        t.insert("any_port".into(), Value::Boolean(true));
    }
    let profiles = profiles_mut(&mut doc);
    if profiles.contains_key(&a.name) && !a.force {
        return Err(Failure::new(Exit::Config, format!("profile `{}` already exists in {}; pass --force to replace it, or choose another name.", a.name, path.display())));
    }
    let first = profiles.is_empty();
    profiles.insert(a.name.clone(), Value::Table(t));
    if a.make_default || first {
        doc.insert("default".into(), s(&a.name));
    }
    let config = write_doc(&path, &doc)?;
    let profile = config.profile(&a.name)?;
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
    print_registration(profile);
    Ok(Exit::Ok)
}

fn print_registration(p: &Profile) {
    println!("Register at the provider (app client {}):", p.client_id);
    if p.any_port {
        println!(
            "  callback URL (any loopback port, RFC 8252): {}",
            p.redirect_uris().join(", ")
        );
    } else {
        println!("  Allowed callback URLs:");
        for u in p.redirect_uris() {
            println!("    {u}");
        }
    }
    let outs = p.sign_out_uris();
    if !outs.is_empty() {
        println!("  Allowed sign-out URLs:");
        for u in outs {
            println!("    {u}");
        }
    }
    if p.is_cognito() {
        println!(
            "  Grant: authorization code; scopes: {}; no client secret.",
            p.scopes.join(" ")
        );
    }
}

fn list(ctx: &Ctx, json: bool) -> CliResult<Exit> {
    let config = ctx.load_config()?;
    let default = config.default_profile().ok().map(|p| p.name.clone());
    if json {
        let v: Vec<_> = config
            .profiles
            .values()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "kind": if p.is_cognito() { "cognito" } else { "oidc" },
                    "issuer": p.issuer(),
                    "client_id": p.client_id,
                    "default": default.as_deref() == Some(p.name.as_str()),
                })
            })
            .collect();
        print_json(&v)?;
    } else if config.profiles.is_empty() {
        println!(
            "No profiles. Add one with `latchkey profile add NAME --cognito …` or `--issuer URL`."
        );
    } else {
        for p in config.profiles.values() {
            let mark = if default.as_deref() == Some(p.name.as_str()) {
                "*"
            } else {
                " "
            };
            println!(
                "{mark} {:<16} {:<8} {}",
                p.name,
                if p.is_cognito() { "cognito" } else { "oidc" },
                p.issuer()
            );
        }
    }
    Ok(Exit::Ok)
}

fn show(ctx: &Ctx, name: Option<String>, json: bool) -> CliResult<Exit> {
    let config = ctx.load_config()?;
    let name = name.or_else(|| ctx.global.profile.clone());
    let p = match &name {
        Some(n) => config.profile(n)?,
        None => config.default_profile()?,
    };
    if json {
        print_json(&serde_json::json!({
            "profile": p,
            "issuer": p.issuer(),
            "redirect_uris": p.redirect_uris(),
            "sign_out_uris": p.sign_out_uris(),
            "keychain_account": p.keychain_account(),
        }))?;
        return Ok(Exit::Ok);
    }
    println!(
        "Profile `{}`{}",
        p.name,
        if config.default.as_deref() == Some(p.name.as_str()) {
            " (default)"
        } else {
            ""
        }
    );
    match &p.kind {
        ProfileKind::Cognito {
            region,
            user_pool_id,
            domain,
            ..
        } => {
            println!("  kind            Amazon Cognito");
            println!("  region          {region}");
            println!("  user pool       {user_pool_id}");
            println!("  hosted UI       {domain}");
        }
        ProfileKind::Oidc { .. } => println!("  kind            OpenID Connect"),
    }
    println!("  issuer          {}", p.issuer());
    println!("  client id       {}", p.client_id);
    println!("  scopes          {}", p.scopes.join(" "));
    if !p.api_base_urls.is_empty() {
        println!(
            "  API origins     {}",
            p.api_base_urls
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "  API token       {:?} token, {:?} scheme",
        p.api_token, p.api_scheme
    );
    if let Some(b) = &p.browser_command {
        println!("  browser         {}", b.join(" "));
    }
    println!();
    print_registration(p);
    Ok(Exit::Ok)
}

fn remove(ctx: &Ctx, name: &str, keep_session: bool) -> CliResult<Exit> {
    let path = ctx.config_path()?;
    let config = ctx.load_config()?;
    let profile = config.profile(name)?.clone();
    let mut doc = read_doc(&path)?;
    profiles_mut(&mut doc).remove(name);
    if doc.get("default").and_then(|v| v.as_str()) == Some(name) {
        doc.remove("default");
    }
    write_doc(&path, &doc)?;
    println!("Removed profile `{name}` from {}.", path.display());
    if !keep_session {
        match Vault::system().delete(&profile.keychain_account()) {
            Ok(()) => println!("Deleted its saved session from the keychain (if there was one)."),
            Err(e) => eprintln!(
                "latchkey: warning: could not delete its saved session: {}",
                one_line(e.message())
            ),
        }
    }
    Ok(Exit::Ok)
}

fn use_profile(ctx: &Ctx, name: &str) -> CliResult<Exit> {
    let path = ctx.config_path()?;
    let config = ctx.load_config()?;
    config.profile(name)?;
    let mut doc = read_doc(&path)?;
    doc.insert("default".into(), Value::String(name.to_owned()));
    write_doc(&path, &doc)?;
    println!("Profile `{name}` is now the default.");
    Ok(Exit::Ok)
}
