//! A progress bar on the terminal while large files are parsed.

use indicatif::{ProgressBar, ProgressStyle};

use crate::masters::Progress;

/// Shows a bar when stderr is a terminal; silent otherwise.
pub struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl TerminalProgress {
    pub fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::hidden();
            bar.set_style(
                ProgressStyle::with_template("{msg:20} [{bar:40}] {pos}/{len} rows ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        TerminalProgress { bar }
    }
}

impl Progress for TerminalProgress {
    fn start(&self, phase: &str, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(total);
            bar.set_position(0);
            bar.set_message(phase.to_owned());
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
