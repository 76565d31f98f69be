//! The log file's writer thread. Lines are handed over through a bounded queue (a burst waits
//! for room rather than dropping lines), so logging never blocks on the disk; at exit every
//! line queued before is written before the process ends, or — if the file cannot take them
//! within the flush budget — the number left unwritten is reported on standard error.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::Duration;

use super::log_file::LogFile;

/// Lines that may wait for the writer thread before a logging call waits for room.
const QUEUE_LINES: usize = 128 * 1024;

enum Message {
    Line(Vec<u8>),
    /// Everything before this is written and flushed; then tell the sender.
    Finish(mpsc::Sender<()>),
}

/// Counts shared by the queue's two ends.
#[derive(Debug, Default)]
struct Counts {
    queued: AtomicU64,
    written: AtomicU64,
}

/// The sending end: what the subscriber writes to. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct LineQueue {
    sender: SyncSender<Message>,
    counts: Arc<Counts>,
}

/// The writer thread, to be finished at exit.
#[derive(Debug)]
pub(crate) struct Writer {
    sender: SyncSender<Message>,
    counts: Arc<Counts>,
}

/// Starts the writer thread for `file`.
pub(crate) fn start(file: LogFile) -> std::io::Result<(LineQueue, Writer)> {
    let (sender, receiver) = mpsc::sync_channel(QUEUE_LINES);
    let counts = Arc::new(Counts::default());
    let written = counts.clone();
    std::thread::Builder::new()
        .name("proc-daemon-log-writer".into())
        .spawn(move || write_lines(file, &receiver, &written))?;
    Ok((
        LineQueue {
            sender: sender.clone(),
            counts: counts.clone(),
        },
        Writer { sender, counts },
    ))
}

fn write_lines(mut file: LogFile, receiver: &Receiver<Message>, counts: &Counts) {
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Line(line) => {
                // A failure is reported by the file itself; the line is counted as handled.
                let _ = file.write_all(&line);
                counts.written.fetch_add(1, Ordering::Release);
            }
            Message::Finish(done) => {
                let _ = file.flush();
                let _ = done.send(());
            }
        }
    }
}

impl Write for LineQueue {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.counts.queued.fetch_add(1, Ordering::AcqRel);
        self.sender
            .send(Message::Line(buf.to_vec()))
            .map_err(|_| std::io::Error::other("the log writer thread has stopped"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Writer {
    /// Waits until every line queued so far is written, at most `budget`; reports on standard
    /// error how many were not.
    pub(crate) fn finish(&self, budget: Duration) {
        let (done, finished) = mpsc::channel();
        let handed_over = send_within(&self.sender, Message::Finish(done), budget);
        if handed_over && finished.recv_timeout(budget).is_ok() {
            return;
        }
        let queued = self.counts.queued.load(Ordering::Acquire);
        let written = self.counts.written.load(Ordering::Acquire);
        crate::process::output::err_line(&format!(
            "proc-daemon: {} log line(s) could not be written to the log file within {budget:?} and are lost",
            queued.saturating_sub(written)
        ));
    }
}

/// `SyncSender::send` with a deadline (std has none): retries while the queue is full.
fn send_within(sender: &SyncSender<Message>, mut message: Message, budget: Duration) -> bool {
    let deadline = std::time::Instant::now() + budget;
    loop {
        match sender.try_send(message) {
            Ok(()) => return true,
            Err(mpsc::TrySendError::Disconnected(_)) => return false,
            Err(mpsc::TrySendError::Full(back)) => {
                if std::time::Instant::now() >= deadline {
                    return false;
                }
                message = back;
                // The writer is behind; a bounded wait for room, not a synchronisation.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queued_line_is_written_before_finish_returns() {
        let dir = std::env::temp_dir().join(format!("proc-daemon-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.log");
        let (queue, writer) = start(LogFile::new(path.clone(), 1 << 30, 2)).unwrap();
        let mut handles: Vec<LineQueue> = (0..4).map(|_| queue.clone()).collect();
        for i in 0..20_000 {
            writeln!(handles[i % 4], "line {i}").unwrap();
        }
        writer.finish(Duration::from_secs(30));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 20_000);
    }
}
