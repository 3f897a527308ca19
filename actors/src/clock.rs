//! Time enters the engine only through a [`Clock`]: wall time in production, a hand-moved
//! [`TestClock`] in tests and replays. No breaker reads the system clock itself.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The clock shared by every actor of an engine.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time, never running backwards: an NTP step back is held at the last reading so
/// sliding windows never see events out of order.
#[derive(Debug, Default)]
pub struct SystemClock {
    last: Mutex<Option<DateTime<Utc>>>,
}

impl SystemClock {
    /// A wall clock.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let mut last = self.last.lock().expect("clock mutex poisoned");
        let now = Utc::now();
        let now = match *last {
            Some(prev) if prev > now => prev,
            _ => now,
        };
        *last = Some(now);
        now
    }
}

/// A clock that moves only when told: tests and replays drive it.
#[derive(Debug)]
pub struct TestClock {
    now: Mutex<DateTime<Utc>>,
}

impl TestClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(start),
        })
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock mutex poisoned") += by;
    }

    /// Sets the clock to `at`; a time before the current one is ignored, so the clock never
    /// runs backwards.
    pub fn set(&self, at: DateTime<Utc>) {
        let mut now = self.now.lock().expect("clock mutex poisoned");
        if at > *now {
            *now = at;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock mutex poisoned")
    }
}

/// A clock set from a file holding an RFC 3339 instant and running at wall speed from the
/// moment the file was last read: a test moves a whole `live run` process across days, DST
/// changes and restarts (`live run --clock-file`). Never runs backwards. Not for production.
#[derive(Debug)]
pub struct FileClock {
    path: std::path::PathBuf,
    state: Mutex<FileClockState>,
}

#[derive(Debug)]
struct FileClockState {
    stamp: Option<(std::time::SystemTime, u64)>,
    base: DateTime<Utc>,
    read_at: std::time::Instant,
    checked_at: std::time::Instant,
    last: DateTime<Utc>,
}

fn read_instant(path: &std::path::Path) -> Result<DateTime<Utc>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--clock-file {}: {e}", path.display()))?;
    text.trim().parse::<DateTime<Utc>>().map_err(|e| {
        format!(
            "--clock-file {}: {:?} is not an RFC 3339 instant: {e}",
            path.display(),
            text.trim()
        )
    })
}

fn stamp(path: &std::path::Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl FileClock {
    /// Reads `path` once (an error names it); the clock follows the file from then on.
    pub fn open(path: &std::path::Path) -> Result<Arc<Self>, String> {
        let base = read_instant(path)?;
        let now = std::time::Instant::now();
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            state: Mutex::new(FileClockState {
                stamp: stamp(path),
                base,
                read_at: now,
                checked_at: now,
                last: base,
            }),
        }))
    }
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        let mut s = self.state.lock().expect("clock mutex poisoned");
        if s.checked_at.elapsed() >= std::time::Duration::from_millis(2) {
            s.checked_at = std::time::Instant::now();
            let current = stamp(&self.path);
            if current.is_some() && current != s.stamp {
                if let Ok(base) = read_instant(&self.path) {
                    s.stamp = current;
                    s.base = base;
                    s.read_at = std::time::Instant::now();
                }
            }
        }
        let ran = Duration::from_std(s.read_at.elapsed()).unwrap_or_default();
        let now = (s.base + ran).max(s.last);
        s.last = now;
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_set_when_earlier_then_clock_does_not_move_back() {
        let start = Utc::now();
        let clock = TestClock::new(start);
        clock.advance(Duration::seconds(5));
        clock.set(start);
        assert_eq!(clock.now(), start + Duration::seconds(5));
    }

    #[test]
    fn test_file_clock_when_file_rewritten_then_follows_it_and_never_runs_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("now");
        std::fs::write(&path, "2026-03-06T14:30:00Z").unwrap();
        let clock = FileClock::open(&path).unwrap();
        let first = clock.now();
        assert!(first >= "2026-03-06T14:30:00Z".parse::<DateTime<Utc>>().unwrap());
        assert!(first < "2026-03-06T14:31:00Z".parse::<DateTime<Utc>>().unwrap());
        std::fs::write(&path, "2026-03-09T13:30:00Z\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let later = clock.now();
        assert!(
            later >= "2026-03-09T13:30:00Z".parse::<DateTime<Utc>>().unwrap(),
            "{later}"
        );
        std::fs::write(&path, "2026-03-01T00:00:00Z").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() >= later, "never back");
        std::fs::write(&path, "yesterday").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(
            clock.now() >= later,
            "an unreadable file keeps the clock going"
        );
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "soon").unwrap();
        assert!(FileClock::open(&bad).unwrap_err().contains("\"soon\""));
    }

    #[test]
    fn test_system_clock_is_monotonic() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
    }
}
