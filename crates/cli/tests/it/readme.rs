//! The user documentation against the CLI and the tree: every `latchkey …` command and `--flag`
//! that README.md, CONTRIBUTING.md and docs/*.md show exists in the CLI's clap definition, and
//! every relative link (and `#anchor`) in them resolves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::messages::{cli_definition, devidp_flags};

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md, CONTRIBUTING.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages
}

/// A page split into its code (fenced blocks, line by line, `\` continuations joined, and
/// inline spans) and its prose (everything else, inline code removed).
struct Page {
    code: Vec<String>,
    prose: Vec<String>,
}

fn split_page(text: &str) -> Page {
    let mut page = Page {
        code: Vec::new(),
        prose: Vec::new(),
    };
    let mut fenced = false;
    let mut continued = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continued.push_str(line.trim_end_matches('\\'));
            if !line.ends_with('\\') {
                page.code.push(std::mem::take(&mut continued));
            }
            continue;
        }
        let mut prose = String::new();
        for (i, part) in line.split('`').enumerate() {
            match i % 2 {
                1 => page.code.push(part.to_owned()),
                _ => prose.push_str(part),
            }
        }
        page.prose.push(prose);
    }
    page
}

/// Each `latchkey` invocation in a line of code: the words after the program, up to the end
/// of the shell command (`|`, `;`, `&`, `>`, `)`, a comment or a closing quote).
fn invocations(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut words = code.split_whitespace();
    let mut previous = "";
    while let Some(word) = words.next() {
        let program = word.rsplit(['(', '=']).next().unwrap_or(word);
        let program = program.trim_start_matches(['"', '\'', '$', '<']);
        let is_latchkey = program == "latchkey"
            || (program.starts_with('/') && program.ends_with("/bin/latchkey"));
        // After an option it is the option's value: `cargo … -p latchkey` (the app's package).
        let is_argument = previous.starts_with('-');
        previous = word;
        if !is_latchkey || is_argument {
            continue;
        }
        let mut args = Vec::new();
        for word in words.by_ref() {
            if word.starts_with(['|', ';', '&', '>', '<', '#', ')']) {
                break;
            }
            let clean = word.trim_end_matches(['"', '\'', ')', ',', ';', '.', ':']);
            if !clean.is_empty() {
                args.push(clean.trim_start_matches(['"', '\'']).to_owned());
            }
            if clean.len() != word.len() {
                break;
            }
        }
        found.push(args);
    }
    found
}

