//! This replica's part in the election: keep a lease alive, campaign for the election key with
//! it, and follow whoever holds it. A leader that cannot renew its lease gives leadership up
//! while there is still time for its singletons to stop before the lease can expire — so two
//! replicas never lead at once, whatever etcd or the network do.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::etcd::{Etcd, Holder};
use crate::state::{ClusterStanding, Shared};
use crate::{ClusterConfig, Error, Result};

/// The election running beside the daemon; [`resign`](Self::resign) at the end.
pub(crate) struct Election {
    task: JoinHandle<Campaigner>,
}

/// The campaign's state, owned by its task.
struct Campaigner {
    shared: Arc<Shared>,
    etcd: Etcd,
    key: String,
    instance: String,
    ttl: Duration,
    lease: Option<i64>,
    /// Until when the lease certainly lives: when the last successful renewal was *sent*, plus
    /// the time etcd said it had left.
    lease_until: Instant,
    /// The term this replica leads, if it does.
    term: Option<u64>,
    /// A lease given up while etcd did not answer, revoked once it does.
    abandoned: Option<i64>,
}

/// How often the lease is renewed and the key looked at: often enough that a resigned leader is
/// replaced within half a second, and at least three renewals per lease.
fn tick(ttl: Duration) -> Duration {
    (ttl / 4).min(Duration::from_millis(500))
}

impl Election {
    /// Joins the election: the first contact with etcd happens here, so an unreachable etcd is
    /// a start-up error naming the endpoints (unless `require_at_start = false`).
    pub(crate) async fn start(shared: &Arc<Shared>, config: &ClusterConfig) -> Result<Self> {
        let ttl = config.lease_ttl();
        let budget = shared.singleton_stop_budget();
        if budget + 2 * tick(ttl) >= ttl {
            return Err(Error::config(format!(
                "cluster.lease_ttl_ms ({}) leaves singletons too little time: one may take up to {budget:?} to stop, and a leader that loses etcd notices within {:?}; the lease must outlast both, so raise lease_ttl_ms above {} or lower the singletons' shutdown_timeout",
                config.lease_ttl_ms,
                2 * tick(ttl),
                (budget + 2 * tick(ttl)).as_millis()
            )));
        }
        let name = shared.config.get().name.to_string();
        let mut campaigner = Campaigner {
            shared: shared.clone(),
            etcd: Etcd::new(&config.endpoints, tick(ttl).max(Duration::from_millis(250))),
            key: config.election_key(&name),
            instance: config.instance_name(),
            ttl,
            lease: None,
            lease_until: Instant::now(),
            term: None,
            abandoned: None,
        };
        match campaigner.round().await {
            Ok(()) => {}
            Err(err) if config.require_at_start => {
                return Err(Error::other(format!(
                    "cluster: etcd is unreachable at {}: {err}",
                    config.endpoints.join(", ")
                )));
            }
            Err(err) => tracing::warn!(
                "cluster: etcd is unreachable at {} ({err}); following until it answers",
                config.endpoints.join(", ")
            ),
        }
        tracing::info!(
            "cluster: replica `{}` in the election `{}` (lease {:?})",
            campaigner.instance,
            campaigner.key,
            ttl
        );
        Ok(Self {
            task: tokio::spawn(campaigner.run()),
        })
    }

    /// Leaves the election once the daemon's subsystems have stopped: the lease is revoked, so
    /// another replica leads at once instead of after the lease's time.
    pub(crate) async fn resign(self) {
        let Ok(campaigner) = self.task.await else {
            return;
        };
        if let Some(lease) = campaigner.lease {
            match campaigner.etcd.revoke(lease).await {
                Ok(()) if campaigner.term.is_some() => tracing::info!(
                    "cluster: replica `{}` resigned the leadership",
                    campaigner.instance
                ),
                Ok(()) => {}
                Err(err) => tracing::warn!(
                    "cluster: could not revoke the lease ({err}); another replica leads once it expires"
                ),
            }
        }
        let mut standing = campaigner.shared.leadership.now();
        standing.leading = false;
        campaigner.shared.leadership.set(standing);
    }
}

