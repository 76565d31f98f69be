// `cargo run --example metrics_server`, the published crate's command: the daemon of
// `src/bin/metrics_server.rs`, which the process tests run as a binary.
include!("../src/bin/metrics_server.rs");
