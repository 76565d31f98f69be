//! State from the set-up, by type: in subsystem parameters (async and blocking, beside the
//! other parameters), in sync and async health checks; the run sees what was provided.
use std::sync::atomic::{AtomicU32, Ordering};

use proc_daemon::{Context, ShutdownHandle, State, daemon, subsystem};

struct Pool {
    size: u32,
}

struct Served(AtomicU32);

fn pool_ok(pool: State<Pool>) -> bool {
    pool.size > 0
}

async fn both_ok(pool: State<Pool>, served: State<Served>) -> bool {
    pool.size > 0 && served.0.load(Ordering::Relaxed) < 100
}

#[subsystem(health = pool_ok, restart = "never")]
async fn api(context: Context, pool: State<Pool>, served: State<Served>) {
    assert_eq!(pool.size, 4);
    assert_eq!(context.state::<Pool>().unwrap().size, 4);
    served.0.fetch_add(pool.size, Ordering::Relaxed);
}

#[subsystem(health = both_ok, restart = "never", blocking)]
fn sweeper(served: State<Served>, _shutdown: ShutdownHandle) {
    served.0.fetch_add(1, Ordering::Relaxed);
}

#[daemon(subsystems = [api, sweeper])]
async fn main() {
    proc_daemon::provide(Pool { size: 4 });
    proc_daemon::provide(Served(AtomicU32::new(0)));
}
