//! A long scan's progress on a terminal: files, bytes and rate, so that it shows it is
//! alive and how fast it goes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A spinner line: `scanning: 1204 files, 17.39 MiB (52.10 MiB/s), 0s`.
pub struct Progress {
    bar: ProgressBar,
    files: Arc<AtomicU64>,
}

impl Progress {
    /// Starts the spinner (the caller checks that stderr is a terminal).
    pub fn start() -> Progress {
        let files = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&files);
        // The bar's position counts bytes, so that indicatif derives the rate.
        let bar = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template(
            "{spinner} scanning: {files} files, {bytes} ({bytes_per_sec}), {elapsed}",
        )
        .map(|style| {
            style.with_key(
                "files",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", counted.load(Ordering::Relaxed));
                },
            )
        })
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar, files }
    }

    /// Counts one scanned file of `bytes` bytes.
    pub fn file(&self, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(bytes);
    }

    /// Clears the line: the summary says the rest.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
