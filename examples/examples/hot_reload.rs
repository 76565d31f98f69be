// `cargo run --example hot_reload`, the published crate's command: the daemon of
// `src/bin/hot_reload.rs`, which the process tests run as a binary.
include!("../src/bin/hot_reload.rs");
