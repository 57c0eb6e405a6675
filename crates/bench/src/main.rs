//! `latchkey-bench`: measures Latchkey against latchkey-devidp and prints one table.
//! Run through `cargo xtask bench` (release build, keychain sandbox, peer in the same run).

fn main() {
    eprintln!("latchkey-bench: not implemented yet");
    std::process::exit(1);
}
