use proc_daemon::subsystem;

/// Neither a `std::error::Error` nor convertible into `proc_daemon::Error` or a boxed error.
#[derive(Debug)]
struct Refused;

#[subsystem]
async fn worker() -> Result<(), Refused> {
    Err(Refused)
}

fn main() {}
