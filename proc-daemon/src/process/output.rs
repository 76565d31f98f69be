//! Writing to standard output and standard error without panicking. `println!` panics when
//! the stream is closed or broken (EPIPE), which would turn a configuration error's exit code
//! 78 into a panic's 101; a daemon whose terminal or pipe went away must exit as it would have.

use std::io::Write;

/// Writes `text` to standard output; a closed or broken stream is ignored.
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` and a newline to standard error; a closed or broken stream is ignored.
pub(crate) fn err_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.write_all(b"\n");
}

/// Writes `text` and a newline to standard output; a closed or broken stream is ignored.
pub(crate) fn out_line(text: &str) {
    out(&format!("{text}\n"));
}
