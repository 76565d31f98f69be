//! Configuration parsing on arbitrary bytes: it must return a config or an error, never panic
//! or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = proc_daemon::Config::from_toml_str("fuzz.toml", text) {
            assert!(config.validate().is_ok());
        }
    }
});
