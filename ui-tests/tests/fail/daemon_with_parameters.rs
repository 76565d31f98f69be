use proc_daemon::daemon;

#[daemon]
fn main(port: u16) {
    let _ = port;
}