/// A placeholder for a word the reader supplies (`NAME`, `SHELL`, `…`).
fn is_placeholder(word: &str) -> bool {
    word.contains('…') || word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// The long flags (and visible aliases) of `cmd`, and with `deep` of all its subcommands.
fn flags_of(cmd: &clap::Command, deep: bool, out: &mut BTreeSet<String>) {
    for arg in cmd.get_arguments() {
        out.extend(arg.get_long().map(str::to_owned));
        out.extend(
            arg.get_visible_aliases()
                .into_iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    if deep {
        for sub in cmd.get_subcommands() {
            flags_of(sub, true, out);
        }
    }
}

/// Whether the argument of `cmd` or its ancestors named by `word` (`--profile`, `-p`) takes a
/// value that is the next word.
fn takes_value(chain: &[&clap::Command], word: &str) -> bool {
    if word.contains('=') {
        return false;
    }
    let arg =
        chain
            .iter()
            .flat_map(|c| c.get_arguments())
            .find(|a| match word.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => word.len() == 2 && a.get_short() == word.chars().nth(1),
            });
    arg.is_some_and(|a| a.get_action().takes_values())
}

/// What is wrong with one invocation (`args` after `latchkey`), if anything.
fn check_invocation(
    root: &clap::Command,
    args: &[String],
    devidp: &BTreeSet<String>,
) -> Option<String> {
    let mut chain = vec![root];
    let mut subtree = false;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let current = *chain.last().unwrap();
        if let Some(flag) = word.strip_prefix("--") {
            let name = flag.split('=').next().unwrap();
            let mut known = BTreeSet::from(["help".to_owned(), "version".to_owned()]);
            for cmd in &chain {
                flags_of(cmd, subtree && std::ptr::eq(*cmd, current), &mut known);
            }
            if current.get_name() == "devidp" {
                known.extend(devidp.iter().cloned());
            }
            if !name.is_empty() && !known.contains(name) {
                return Some(format!(
                    "`--{name}` is not a flag of `{}`",
                    current.get_name()
                ));
            }
            if takes_value(&chain, word) {
                words.next();
            }
        } else if word.starts_with('-') {
            if takes_value(&chain, word) {
                words.next();
            }
        } else if current.has_subcommands() && !subtree {
            if is_placeholder(word) {
                subtree = true;
                continue;
            }
            match current.find_subcommand(word) {
                Some(sub) => chain.push(sub),
                None => {
                    return Some(format!(
                        "`{word}` is not a subcommand of `{}`",
                        current.get_name()
                    ))
                }
            }
        }
    }
    None
}

/// The CLI's definition, built (global arguments propagated, actions settled).
fn built_cli() -> clap::Command {
    let mut cli = cli_definition::Cli::command();
    cli.build();
    cli
}

#[test]
fn every_command_and_flag_the_docs_show_exists() {
    let cli = built_cli();
    let devidp = devidp_flags();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for code in split_page(&text).code {
            for args in invocations(&code) {
                checked += 1;
                if let Some(problem) = check_invocation(&cli, &args, &devidp) {
                    problems.push(format!(
                        "{}: `latchkey {}`: {problem}",
                        page.display(),
                        args.join(" ")
                    ));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} invocations found: is the scanner broken?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_finds_wrong_commands_and_flags() {
    let cli = built_cli();
    let devidp = BTreeSet::from(["port".to_owned()]);
    let check = |line: &str| {
        invocations(line)
            .into_iter()
            .filter_map(|args| check_invocation(&cli, &args, &devidp))
            .count()
    };
    assert_eq!(
        check("latchkey --profile work token --format kubectl | jq"),
        0
    );
    assert_eq!(check("source <(latchkey completions bash)"), 0);
    assert_eq!(check("latchkey devidp --port 1 &"), 0);
    assert_eq!(check("latchkey profile add … --identity-pool-id ID"), 0);
    assert_eq!(check("latchkey tokn"), 1, "an unknown command");
    assert_eq!(check("latchkey token --acces"), 1, "an unknown flag");
    assert_eq!(
        check("x=$(latchkey profile shw work)"),
        1,
        "an unknown subcommand"
    );
    assert_eq!(
        check("latchkey devidp --prt 1"),
        1,
        "an unknown devidp flag"
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown page's headings (outside code blocks).
fn anchors(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fenced = false;
    let mut anchors = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            anchors.insert(slug(line.trim_start_matches('#')));
        }
    }
    anchors
}

/// The `(target)`s of the `[text](target)` links in a line of prose.
fn link_targets(prose: &str) -> Vec<&str> {
    prose
        .match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &prose[at + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .collect()
}

/// What is wrong with a relative link `target` of `page`, if anything.
fn check_link(page: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    let path = match file {
        "" => page.to_owned(),
        f => page.parent().unwrap().join(f),
    };
    if !path.exists() {
        return Some(format!("`{target}`: no file {}", path.display()));
    }
    let is_page = path.extension().is_some_and(|e| e == "md");
    if !anchor.is_empty() && is_page && !anchors(&path).contains(anchor) {
        return Some(format!(
            "`{target}`: no heading `#{anchor}` in {}",
            path.display()
        ));
    }
    None
}

#[test]
fn every_relative_link_of_the_docs_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for prose in split_page(&text).prose {
            for target in link_targets(&prose) {
                checked += 1;
                if let Some(problem) = check_link(&page, target) {
                    problems.push(format!("{}: {problem}", page.display()));
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: is the scanner broken?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_link_check_finds_missing_files_and_anchors() {
    let readme = root().join("README.md");
    assert_eq!(check_link(&readme, "docs/configuration.md#timings"), None);
    assert_eq!(check_link(&readme, "#troubleshooting"), None);
    assert!(check_link(&readme, "docs/nowhere.md").is_some());
    assert!(check_link(&readme, "docs/configuration.md#no-such-heading").is_some());
    assert_eq!(
        slug(" AWS credentials: `[profiles.NAME.aws]`"),
        "aws-credentials-profilesnameaws"
    );
}
