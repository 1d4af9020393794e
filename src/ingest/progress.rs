//! A progress line on stderr while a long file imports: lines per second, and the percentage
//! when the size is known. Only on a terminal; logs and pipes stay clean.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(500);

pub struct Progress {
    name: String,
    size: Option<u64>,
    enabled: bool,
    started: Instant,
    last: Instant,
    bytes: u64,
    lines: u64,
}

impl Progress {
    pub fn new(name: &str, size: Option<u64>, wanted: bool) -> Self {
        let now = Instant::now();
        Self {
            name: name.to_string(),
            size,
            enabled: wanted && std::io::stderr().is_terminal(),
            started: now,
            last: now,
            bytes: 0,
            lines: 0,
        }
    }

    pub fn advance(&mut self, bytes: u64, lines: u64) {
        self.bytes += bytes;
        self.lines += lines;
        if self.enabled && self.last.elapsed() >= EVERY {
            self.last = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.lines as f64 / secs;
        let pct = self
            .size
            .filter(|s| *s > 0)
            .map(|s| format!(" {:>3.0}%", 100.0 * self.bytes as f64 / s as f64))
            .unwrap_or_default();
        let _ = write!(
            std::io::stderr(),
            "\r{}:{pct} {} lines, {:.0} lines/s   ",
            self.name,
            self.lines,
            rate
        );
    }

    pub fn finish(&self) {
        if self.enabled {
            self.draw();
            let _ = writeln!(std::io::stderr());
        }
    }
}
