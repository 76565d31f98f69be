use proc_daemon::daemon;

/// Neither a `std::error::Error` nor convertible into `proc_daemon::Error` or a boxed error.
#[derive(Debug)]
struct Refused;

#[daemon]
async fn main() -> Result<(), Refused> {
    Err(Refused)
}
