//! The seed progress bar: on a terminal only, and only once a run has taken about a second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this finish without a bar, so quick commands print nothing extra.
const SHOW_AFTER: Duration = Duration::from_secs(1);

type DrawTarget = Box<dyn FnOnce() -> ProgressDrawTarget + Send>;

/// Rows done, rate and time left for a write of `total` rows, drawn on stderr.
pub struct SeedProgress {
    total: u64,
    started: Instant,
    on_terminal: bool,
    target: Option<DrawTarget>,
    bar: Option<ProgressBar>,
}

impl std::fmt::Debug for SeedProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedProgress")
            .field("total", &self.total)
            .field("on_terminal", &self.on_terminal)
            .finish_non_exhaustive()
    }
}

impl SeedProgress {
    /// A bar on stderr, shown only when stderr is a terminal.
    pub fn new(total: u64) -> Self {
        Self::with(
            total,
            Instant::now(),
            std::io::stderr().is_terminal(),
            Box::new(ProgressDrawTarget::stderr),
        )
    }

    fn with(total: u64, started: Instant, on_terminal: bool, target: DrawTarget) -> Self {
        SeedProgress {
            total,
            started,
            on_terminal,
            target: Some(target),
            bar: None,
        }
    }

    /// Records that `done` rows are in.
    pub fn update(&mut self, done: u64) {
        if !self.on_terminal || self.started.elapsed() < SHOW_AFTER {
            return;
        }
        if self.bar.is_none()
            && let Some(target) = self.target.take()
        {
            let bar = ProgressBar::with_draw_target(Some(self.total), target());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {human_pos}/{human_len} rows, {per_sec:0}, {eta} left",
            ) {
                bar.set_style(style);
            }
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// Removes the bar, leaving the terminal for the final line.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use indicatif::InMemoryTerm;

    use super::*;

    fn progress(started: Instant, on_terminal: bool) -> (SeedProgress, InMemoryTerm) {
        let term = InMemoryTerm::new(4, 100);
        let drawn = term.clone();
        let target: DrawTarget = Box::new(move || ProgressDrawTarget::term_like(Box::new(drawn)));
        (
            SeedProgress::with(1_000_000, started, on_terminal, target),
            term,
        )
    }

    fn a_while_ago() -> Instant {
        Instant::now().checked_sub(Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn a_long_run_on_a_terminal_shows_rows_rate_and_time_left() {
        let (mut p, term) = progress(a_while_ago(), true);
        p.update(250_000);
        let shown = term.contents();
        assert!(shown.contains("250,000/1,000,000 rows"), "{shown:?}");
        assert!(shown.contains("/s") && shown.contains("left"), "{shown:?}");
        p.finish();
        assert_eq!(
            term.contents().trim(),
            "",
            "the bar is cleared for the final line"
        );
    }

    #[test]
    fn a_short_run_shows_nothing() {
        let (mut p, term) = progress(Instant::now() + Duration::from_secs(60), true);
        p.update(250_000);
        p.finish();
        assert_eq!(term.contents().trim(), "");
    }

    #[test]
    fn nothing_is_drawn_when_stderr_is_not_a_terminal() {
        let (mut p, term) = progress(a_while_ago(), false);
        p.update(250_000);
        p.finish();
        assert_eq!(term.contents().trim(), "");
    }
}
