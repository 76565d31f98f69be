//! Deadlines nobody set follow the ones that are set: with only `shutdown.timeout_ms` given
//! (say 60 s, longer than the default force deadline of 10 s), the later deadlines are derived
//! instead of contradicting it. Each unset deadline is the larger of its default and 1.5 times
//! the deadline before it. Values that were set are never changed, so a contradiction between
//! them is still an error.

use super::{Config, ShutdownConfig};

/// The keys derived for `config`, whose explicitly set keys `is_set` tells.
pub(crate) fn derive_unset(config: &mut Config, is_set: impl Fn(&str) -> bool) -> Vec<String> {
    let defaults = ShutdownConfig::default();
    let s = &mut config.shutdown;
    let mut derived = Vec::new();
    let follow = |before: u64, default: u64| default.max(before.saturating_add(before / 2));
    if !is_set("shutdown.force_timeout_ms") {
        let value = follow(s.timeout_ms, defaults.force_timeout_ms);
        if value != s.force_timeout_ms {
            s.force_timeout_ms = value;
            derived.push("shutdown.force_timeout_ms".to_owned());
        }
    }
    if !is_set("shutdown.kill_timeout_ms") {
        let value = follow(s.force_timeout_ms, defaults.kill_timeout_ms);
        if value != s.kill_timeout_ms {
            s.kill_timeout_ms = value;
            derived.push("shutdown.kill_timeout_ms".to_owned());
        }
    }
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_deadlines_follow_an_earlier_one_that_was_set() {
        let mut config = Config::default();
        config.shutdown.timeout_ms = 60_000;
        let derived = derive_unset(&mut config, |key| key == "shutdown.timeout_ms");
        assert_eq!(
            (
                config.shutdown.force_timeout_ms,
                config.shutdown.kill_timeout_ms
            ),
            (90_000, 135_000)
        );
        assert_eq!(
            derived,
            ["shutdown.force_timeout_ms", "shutdown.kill_timeout_ms"]
        );
        assert!(config.validate().is_ok());
    }

    #[test]
    fn defaults_stay_when_they_are_long_enough_and_set_values_are_kept() {
        let mut config = Config::default();
        config.shutdown.timeout_ms = 1_000;
        assert!(derive_unset(&mut config, |key| key == "shutdown.timeout_ms").is_empty());
        assert_eq!(
            config.shutdown,
            ShutdownConfig {
                timeout_ms: 1_000,
                ..ShutdownConfig::default()
            }
        );
        // Both set and contradicting: left alone, for validation to name.
        let mut config = Config::default();
        config.shutdown.timeout_ms = 60_000;
        config.shutdown.force_timeout_ms = 1_000;
        derive_unset(&mut config, |key| key != "shutdown.kill_timeout_ms");
        assert_eq!(config.shutdown.force_timeout_ms, 1_000);
        assert!(config.validate().is_err());
    }
}
