//! The crate's layers, enforced: every file under `src/` may import only from its own layer or
//! the ones below it (floor → config → adapters → session → providers), never from the crate root.
//!
//! The scan reads the source as text: comments and string literals are blanked, then every
//! `crate::…` and escaping `super::…` path is resolved to a module and that module to a layer.

use std::fmt;
use std::path::{Path, PathBuf};

/// The layers, lowest first: a module may import from its own layer and the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// Secret types, the clock, the HTTP client and the error type: they import nothing above.
    Floor,
    /// Profiles and their checks: plain data, seen by everything above.
    Config,
    /// One room per outside party: provider, browser, listener, keychain, AWS, APIs.
    Adapters,
    /// The use cases (sign in, refresh, sign out) around a `TokenSet`.
    Session,
    /// Credential providers beside the session, seeing it through a narrow trait.
    Providers,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Module paths (below the crate root) and their layer; the longest matching prefix wins.
const LAYERS: &[(&str, Layer)] = &[
    ("secret", Layer::Floor),
    ("clock", Layer::Floor),
    ("http", Layer::Floor),
    ("error", Layer::Floor),
    ("config", Layer::Config),
    ("api", Layer::Adapters),
    ("authorize", Layer::Adapters),
    ("browser", Layer::Adapters),
    ("browser_profiles", Layer::Adapters),
    ("loopback", Layer::Adapters),
    ("provider", Layer::Adapters),
    ("token_endpoint", Layer::Adapters),
    ("verify", Layer::Adapters),
    ("inspect", Layer::Adapters),
    ("vault", Layer::Adapters),
    ("aws", Layer::Adapters),
    ("stray", Layer::Adapters),
    ("session", Layer::Session),
    ("aws::provider", Layer::Providers),
    ("agent", Layer::Providers),
];

/// Files that wire the layers together or check the crate from outside and may import anything:
/// the crate root, this test and the README check.
const ROOT_FILES: &[&str] = &["lib.rs", "layers_test.rs", "readme.rs"];

/// The layer of a module path (`["aws", "settings"]`), by the longest prefix in [`LAYERS`].
fn layer_of(module: &[String]) -> Option<Layer> {
    LAYERS
        .iter()
        .filter(|(prefix, _)| {
            let prefix: Vec<&str> = prefix.split("::").collect();
            prefix.len() <= module.len() && prefix.iter().zip(module).all(|(p, m)| p == m)
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, layer)| *layer)
}

/// The module a file defines: `aws/settings.rs` → `aws::settings`, `aws/mod.rs` → `aws`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The source with comments and the contents of string and char literals replaced by spaces
/// (newlines kept, so offsets still give line numbers).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let rest = &chars[i..];
        let end = if rest.starts_with(&['/', '/']) {
            i + rest.iter().position(|&c| c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            i + 2 + find(&rest[2..], &['*', '/']).map_or(rest.len() - 2, |p| p + 2)
        } else if let Some(len) =
            raw_string_len(rest).filter(|_| i == 0 || !is_ident_char(chars[i - 1]))
        {
            i + len
        } else if rest[0] == '"' {
            i + quoted_len(rest, '"')
        } else if rest[0] == '\'' && is_char_literal(rest) {
            i + quoted_len(rest, '\'')
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        out.extend(chars[i..end].iter().map(|&c| blank(c)));
        i = end;
    }
    out
}

