// `cargo run --example comprehensive`, the published crate's command: the daemon of
// `src/bin/comprehensive.rs`, which the process tests run as a binary.
include!("../src/bin/comprehensive.rs");
