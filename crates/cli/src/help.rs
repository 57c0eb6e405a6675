//! What `--help` says after the options: each command's examples and the exit codes that command
//! can return (rows of the one `EXIT_TABLE`); the full table and the environment once, at the top.

use crate::failure::{Exit, EXIT_TABLE};

use Exit::*;

/// The exit codes each command can return, by its path under `latchkey`: what its `--help`
/// and its entry in the man page list. Read from each command's code: every command that runs
/// can end 0, 1 (internal), 2 (usage) and 130 (Ctrl-C); the rest are its own failures.
#[rustfmt::skip]
pub const COMMAND_EXITS: &[(&str, &[Exit])] = &[
    ("login", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, SignInAborted, PortUnavailable, Interrupted]),
    ("status", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, NotSignedIn, SignInNeeded, Interrupted]),
    ("token", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, NotSignedIn, SignInNeeded, HandOutRefused, Interrupted]),
    ("call", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, OriginNotAllowed, HttpStatus, AwsRefused, NotSignedIn, HandOutRefused, Interrupted]),
    ("userinfo", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, NotSignedIn, Interrupted]),
    ("inspect", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, ExpectationFailed, NotSignedIn, Interrupted]),
    ("logout", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, Interrupted]),
    ("profile list", &[Ok, Other, Usage, Config, Interrupted]),
    ("profile add", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, Interrupted]),
    ("profile import", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, Interrupted]),
    ("profile show", &[Ok, Other, Usage, Config, Interrupted]),
    ("profile remove", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, Interrupted]),
    ("profile use", &[Ok, Other, Usage, Config, Interrupted]),
    ("profile browser", &[Ok, Other, Usage, Config, Interrupted]),
    ("doctor", &[Ok, Other, Usage, Interrupted]),
    ("aws credentials", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, AwsRefused, NotSignedIn, SignInNeeded, HandOutRefused, Interrupted]),
    ("aws whoami", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, AwsRefused, NotSignedIn, Interrupted]),
    ("aws config-snippet", &[Ok, Other, Usage, Config, Interrupted]),
    ("aws serve", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, AwsRefused, NotSignedIn, SignInNeeded, Interrupted]),
    ("exec", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, AwsRefused, NotSignedIn, SignInNeeded]),
    ("env", &[Ok, Other, Usage, ProviderUnreachable, Keychain, Config, AwsRefused, NotSignedIn, SignInNeeded, Interrupted]),
    ("completions", &[Ok, Other, Usage]),
    ("man", &[Ok, Other, Usage]),
    ("devidp", &[Ok, Other, Usage]),
    ("agent status", &[Ok, Other, Usage]),
    ("agent stop", &[Ok, Other, Usage]),
    ("agent install", &[Ok, Other, Usage]),
];

/// The top-level examples: `latchkey --help` and the man page's EXAMPLES.
pub const MAIN_EXAMPLES: &str = "\
Examples:
  latchkey profile add work --cognito --region eu-west-1 \\
      --user-pool-id eu-west-1_AbCdEf123 --client-id 1example23456789 \\
      --domain https://myapp.auth.eu-west-1.amazoncognito.com
  latchkey login
  curl -H \"Authorization: $(latchkey token)\" https://api.example.com/me
  latchkey call https://api.example.com/me
  latchkey aws credentials          # for `credential_process` in ~/.aws/config
  latchkey status --json";

/// The examples and notes of `latchkey aws` and its commands.
pub const AWS_EXAMPLES: &str = "\
Examples:
  latchkey aws credentials         # credential_process JSON (Version 1)
  eval \"$(latchkey aws credentials --format env)\"
  latchkey aws whoami
  latchkey aws config-snippet >> ~/.aws/config
  aws sts get-caller-identity --profile NAME

The profile needs an `[profiles.NAME.aws]` table with `identity_pool_id` (or
`latchkey profile add … --identity-pool-id ID`). Credentials are kept in the keychain next
to the session and fetched again 16 minutes before they expire (AWS SDKs refresh from 15).
For `latchkey aws` and `call --sigv4`, exit 5 also means no `[aws]` table, the identity pool
not found or a wrong region, and exit 10 that the identity pool refused: the user pool or app
client is not one of its providers, a role the user does not have or that does not trust the
pool, or a rejected ID token.";