fn find(haystack: &[char], needle: &[char]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `r"…"`, `r#"…"#`, `br"…"`: the literal's length, when `rest` starts one.
fn raw_string_len(rest: &[char]) -> Option<usize> {
    let start = match rest {
        ['r', ..] => 1,
        ['b', 'r', ..] => 2,
        _ => return None,
    };
    let hashes = rest[start..].iter().take_while(|&&c| c == '#').count();
    if rest.get(start + hashes) != Some(&'"') {
        return None;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = start + hashes + 1;
    Some(body + find(&rest[body..], &closing).map_or(rest.len() - body, |p| p + closing.len()))
}

/// The length of a `"…"` or `'…'` literal starting `rest`, escapes included.
fn quoted_len(rest: &[char], quote: char) -> usize {
    let mut i = 1;
    while i < rest.len() {
        match rest[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    rest.len()
}

/// `'x'` or `'\n'` rather than a lifetime (`'a`).
fn is_char_literal(rest: &[char]) -> bool {
    matches!(rest, ['\'', '\\', ..] | ['\'', _, '\'', ..])
}

/// One path a file names: where, and the module it resolves to (`[]` is the crate root).
#[derive(Debug)]
struct Import {
    line: usize,
    /// The module path, ending in the item's name when the item is not a module.
    target: Vec<String>,
}

impl fmt::Display for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crate::{}", self.target.join("::"))
    }
}

/// Every `crate::…` and `super::…` path in `code` (already [`code_only`]) of the file whose
/// module is `module`, resolved to an absolute module path. Inline modules (`mod tests { … }`)
/// are followed, so `super::` inside them is resolved from the right place.
fn imports(code: &str, module: &[String]) -> Vec<Import> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut line = 1;
    let mut i = 0;
    let mut path_end = 0;
    while i < chars.len() {
        match chars[i] {
            '\n' => line += 1,
            '{' => {
                depth += 1;
                if let Some(name) = inline_module_before(&chars[..i]) {
                    inline.push((name, depth));
                }
            }
            '}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            _ => {}
        }
        let starts_word = i == 0 || !is_ident_char(chars[i - 1]) && chars[i - 1] != '$';
        if starts_word && i >= path_end {
            let here: Vec<String> = module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            if let Some((base, len)) = path_start(&chars[i..], &here) {
                let (targets, written_len) = path_targets(&chars[i + len..], base);
                path_end = i + len + written_len;
                found.extend(targets.into_iter().map(|target| Import { line, target }));
            }
        }
        i += 1;
    }
    found
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `mod NAME` right before a `{`: the name of an inline module being opened.
fn inline_module_before(before: &[char]) -> Option<String> {
    let text: String = before
        .iter()
        .rev()
        .take(80)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut words = text.trim_end().rsplit(|c: char| c.is_whitespace());
    let name = words.next()?;
    (words.next()? == "mod" && name.chars().all(is_ident_char)).then(|| name.to_owned())
}

/// At `crate::` or `super::…::`: the absolute module it stands for and its length.
fn path_start(rest: &[char], here: &[String]) -> Option<(Vec<String>, usize)> {
    let starts = |word: &str| {
        let word: Vec<char> = word.chars().collect();
        rest.starts_with(&word)
    };
    if starts("crate::") {
        return Some((Vec::new(), "crate::".len()));
    }
    let mut base = here.to_vec();
    let mut len = 0;
    while rest[len..].starts_with(&"super::".chars().collect::<Vec<_>>()) {
        base.pop()?;
        len += "super::".len();
    }
    (len > 0).then_some((base, len))
}

/// The modules a path names after its start: `aws::IdentityFlow` → `[aws, IdentityFlow]`;
/// `{a::X, b}` → one target per item. Returns the targets and the length read.
fn path_targets(rest: &[char], base: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut target = base;
    let mut i = 0;
    loop {
        while rest.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if rest.get(i) == Some(&'{') {
            return group_targets(rest, i, target);
        }
        let len = rest[i..].iter().take_while(|&&c| is_ident_char(c)).count();
        if len == 0 {
            return (vec![target], i);
        }
        target.push(rest[i..i + len].iter().collect());
        i += len;
        if !rest[i..].starts_with(&[':', ':']) {
            return (vec![target], i);
        }
        i += 2;
    }
}

/// The items of `{…}` at `open`, each resolved under `base`.
fn group_targets(rest: &[char], open: usize, base: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut targets = Vec::new();
    let mut i = open + 1;
    loop {
        let (mut item, len) = path_targets(&rest[i..], base.clone());
        targets.append(&mut item);
        i += len;
        let mut nesting = 0;
        while let Some(&c) = rest.get(i) {
            match c {
                '{' => nesting += 1,
                '}' if nesting == 0 => return (targets, i + 1),
                '}' => nesting -= 1,
                ',' if nesting == 0 => break,
                _ => {}
            }
            i += 1;
        }
        if i >= rest.len() {
            return (targets, i);
        }
        i += 1;
    }
}

/// What is wrong with one import of a file in `layer`, if anything.
fn judge(import: &Import, layer: Layer, top_modules: &[String]) -> Option<String> {
    let first = import.target.first();
    if !first.is_some_and(|m| top_modules.contains(m)) {
        return Some(format!(
            "imports `{}` from the crate root; import it from the module that defines it",
            import
        ));
    }
    match layer_of(&import.target) {
        Some(target) if target > layer => Some(format!(
            "imports `{}` from layer {target}, above its own layer {layer}",
            import
        )),
        Some(_) => None,
        None => Some(format!(
            "imports `{}`, whose module is in no layer; add it to LAYERS",
            import
        )),
    }
}

/// The modules `lib.rs` declares (`mod api;`), the only names `crate::` may start with.
fn top_modules(lib: &str) -> Vec<String> {
    code_only(lib)
        .lines()
        .filter_map(|line| {
            let line = line.trim().strip_suffix(';')?;
            let name = line.rsplit(' ').next()?;
            line.split_whitespace()
                .any(|w| w == "mod")
                .then(|| name.to_owned())
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every layer problem of the files under `src`, one line each (`file:line: what`).
fn problems(src: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let top = top_modules(&lib);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for path in files {
        let relative = path.strip_prefix(src).expect("under src/");
        if ROOT_FILES.iter().any(|f| Path::new(f) == relative) {
            continue;
        }
        let module = module_of(relative);
        let shown = relative.display();
        let Some(layer) = layer_of(&module) else {
            problems.push(format!(
                "{shown}: module `{}` is in no layer; add it to LAYERS",
                module.join("::")
            ));
            continue;
        };
        let source = std::fs::read_to_string(&path).expect("a readable source file");
        for import in imports(&code_only(&source), &module) {
            if let Some(problem) = judge(&import, layer, &top) {
                problems.push(format!("{shown}:{}: {problem}", import.line));
            }
        }
    }
    problems
}

#[test]
fn no_file_imports_from_a_layer_above_its_own_or_from_the_crate_root() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = problems(&src);
    assert!(
        problems.is_empty(),
        "{} layer problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_scan_resolves_real_paths_and_skips_comments_and_strings() {
    let module = vec!["config".to_owned(), "validate".to_owned()];
    let code = code_only(
        "use crate::verify::{Expectation, X};\n\
         // use crate::session::Session;\n\
         let s = \"crate::session\"; let r = r#\"crate::api\"#; let c = '{';\n\
         use super::{draft::D, Profile};\n\
         mod tests {\n    use super::super::super::Error;\n}\n",
    );
    let found: Vec<(usize, String)> = imports(&code, &module)
        .into_iter()
        .map(|i| (i.line, i.target.join("::")))
        .collect();
    assert_eq!(
        found,
        [
            (1, "verify::Expectation".to_owned()),
            (1, "verify::X".to_owned()),
            (4, "config::draft::D".to_owned()),
            (4, "config::Profile".to_owned()),
            (6, "Error".to_owned()),
        ]
    );
    let top = vec!["config".to_owned(), "verify".to_owned()];
    let upward = Import {
        line: 1,
        target: vec!["verify".into(), "Expectation".into()],
    };
    assert!(judge(&upward, Layer::Config, &top).is_some());
    assert!(judge(&upward, Layer::Session, &top).is_none());
    let root = Import {
        line: 6,
        target: vec!["Error".into()],
    };
    assert!(judge(&root, Layer::Adapters, &top).is_some());
    assert_eq!(
        layer_of(&["aws".into(), "provider".into()]),
        Some(Layer::Providers)
    );
    assert_eq!(
        layer_of(&["aws".into(), "sts".into()]),
        Some(Layer::Adapters)
    );
}
