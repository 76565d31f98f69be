//! The reference's "File-Based Configuration" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    use proc_daemon::Config;
    let config = Config::load_from_file("daemon.toml")?;
    // ---- end of the block ----
    Ok(())
}