/// `latchkey aws serve --help`: the endpoint, who may reach it, how it ends.
pub const AWS_SERVE_HELP: &str = "\
Examples:
  latchkey aws serve        # prints two export lines, serves until Ctrl-C
  # in another terminal, the two lines as printed:
  export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/credentials
  export AWS_CONTAINER_AUTHORIZATION_TOKEN=TOKEN
  aws s3 ls                 # any AWS SDK or tool asks the endpoint

For long-running programs, IDEs and containers on this machine: the AWS SDKs' container
credentials provider (the one ECS uses) asks the endpoint for credentials and asks again before
they expire, so nothing goes stale and no key is written to disk. Each request gets the
profile's current credentials, from the session agent when one runs (`latchkey agent`), else
from this process (renewed through the sign-in). The endpoint listens on 127.0.0.1 only, on a
free port, and answers only requests that carry this run's random token (a new one each run)
and name 127.0.0.1 or localhost with its port in the Host header; others get 401 or 400 and no
credentials. Anyone who has the token can take the credentials while it runs: keep the two
lines out of files and shared shells. Ctrl-C stops it (exit 0).";

/// `latchkey exec --help`: what the program gets, and what its exit status becomes.
pub const EXEC_HELP: &str = "\
Examples:
  latchkey exec -- aws s3 ls
  latchkey exec --profile work -- terraform plan
  latchkey exec -- python3 deploy.py

The program gets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_CREDENTIAL_EXPIRATION, and AWS_REGION and AWS_DEFAULT_REGION set to the identity pool's
region, in its own environment only: they are never printed, written to a file or left in
your shell. Variables that would make an AWS SDK look elsewhere for credentials are removed
for it: AWS_PROFILE, AWS_DEFAULT_PROFILE, AWS_SECURITY_TOKEN, AWS_CONTAINER_* and
AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME. The credentials last about an
hour; for a longer-running program use `latchkey aws serve`, which hands out fresh ones.

SIGINT, SIGTERM and SIGHUP sent to latchkey are passed on to the program (Ctrl-C in the
terminal reaches it directly, once). Once the program
runs, latchkey exits with its exit status: 128 + N when signal N ended it (as a shell says),
127 when the program was not found and 126 when it could not be run. Before that, the codes
below.";

/// `latchkey env --help`: the shells, and why `exec` is safer.
pub const ENV_HELP: &str = "\
Examples:
  eval \"$(latchkey env --shell bash)\"          # bash, zsh
  latchkey env --shell fish | source
  latchkey env --shell powershell | Invoke-Expression
  latchkey env --shell json | jq -r .AWS_ACCESS_KEY_ID

Prefer `latchkey exec -- CMD`: with it the credentials stay out of your shell's environment
(every program you start later inherits them), out of your history and scrollback, and they
end with the program. Exported variables keep stale credentials after they expire (about an
hour); run this again then. The lines first unset AWS_PROFILE and the other variables that
would make an SDK look elsewhere (see `latchkey exec --help`); each value is quoted for the
shell named, and a value with a control character is refused (exit 3), never written.";

/// The environment variables the CLI reads, once: in `latchkey --help` and the man page.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "LATCHKEY_CONFIG",
        "profile file (default: config.toml, OS config dir)",
    ),
    (
        "LATCHKEY_PROFILE",
        "profile to use when --profile is not given",
    ),
    (
        "LATCHKEY_KEYCHAIN_SERVICE",
        "keychain service (default `latchkey`, as the app)",
    ),
    (
        "LATCHKEY_KEYCHAIN",
        "Linux: `auto`, `secret-service` or `kernel`",
    ),
    (
        "LATCHKEY_BROWSER_COMMAND",
        "browser: JSON list with {url}, `none`, or program",
    ),
    (
        "LATCHKEY_RUNTIME_DIR",
        "lock files (default: $XDG_RUNTIME_DIR/latchkey)",
    ),
    (
        "LATCHKEY_AGENT",
        "`off`: never ask the session agent (latchkey agent)",
    ),
    (
        "LATCHKEY_LOG",
        "with -v: a log filter, e.g. latchkey_core=debug",
    ),
];

