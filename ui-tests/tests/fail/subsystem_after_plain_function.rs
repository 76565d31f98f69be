// `after` names something that is not a `#[subsystem]`: rustc's E0574 at that path.
use proc_daemon::subsystem;

async fn helper() {}

#[subsystem(after = [helper])]
async fn api() {}

fn main() {}