impl Campaigner {
    async fn run(mut self) -> Self {
        let shared = self.shared.clone();
        loop {
            tokio::select! {
                () = shared.shutdown.cancelled() => return self,
                () = tokio::time::sleep(tick(self.ttl)) => {}
            }
            if let Err(err) = self.round().await {
                let mut standing = self.shared.leadership.now();
                if standing.reachable {
                    tracing::warn!("cluster: etcd does not answer: {err}");
                }
                standing.reachable = false;
                self.shared.leadership.set(standing);
            }
            self.give_up_before_the_lease_can_expire();
        }
    }

    /// Renews (or takes) the lease and campaigns with it.
    async fn round(&mut self) -> std::result::Result<(), String> {
        if let Some(lease) = self.abandoned {
            self.etcd.revoke(lease).await?;
            self.abandoned = None;
        }
        let sent = Instant::now();
        let lease = match self.lease {
            Some(lease) => match self.etcd.keep_alive(lease).await? {
                Some(left) => {
                    self.lease_until = sent + left;
                    lease
                }
                None => {
                    self.lease = None;
                    self.stop_leading("its lease expired");
                    self.grant(sent).await?
                }
            },
            None => self.grant(sent).await?,
        };
        let holder = self.etcd.campaign(&self.key, &self.instance, lease).await?;
        self.observe(&holder, lease);
        Ok(())
    }

    async fn grant(&mut self, sent: Instant) -> std::result::Result<i64, String> {
        let lease = self.etcd.grant(self.ttl).await?;
        self.lease = Some(lease);
        self.lease_until = sent + self.ttl;
        Ok(lease)
    }

    /// Who holds the key now.
    fn observe(&mut self, holder: &Holder, lease: i64) {
        let ours = holder.instance == self.instance && holder.lease == lease;
        match (ours, self.term) {
            (true, None) => tracing::info!(
                "cluster: replica `{}` leads (fencing token {})",
                self.instance,
                holder.revision
            ),
            (false, Some(_)) => self.stop_leading(&format!(
                "`{}` leads now (fencing token {})",
                holder.instance, holder.revision
            )),
            _ => {}
        }
        let was = self.shared.leadership.now();
        if !ours && was.leader.as_deref() != Some(holder.instance.as_str()) {
            tracing::info!(
                "cluster: `{}` leads (fencing token {}); replica `{}` follows",
                holder.instance,
                holder.revision,
                self.instance
            );
        }
        self.term = ours.then_some(holder.revision);
        self.shared.leadership.set(ClusterStanding {
            leading: ours,
            leader: Some(holder.instance.clone()),
            fencing_token: Some(holder.revision),
            reachable: true,
        });
    }

    /// A leader whose lease could expire before its singletons have stopped gives up now.
    fn give_up_before_the_lease_can_expire(&mut self) {
        if self.term.is_none() {
            return;
        }
        let budget = self.shared.singleton_stop_budget();
        if Instant::now() + budget + tick(self.ttl) >= self.lease_until {
            self.stop_leading(&format!(
                "its lease could not be renewed and ends in {:?}, and singletons need up to {budget:?} to stop",
                self.lease_until.saturating_duration_since(Instant::now())
            ));
            // A new lease once etcd answers again: the old one may outlive this term in etcd's
            // eyes (etcd extends leases when it restarts), so it is revoked, never used again.
            self.abandoned = self.lease.take().or(self.abandoned);
        }
    }

    fn stop_leading(&mut self, why: &str) {
        if self.term.take().is_some() {
            tracing::warn!("cluster: replica `{}` stops leading: {why}", self.instance);
            let mut standing = self.shared.leadership.now();
            standing.leading = false;
            self.shared.leadership.set(standing);
        }
    }
}
