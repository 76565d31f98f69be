//! `[cluster]`: replicas of one daemon on several machines elect one leader through etcd.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// `[cluster]` (feature `cluster`): the replicas of this daemon elect one leader through etcd;
/// present = on. A replica campaigns at start and leads until its lease expires or it stops.
///
/// ```
/// let config: proc_daemon::Config = toml::from_str(
///     "[cluster]\nendpoints = [\"http://10.0.0.5:2379\"]\nlease_ttl_ms = 5000",
/// )
/// .unwrap();
/// let cluster = config.cluster.unwrap();
/// assert_eq!(cluster.lease_ttl_ms, 5000);
/// assert_eq!(cluster.backend, "etcd");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// The coordination service: `"etcd"` (the only one).
    pub backend: String,
    /// etcd's client URLs (`http://host:2379`); tried in turn.
    pub endpoints: Vec<String>,
    /// The election's key. None (default): `/proc-daemon/<name>/leader`.
    pub election: Option<String>,
    /// The leader's lease, in whole seconds written as milliseconds (etcd's leases count
    /// seconds): if the leader stops renewing it, another replica leads at most this long after.
    pub lease_ttl_ms: u64,
    /// This replica's name in the election. None (default): `<hostname>-<pid>`.
    pub instance: Option<String>,
    /// Whether an unreachable etcd at start stops the start (exit 1 naming the endpoints).
    /// `false`: the replica starts as a follower and keeps campaigning.
    pub require_at_start: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            backend: "etcd".to_owned(),
            endpoints: vec!["http://127.0.0.1:2379".to_owned()],
            election: None,
            lease_ttl_ms: 10_000,
            instance: None,
            require_at_start: true,
        }
    }
}

/// The shortest lease: etcd refuses shorter ones (its minimum is 1.5 election timeouts).
const MIN_LEASE_TTL_MS: u64 = 2_000;

impl ClusterConfig {
    /// The lease as a duration.
    #[must_use]
    pub const fn lease_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.lease_ttl_ms)
    }

    /// The election key for the daemon called `name`.
    #[must_use]
    pub fn election_key(&self, name: &str) -> String {
        self.election
            .clone()
            .unwrap_or_else(|| format!("/proc-daemon/{name}/leader"))
    }

    /// This replica's name in the election.
    #[must_use]
    pub fn instance_name(&self) -> String {
        self.instance.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "localhost".to_owned());
            format!("{host}-{}", std::process::id())
        })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !cfg!(feature = "cluster") {
            return Err(Error::config(
                "[cluster] needs proc-daemon's `cluster` feature",
            ));
        }
        if self.backend != "etcd" {
            return Err(Error::config(format!(
                "cluster.backend = {:?}: the only backend is \"etcd\"",
                self.backend
            )));
        }
        if self.endpoints.is_empty() {
            return Err(Error::config(
                "cluster.endpoints is empty; name etcd's client URLs, like [\"http://127.0.0.1:2379\"]",
            ));
        }
        if let Some(bad) = self
            .endpoints
            .iter()
            .find(|endpoint| endpoint_address(endpoint).is_none())
        {
            return Err(Error::config(format!(
                "cluster.endpoints: {bad:?} is not an etcd client URL; write \"http://host:2379\" (TLS is not supported)"
            )));
        }
        if self.lease_ttl_ms < MIN_LEASE_TTL_MS || !self.lease_ttl_ms.is_multiple_of(1000) {
            return Err(Error::config(format!(
                "cluster.lease_ttl_ms ({}) must be a whole number of seconds of at least {MIN_LEASE_TTL_MS} (etcd's leases count seconds)",
                self.lease_ttl_ms
            )));
        }
        if self.instance.as_deref().is_some_and(str::is_empty) {
            return Err(Error::config("cluster.instance must not be empty"));
        }
        Ok(())
    }
}

/// `host:port` of an `http://host:port` URL.
pub(crate) fn endpoint_address(endpoint: &str) -> Option<&str> {
    let rest = endpoint.strip_prefix("http://")?.trim_end_matches('/');
    (!rest.is_empty() && !rest.contains('/') && rest.contains(':')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "cluster")]
    fn bad_settings_are_named() {
        let bad = |edit: fn(&mut ClusterConfig)| {
            let mut config = ClusterConfig::default();
            edit(&mut config);
            config.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.backend = "consul".into()).contains("the only backend is \"etcd\""));
        assert!(bad(|c| c.endpoints.clear()).contains("cluster.endpoints is empty"));
        assert!(
            bad(|c| c.endpoints = vec!["https://x:2379".into()])
                .contains("\"https://x:2379\" is not an etcd client URL")
        );
        assert!(bad(|c| c.lease_ttl_ms = 2500).contains("must be a whole number of seconds"));
        assert!(bad(|c| c.lease_ttl_ms = 1000).contains("at least 2000"));
        assert!(ClusterConfig::default().validate().is_ok());
    }

    #[test]
    #[cfg(not(feature = "cluster"))]
    fn without_the_feature_the_section_is_an_error() {
        assert_eq!(
            ClusterConfig::default().validate().unwrap_err().to_string(),
            "invalid configuration: [cluster] needs proc-daemon's `cluster` feature"
        );
    }

    #[test]
    fn defaults_follow_the_name_and_the_host() {
        let config = ClusterConfig::default();
        assert_eq!(config.election_key("jobs"), "/proc-daemon/jobs/leader");
        assert!(
            config
                .instance_name()
                .ends_with(&format!("-{}", std::process::id()))
        );
        assert_eq!(
            endpoint_address("http://127.0.0.1:2379/"),
            Some("127.0.0.1:2379")
        );
    }
}
