//! The call-centre's event shapes: the live feed's `inbound` event data (SSE) and the
//! call-centre webhook's Standard-Webhooks envelope. Each account inside is the one account
//! shape of the REST lookup (`service::callcenter::lookup::Account`), kept as the JSON the
//! event was stored with. Fields are in alphabetical order: the order these documents have
//! always had on the wire (the webhook's signature covers the bytes).

use serde::Serialize;
use serde_json::Value;

/// The SSE `inbound` event's data.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeedEvent<'a> {
    pub accounts: &'a Value,
    pub channel: &'a str,
    pub number: &'a str,
    /// ISO 8601.
    pub received_at: String,
}

/// The webhook body: `{data, timestamp, type: "phone.inbound"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WebhookEnvelope<'a> {
    pub data: WebhookData<'a>,
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WebhookData<'a> {
    pub accounts: &'a Value,
    pub channel: &'a str,
    /// The provider's message or call id.
    pub id: &'a str,
    pub number: &'a str,
    pub received_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn webhook_bytes_keep_alphabetical_order() {
        let accounts = json!([]);
        let e = WebhookEnvelope {
            data: WebhookData {
                accounts: &accounts,
                channel: "sms",
                id: "SM1",
                number: "+15555550100",
                received_at: "2026-01-01T00:00:00.000Z".into(),
            },
            timestamp: "2026-01-01T00:00:00.000Z".into(),
            kind: "phone.inbound",
        };
        let text = serde_json::to_string(&e).unwrap();
        // The same bytes serde_json's sorted map gave before the type existed.
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(text, v.to_string());
    }
}
