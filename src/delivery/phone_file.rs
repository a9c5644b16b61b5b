//! The development phone outbox: with no phone provider configured, every SMS or voice message
//! is appended as one JSON line to `<data-dir>/phone-outbox.ndjson`. The line is a fixed
//! contract (`docs/operator.md`, "Development phone outbox"): exactly
//! `{"id","to","channel","type","locale","text","created_at"}`, in that order. The log line says
//! a message was written, never what it says.

use super::{Delivered, OutgoingMessage, SendError, Sender, append_line};
use crate::delivery::Channel;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "phone-outbox.ndjson";

pub struct PhoneFile {
    path: PathBuf,
}

impl PhoneFile {
    pub fn new(data_dir: &Path) -> Self {
        PhoneFile {
            path: data_dir.join(FILE_NAME),
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    to: &'a str,
    channel: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    locale: &'a str,
    text: &'a str,
    created_at: String,
}

/// The NDJSON line for one message (without the newline).
pub fn line(m: &OutgoingMessage) -> Result<String, SendError> {
    let channel = match m.channel {
        Channel::Sms => "sms",
        Channel::Voice => "voice",
        Channel::Email | Channel::Webhook => {
            return Err(SendError::Permanent(
                "the phone outbox does not carry email".into(),
            ));
        }
    };
    serde_json::to_string(&Line {
        id: &m.id,
        to: &m.to,
        channel,
        kind: &m.kind,
        locale: &m.locale,
        text: &m.text,
        created_at: crate::clock::iso(m.created_at),
    })
    .map_err(|e| SendError::Permanent(e.to_string()))
}

#[async_trait::async_trait]
impl Sender for PhoneFile {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let l = line(m)?;
        // A failed write (disk full, permissions) may well work later.
        append_line(&self.path, &l).map_err(|e| {
            SendError::Transient(format!("cannot append to {}: {e}", self.path.display()))
        })?;
        tracing::info!(
            id = %m.id, to = %m.to, channel = ?m.channel, r#type = %m.kind, text = "<redacted>",
            path = %self.path.display(),
            "phone message written to the development outbox"
        );
        Ok(Delivered::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_the_operator_spec_fields_in_order() {
        let m = OutgoingMessage {
            id: "msg_1".into(),
            channel: Channel::Voice,
            to: "+14155550100".into(),
            kind: "otp_verify".into(),
            locale: "en".into(),
            subject: Some("ignored".into()),
            text: "Your code is 123456".into(),
            html: None,
            created_at: 1_700_000_000_123,
        };
        assert_eq!(
            line(&m).unwrap(),
            r#"{"id":"msg_1","to":"+14155550100","channel":"voice","type":"otp_verify","locale":"en","text":"Your code is 123456","created_at":"2023-11-14T22:13:20.123Z"}"#
        );
        let email = OutgoingMessage {
            channel: Channel::Email,
            ..m
        };
        assert!(matches!(line(&email), Err(SendError::Permanent(_))));
    }
}
