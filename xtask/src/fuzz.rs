//! `cargo xtask fuzz [N]`: core's fuzz targets (crates/core/tests/it/fuzz.rs) with N inputs each
//! (default a million), in a release build. `cargo xtask test` runs the same targets with a
//! bounded count; this is the long run before a release or after touching a parser.

use std::process::Command;
use std::time::Instant;

use crate::{cargo, project_root};

const DEFAULT_INPUTS: u64 = 1_000_000;

pub fn fuzz(args: &[String]) -> Result<(), String> {
    let inputs = match args {
        [] => DEFAULT_INPUTS,
        [n] => n
            .replace('_', "")
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{n}` is not a number of inputs (e.g. 1000000)"))?,
        _ => return Err("usage: cargo xtask fuzz [INPUTS]".into()),
    };
    println!(
        "==> fuzzing the request-head parser, the JWT decoder and inspector, the JWKS parser and \
         the ID-token verifier: {inputs} inputs each (release build; a few minutes)"
    );
    let started = Instant::now();
    let status = Command::new(cargo())
        .current_dir(project_root())
        .args(["test", "--release", "-p", "latchkey-core", "--test", "it"])
        .args(["--", "fuzz::", "--test-threads=2"])
        .env("BOLERO_RANDOM_ITERATIONS", inputs.to_string())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let took = started.elapsed().as_secs();
    if !status.success() {
        return Err(format!(
            "a fuzz target failed after {took} s: the input and its BOLERO_RANDOM_SEED are printed \
             above; rerun with that seed to reproduce"
        ));
    }
    println!("fuzz: {inputs} inputs per target, no failure, in {took} s");
    Ok(())
}
