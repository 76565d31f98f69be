// `cargo run --example simple`, the published crate's command: the daemon of
// `src/bin/simple.rs`, which the process tests run as a binary.
include!("../src/bin/simple.rs");
