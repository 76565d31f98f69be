use proc_daemon::subsystem;

#[subsystem]
async fn worker<T: Default>() {
    let _ = T::default();
}

fn main() {}
