//! The `latchkey-app` binary: answers `--help`/`--version`, refuses plainly where there is no
//! display, and otherwise starts the desktop shell in `lib.rs`.

// Prevents an extra console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

use latchkey_app::launch::{check_display, usage, Launch};

fn main() -> ExitCode {
    match Launch::from_args(std::env::args_os().skip(1)) {
        Launch::Help => println!("{}", usage()),
        Launch::Version => println!("latchkey-app {}", env!("CARGO_PKG_VERSION")),
        Launch::Window => {
            let display = std::env::var_os("DISPLAY");
            let wayland_display = std::env::var_os("WAYLAND_DISPLAY");
            if let Err(no_display) = check_display(display, wayland_display) {
                eprintln!("latchkey-app: {no_display}.");
                return ExitCode::FAILURE;
            }
            latchkey_app::run();
        }
    }
    ExitCode::SUCCESS
}
