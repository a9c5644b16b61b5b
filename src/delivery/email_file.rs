//! The development email sink: with no `smtp_url` configured, every email is appended as one
//! JSON line to `<data-dir>/email-outbox.ndjson`:
//! `{"id","to","type","locale","subject","text","html","created_at"}` (`html` may be null).
//! Like the phone outbox it is for development only (the server warns at start); the log line
//! never carries the text.

use super::{Delivered, OutgoingMessage, SendError, Sender, append_line};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "email-outbox.ndjson";

pub struct EmailFile {
    path: PathBuf,
}

impl EmailFile {
    pub fn new(data_dir: &Path) -> Self {
        EmailFile {
            path: data_dir.join(FILE_NAME),
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    to: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    locale: &'a str,
    subject: &'a str,
    text: &'a str,
    html: Option<&'a str>,
    created_at: String,
}

/// The NDJSON line for one email (without the newline).
pub fn line(m: &OutgoingMessage) -> Result<String, SendError> {
    serde_json::to_string(&Line {
        id: &m.id,
        to: &m.to,
        kind: &m.kind,
        locale: &m.locale,
        subject: m.subject.as_deref().unwrap_or(""),
        text: &m.text,
        html: m.html.as_deref(),
        created_at: crate::clock::iso(m.created_at),
    })
    .map_err(|e| SendError::Permanent(e.to_string()))
}

#[async_trait::async_trait]
impl Sender for EmailFile {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let l = line(m)?;
        append_line(&self.path, &l).map_err(|e| {
            SendError::Transient(format!("cannot append to {}: {e}", self.path.display()))
        })?;
        tracing::info!(
            id = %m.id, to = %m.to, r#type = %m.kind, text = "<redacted>",
            path = %self.path.display(),
            "email written to the development outbox"
        );
        Ok(Delivered::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Channel;

    #[test]
    fn line_shape() {
        let m = OutgoingMessage {
            id: "msg_1".into(),
            channel: Channel::Email,
            to: "a@example.com".into(),
            kind: "change_password".into(),
            locale: "fr".into(),
            subject: Some("Reset".into()),
            text: "Go to https://x/reset?t=1".into(),
            html: None,
            created_at: 0,
        };
        assert_eq!(
            line(&m).unwrap(),
            r#"{"id":"msg_1","to":"a@example.com","type":"change_password","locale":"fr","subject":"Reset","text":"Go to https://x/reset?t=1","html":null,"created_at":"1970-01-01T00:00:00.000Z"}"#
        );
    }
}
