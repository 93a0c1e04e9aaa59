//! The progress bar (indicatif) on a terminal, a `progress:` line a second otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Progress: a bar on a terminal, a line a second otherwise (logs, tests).
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: AtomicU64,
    total: u64,
    started: Instant,
    last_line: Mutex<Instant>,
    lines: bool,
}

impl Progress {
    pub(crate) fn new(total: u64, show: bool) -> Progress {
        let terminal = show && std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} documents ({per_sec}, eta {eta}) {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            done: AtomicU64::new(0),
            total,
            started: Instant::now(),
            last_line: Mutex::new(Instant::now()),
            lines: show && !terminal,
        }
    }

    pub(crate) fn message(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }

    pub(crate) fn set(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.show(done);
    }

    /// Adds `n`, up to `cap` (a store's rows may outnumber its documents: shared categories
    /// are copied into every store that uses them).
    pub(crate) fn inc(&self, n: u64, cap: u64) {
        let before = self.done.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| Some((d + n).min(cap.max(d))));
        let before = before.unwrap_or_else(|d| d);
        self.show((before + n).min(cap.max(before)));
    }

    pub(crate) fn show(&self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
        if self.lines {
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(1) || done >= self.total {
                *last = Instant::now();
                eprintln!(
                    "progress: {done}/{} documents, {:.0} documents/s",
                    self.total,
                    done as f64 / self.started.elapsed().as_secs_f64().max(1e-3)
                );
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}
