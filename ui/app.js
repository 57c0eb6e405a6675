/* Latchkey UI: renders state from the Rust side; never decides it. */
