//! The development outboxes as a test reads them: without a phone provider or SMTP server the
//! dispatcher appends each message as one JSON line to `phone-outbox.ndjson` or
//! `email-outbox.ndjson` in the data directory; these read them back, and pick a code out.

use super::TestApp;
use serde_json::Value;
use std::path::Path;

pub const PHONE: &str = "phone-outbox.ndjson";
pub const EMAIL: &str = "email-outbox.ndjson";

/// The lines of an outbox file, oldest first; none when nothing was written yet.
pub fn read(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The lines of `file` (`PHONE` or `EMAIL`) in `app`'s data directory.
pub fn lines(app: &TestApp, file: &str) -> Vec<Value> {
    read(&app.ctx.config.data_dir.join(file))
}

/// The first six digits of `text`: the code in an OTP message.
pub fn six_digits(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect()
}

/// Delivers what is due, then returns the code in the newest text to `to` and that line.
pub async fn last_code(app: &TestApp, to: &str) -> (String, Value) {
    callsign::service::messaging::outbox::deliver_due(&app.ctx)
        .await
        .unwrap();
    let line = lines(app, PHONE)
        .into_iter()
        .rev()
        .find(|v| v["to"] == to)
        .expect("a message to that number");
    (six_digits(line["text"].as_str().unwrap()), line)
}
