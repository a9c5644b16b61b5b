//! Email over SMTP through lettre: one `AsyncSmtpTransport` built from `smtp_url` (lettre's URL
//! form: `smtps://user:pass@host:465`, `smtp://host:587?tls=required`, `smtp://host:25`), a
//! `multipart/alternative` body when there is HTML, plain text otherwise.
//!
//! Failure classes decide retries: a 5xx reply about the message (rejected recipient, refused
//! content) is permanent; everything else (4xx, connection, TLS, timeout, and 5xx replies that
//! mean our own credentials or TLS settings are wrong, which an operator can fix) is transient.

use super::{Delivered, OutgoingMessage, SendError, Sender};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// Per SMTP command; the dispatcher also bounds the whole send.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// RFC 4954 replies about our authentication or the channel, not the message.
const CONFIG_CODES: &[&str] = &["530", "534", "535", "538"];

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// Parses the URL and the From address; connects only when sending. The error text never
    /// repeats the URL (it holds the password).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("invalid smtp_url: {e}"))?
            .timeout(Some(COMMAND_TIMEOUT))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("invalid email_from {from:?}: {e}"))?;
        Ok(SmtpSender { transport, from })
    }

    fn build(&self, m: &OutgoingMessage) -> Result<lettre::Message, SendError> {
        let to: Mailbox =
            m.to.parse()
                .map_err(|e| SendError::Permanent(format!("invalid recipient address: {e}")))?;
        let b = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone().unwrap_or_default());
        let built = match &m.html {
            Some(html) => b.multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                html.clone(),
            )),
            None => b.singlepart(SinglePart::plain(m.text.clone())),
        };
        built.map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))
    }
}

fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string());
    if e.is_permanent() && !code.as_deref().is_some_and(|c| CONFIG_CODES.contains(&c)) {
        SendError::Permanent(format!("smtp: {e}"))
    } else {
        SendError::Transient(format!("smtp: {e}"))
    }
}

#[async_trait::async_trait]
impl Sender for SmtpSender {
    async fn send(&self, m: &OutgoingMessage) -> Result<Delivered, SendError> {
        let email = self.build(m)?;
        let resp = self.transport.send(email).await.map_err(classify)?;
        Ok(Delivered {
            provider_ref: Some(resp.message().collect::<Vec<_>>().join(" ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Channel;

    #[test]
    fn urls_and_addresses() {
        assert!(SmtpSender::new("smtp://127.0.0.1:2525", "callsign <no-reply@localhost>").is_ok());
        let e = SmtpSender::new("http://user:hunter2@host", "a@b.c")
            .err()
            .unwrap();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(SmtpSender::new("smtp://127.0.0.1:2525", "not an address").is_err());
    }

    #[test]
    fn bad_recipient_is_permanent() {
        let s = SmtpSender::new("smtp://127.0.0.1:2525", "a@b.c").unwrap();
        let m = OutgoingMessage {
            id: "m".into(),
            channel: Channel::Email,
            to: "nobody".into(),
            kind: "verify_email".into(),
            locale: "en".into(),
            subject: Some("s".into()),
            text: "t".into(),
            html: Some("<p>t</p>".into()),
            created_at: 0,
        };
        assert!(matches!(s.build(&m), Err(SendError::Permanent(_))));
        let ok = OutgoingMessage {
            to: "x@example.com".into(),
            ..m
        };
        assert!(s.build(&ok).is_ok());
    }
}
