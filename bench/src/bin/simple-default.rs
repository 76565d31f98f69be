//! The `simple` example, built here with the runtime's default features only (`examples`
//! enables `ipc` too), for the binary-size comparison in docs/PERFORMANCE.md:
//! `cargo build --release -p bench --bin simple-default`.

include!("../../../examples/src/bin/simple.rs");
