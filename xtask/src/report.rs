//! What `cargo xtask test` and `cargo xtask cross` print and count: banners, checks, and the
//! `test result:` lines of cargo test, closing with `N passed, N failed`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::project_root;

/// What a run found: checks and tests passed and failed, and the names of the failures.
#[derive(Default)]
pub struct Tally {
    passed: u64,
    failed: u64,
    failures: Vec<String>,
}

impl Tally {
    /// Counts one check (fmt, clippy, a build …) as passed or failed.
    pub fn check(&mut self, name: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures.push(name.to_string());
        }
    }

    /// Runs a `cargo test` command, echoing its output and counting every test binary's
    /// `test result:` line. A build failure or a crashed test binary counts as one failure.
    pub fn run_cargo_test(&mut self, command: &mut Command) -> Result<(), String> {
        self.run_tests(command, "")
    }

    /// Runs a command that runs test binaries (`cargo test`, a lane of them), echoing its
    /// output (each line after `label`, when there is one) and counting every `test result:`
    /// line. A failure no test line names (a build, a crashed binary) counts as one failure.
    pub fn run_tests(&mut self, command: &mut Command, label: &str) -> Result<(), String> {
        command.stdout(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start {:?}: {e}", command.get_program()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut test_results_seen = 0;
        let failures_before = self.failures.len();
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading test output: {e}"))?;
            if label.is_empty() {
                println!("{line}");
            } else {
                println!("{label} | {line}");
            }
            if let Some((passed, failed)) = parse_test_result(&line) {
                test_results_seen += 1;
                self.passed += passed;
                self.failed += failed;
            }
            if let Some(name) = line
                .strip_prefix("test ")
                .and_then(|l| l.strip_suffix(" ... FAILED"))
            {
                self.failures.push(name.to_string());
            }
        }
        let status = child
            .wait()
            .map_err(|e| format!("waiting for the tests: {e}"))?;
        let what = if label.is_empty() {
            "cargo test".to_string()
        } else {
            format!("the {label} lane")
        };
        if !status.success() && self.failures.len() == failures_before {
            // A build failure or a crashed test binary: no per-test line says so.
            self.check(&format!("{what} (build or test binary failed)"), false);
        }
        if test_results_seen == 0 && status.success() {
            self.check(&format!("{what} ran no test binary"), false);
        }
        Ok(())
    }

    pub fn passed(&self) -> u64 {
        self.passed
    }

    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Adds another run's counts and failures to this one.
    pub fn absorb(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.failures.extend(other.failures);
    }

    /// Prints the failures and the closing `N passed, N failed` line.
    pub fn finish(self) -> Result<(), String> {
        println!();
        if !self.failures.is_empty() {
            println!("failed:");
            for name in &self.failures {
                println!("    {name}");
            }
        }
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 {
            Ok(())
        } else {
            Err(format!("{} check(s) failed", self.failed))
        }
    }
}

pub fn banner(title: &str) {
    println!("\n==> {title}");
}

/// A run's phases and what each cost: each begins with a banner carrying the time since the
/// run started, and [`Timeline::summary`] prints them as a table (CI's budget is 25 minutes on
/// a fresh machine; this is where it goes).
pub struct Timeline {
    started: Instant,
    current: Option<(String, Instant)>,
    done: Vec<(String, Duration)>,
}

impl Timeline {
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            current: None,
            done: Vec::new(),
        }
    }

    /// Ends the current phase and begins `title`'s.
    pub fn phase(&mut self, title: &str) {
        self.end_phase();
        banner(&format!("[{}] {title}", minutes(self.started.elapsed())));
        self.current = Some((title.to_string(), Instant::now()));
    }

    fn end_phase(&mut self) {
        if let Some((title, began)) = self.current.take() {
            self.done.push((title, began.elapsed()));
        }
    }

    /// Ends the last phase and prints every phase's duration and the total.
    pub fn summary(mut self) {
        self.end_phase();
        println!("\nwhere the time went:");
        for (title, took) in &self.done {
            let short: String = title.chars().take(72).collect();
            println!("    {:>7}  {short}", minutes(*took));
        }
        println!("    {:>7}  total", minutes(self.started.elapsed()));
    }
}

/// `12m05s`: how banners and phase tables print a duration.
pub fn minutes(d: Duration) -> String {
    let secs = d.as_secs();
    format!("{}m{:02}s", secs / 60, secs % 60)
}

pub fn run_ok(command: &mut Command) -> bool {
    command.current_dir(project_root());
    match command.status() {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("xtask: could not run {command:?}: {e}");
            false
        }
    }
}

/// Parses cargo test's `test result: ok. 12 passed; 0 failed; …` line.
fn parse_test_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let count = |label: &str| -> Option<u64> {
        words
            .windows(2)
            .find(|pair| pair[1].trim_end_matches([';', ',']) == label)
            .and_then(|pair| pair[0].parse().ok())
    };
    Some((count("passed")?, count("failed")?))
}

#[cfg(test)]
mod tests {
    use super::parse_test_result;

    #[test]
    fn parses_cargo_test_summary_lines() {
        assert_eq!(
            parse_test_result("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"),
            Some((12, 0))
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out"
            ),
            Some((3, 2))
        );
        assert_eq!(parse_test_result("running 3 tests"), None);
    }
}
