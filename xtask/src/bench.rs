//! `cargo xtask bench`: Latchkey's benchmarks, printed as one table (see BENCHMARKS.md).

pub fn bench(_args: &[String]) -> Result<(), String> {
    Err("`cargo xtask bench` is not implemented yet".into())
}
