//! `latchkey-devidp`: run the Cognito-compatible development provider from a terminal.
//! All logic lives in the library's `cli_main`, which `latchkey devidp` reuses.

fn main() -> std::process::ExitCode {
    latchkey_devidp::cli_main(std::env::args_os())
}
