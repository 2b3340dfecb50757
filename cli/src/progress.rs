//! The seed progress bar: on a terminal only, and only once a run has taken about a second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this finish without a bar, so quick commands print nothing extra.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Rows done, rate and time left for a write of `total` rows, drawn on stderr.
#[derive(Debug)]
pub struct SeedProgress {
    total: u64,
    started: Instant,
    on_terminal: bool,
    bar: Option<ProgressBar>,
}

impl SeedProgress {
    pub fn new(total: u64) -> Self {
        SeedProgress {
            total,
            started: Instant::now(),
            on_terminal: std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    /// Records that `done` rows are in.
    pub fn update(&mut self, done: u64) {
        if !self.on_terminal || self.started.elapsed() < SHOW_AFTER {
            return;
        }
        let total = self.total;
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {human_pos}/{human_len} rows, {per_sec:0}, {eta} left",
            ) {
                bar.set_style(style);
            }
            bar
        });
        bar.set_position(done);
    }

    /// Removes the bar, leaving the terminal for the final line.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
