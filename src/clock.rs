//! The clock every time-dependent rule reads. Production uses the system clock; tests use
//! [`Clock::manual`] and move time forward instead of sleeping. Reading the wall clock anywhere
//! else is banned by `clippy.toml`, so expiry logic can always be tested with a moved clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the UNIX epoch.
pub type Millis = i64;

#[derive(Clone, Debug)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that only moves when told to (tests).
    pub fn manual(start: Millis) -> Self {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(start))),
        }
    }

    pub fn now_ms(&self) -> Millis {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => system_now_ms(),
        }
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance_ms(&self, by: Millis) {
        if let Some(t) = &self.manual {
            t.fetch_add(by, Ordering::SeqCst);
        }
    }
}

#[allow(clippy::disallowed_methods)] // the one sanctioned read of the wall clock
fn system_now_ms() -> Millis {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as Millis
}

/// Real elapsed time for resource limits (the sandbox's deadline, which must hold whatever a
/// test does to the injectable clock); never for rules such as expiry.
#[allow(clippy::disallowed_methods)] // the one sanctioned read of the monotonic clock
pub fn monotonic() -> std::time::Instant {
    std::time::Instant::now()
}

/// ISO-8601 with milliseconds and `Z`, the form Auth0 uses for every timestamp.
pub fn iso(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            milli
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_millis_and_z() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = Clock::manual(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance_ms(500);
        assert_eq!(c.now_ms(), 1500);
        assert_eq!(c.now_secs(), 1);
    }
}
