use proc_daemon::daemon;

#[daemon]
fn main() -> i32 {
    0
}
