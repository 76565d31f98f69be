use proc_daemon::subsystem;

#[subsystem]
async fn worker(port: u16) {
    let _ = port;
}

fn main() {}
