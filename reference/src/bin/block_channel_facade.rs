//! The reference's "Channel Facade" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    use proc_daemon::coord::chan;

    let (tx, rx) = chan::unbounded::<String>();
    tx.send("hello".into()).ok();

    // Non-blocking receive
    if let Ok(msg) = chan::try_recv(&rx) {
        println!("Got: {}", msg);
    }
    // ---- end of the block ----
    Ok(())
}
