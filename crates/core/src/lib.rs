//! latchkey-core: the sign-in engine behind the Latchkey app and CLI.
//! `Session` is the entry point; the other modules are its rooms.