/// What a code means: its row of [`EXIT_TABLE`].
pub fn meaning(code: u8) -> &'static str {
    EXIT_TABLE
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("undocumented", |(_, text)| text)
}

/// The exit codes `path` (e.g. `profile add`) can return; none for a command that only groups
/// others (`profile`, `aws`).
pub fn exits_of(path: &str) -> &'static [Exit] {
    COMMAND_EXITS
        .iter()
        .find(|(p, _)| *p == path)
        .map_or(&[], |(_, exits)| exits)
}

/// A command's text after its options: `examples`, then the exit codes `path` can return.
pub fn after(path: &str, examples: &str) -> String {
    format!(
        "{}\n\n{}",
        prose(examples.trim_end()),
        exit_block(exits_of(path))
    )
}

/// `text` with each paragraph of prose on one line, so clap wraps it at the terminal's width
/// (and the man page's 80 columns) instead of breaking it again after the source's line
/// breaks. Indented lines (examples, a kubeconfig) and blank lines stay as they are.
pub fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut in_paragraph = false;
    for line in text.lines() {
        let is_prose = !line.is_empty() && !line.starts_with(char::is_whitespace);
        if in_paragraph && is_prose {
            out.push(' ');
        } else if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        // A line ending in `:` introduces what follows (`Examples:`); it ends its paragraph.
        in_paragraph = is_prose && !line.ends_with(':');
    }
    out
}

/// `Exit codes (…):` and one row per code of `exits`.
pub fn exit_block(exits: &[Exit]) -> String {
    let rows = exits.iter().map(|e| row(*e as u8)).collect::<Vec<_>>();
    format!(
        "Exit codes (every code: latchkey --help):\n{}",
        rows.join("\n")
    )
}

/// The codes of `exits` on one line, for the man page's command entries (the table is in its
/// EXIT STATUS section).
pub fn exit_line(exits: &[Exit]) -> String {
    let codes = exits
        .iter()
        .map(|e| (*e as u8).to_string())
        .collect::<Vec<_>>();
    format!("Exit status: {} (see EXIT STATUS).", codes.join(", "))
}

/// The whole table: `latchkey --help` and the man page show it once.
pub fn exit_table() -> String {
    let rows = EXIT_TABLE.iter().map(|(c, _)| row(*c)).collect::<Vec<_>>();
    format!("Exit codes:\n{}", rows.join("\n"))
}

/// `Environment:` and one row per variable.
pub fn environment() -> String {
    let rows = ENVIRONMENT
        .iter()
        .map(|(name, text)| format!("  {name:<25}  {text}"))
        .collect::<Vec<_>>();
    format!("Environment:\n{}", rows.join("\n"))
}

fn row(code: u8) -> String {
    format!("  {code:<3} {}", meaning(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_a_command_lists_is_in_the_table_and_in_order() {
        for (path, exits) in COMMAND_EXITS {
            for e in *exits {
                assert_ne!(meaning(*e as u8), "undocumented", "`{path}` lists {e:?}");
            }
            let codes: Vec<u8> = exits.iter().map(|e| *e as u8).collect();
            assert!(codes.is_sorted(), "`{path}` lists its codes in order");
            for always in [Ok, Other, Usage] {
                assert!(exits.contains(&always), "`{path}` can exit {always:?}");
            }
        }
    }

    #[test]
    fn the_table_and_the_environment_fit_80_columns() {
        let text = format!("{}\n{}", exit_table(), environment());
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "over 80 columns: {line}");
        }
    }

    #[test]
    fn prose_is_one_line_per_paragraph_and_examples_stay() {
        let text =
            "Examples:\n  latchkey a \\\n      --b\n\nOne sentence\ngoes on.\n  indented\nNext.";
        assert_eq!(
            prose(text),
            "Examples:\n  latchkey a \\\n      --b\n\nOne sentence goes on.\n  indented\nNext."
        );
    }

    #[test]
    fn the_table_is_in_order_and_two_is_a_usage_error() {
        let codes: Vec<u8> = EXIT_TABLE.iter().map(|(c, _)| *c).collect();
        assert!(codes.is_sorted() && codes.windows(2).all(|w| w[0] != w[1]));
        assert_eq!(Usage as u8, 2);
        assert_eq!(Interrupted as u8, 130);
        assert!(meaning(2).starts_with("usage error"));
    }
}
