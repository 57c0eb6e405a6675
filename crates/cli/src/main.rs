//! `latchkey`: the terminal companion; a thin front over `latchkey_core::Session`.

fn main() {
    println!("latchkey {}", env!("CARGO_PKG_VERSION"));
}
