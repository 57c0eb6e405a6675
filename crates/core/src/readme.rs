//! The crate's README, checked: its example compiles as a doctest, and the limits it names are
//! the code's (the test below), so the page cannot drift from the engine unnoticed.

/// The README, for its code example (a doctest).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;

#[cfg(test)]
mod tests {
    use crate::config::DEFAULT_RESPONSE_LIMIT_MIB;
    use crate::loopback::{MAX_CONNECTIONS, MAX_HEAD_BYTES, READ_TIMEOUT};
    use crate::vault::CHUNK_SIZE;

    const README: &str = include_str!("../README.md");

    fn assert_names(what: &str, text: &str) {
        assert!(
            README.contains(text),
            "crates/core/README.md must say `{text}` ({what}); update it to the code"
        );
    }

    #[test]
    fn the_readme_names_the_limits_the_code_has() {
        let head = format!(
            "a request head of at most {MAX_HEAD_BYTES} bytes, read within {} s",
            READ_TIMEOUT.as_secs()
        );
        assert_names("the loopback listener's request limits", &head);
        let connections = format!("at most {MAX_CONNECTIONS} connections at once");
        assert_names("the loopback listener's connection cap", &connections);
        #[cfg(not(windows))]
        assert_names(
            "the vault's chunk size",
            &format!("chunked at {CHUNK_SIZE} bytes per item"),
        );
        #[cfg(windows)]
        assert_names(
            "the vault's chunk size",
            &format!("({CHUNK_SIZE} on Windows"),
        );
        let limit = format!("({DEFAULT_RESPONSE_LIMIT_MIB} MiB by default)");
        assert_names("the API answer limit", &limit);
    }
}
