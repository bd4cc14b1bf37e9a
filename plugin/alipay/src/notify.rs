//! The asynchronous trade notification: verify the signature, then ask Alipay
//! whether it sent it (`notify_verify`), then report what it says. The reply
//! is exactly `success`, or Alipay retries on its schedule.

use std::collections::BTreeMap;

use super::messages::{ForexTradeNotification, TradeStatus};
use super::{AlipaySettings, params, sign};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Event, PayInFailure, PayInReceipt, Reply,
};
use corridor_connector_kit::failure::failed;
use corridor_connector_kit::money::{money, parse_minor};

/// The parameters of a notification: the form body, or the query for a GET.
pub fn parameters(body: &[u8], query: &str) -> BTreeMap<String, String> {
    let raw = if body.is_empty() {
        query.as_bytes()
    } else {
        body
    };
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw)
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default()
}

/// Checks the signature and reads the fields. `Err` says why it is not acted on.
pub fn verify(
    settings: &AlipaySettings,
    params: &BTreeMap<String, String>,
) -> Result<ForexTradeNotification, String> {
    let get = |key: &str| params.get(key).cloned().unwrap_or_default();
    if !sign::is_alipays(settings, params, &get("sign_type"), &get("sign")) {
        return Err("bad signature".into());
    }
    let total_fee_minor = parse_minor(&get("total_fee")).ok_or("total_fee is not an amount")?;
    let notification = ForexTradeNotification {
        notify_id: get("notify_id"),
        out_trade_no: get("out_trade_no"),
        trade_no: get("trade_no"),
        trade_status: TradeStatus::parse(&get("trade_status")),
        total_fee_minor,
        currency: get("currency"),
        buyer_logon_id: params.get("buyer_logon_id").cloned(),
    };
    if notification.notify_id.is_empty() || notification.out_trade_no.is_empty() {
        return Err("notify_id or out_trade_no missing".into());
    }
    Ok(notification)
}

/// `notify_verify`: asks the gateway whether it sent `notify_id`. Unsigned.
pub fn notify_verify_request(settings: &AlipaySettings, notify_id: &str) -> Request {
    let query = serde_urlencoded::to_string(params(&[
        ("service", "notify_verify".into()),
        ("partner", settings.partner.clone()),
        ("notify_id", notify_id.to_string()),
    ]))
    .unwrap_or_default();
    Request {
        method: Method::Get,
        url: format!("{}?{query}", settings.gateway_url),
        headers: vec![],
        body: vec![],
        timeout_ms: None,
    }
}

/// Whether the gateway's answer to `notify_verify` is `true`.
pub fn notify_verify_confirms(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .trim()
        .eq_ignore_ascii_case("true")
}

/// What a verified notification establishes. Anything but a paid or closed
/// trade establishes nothing.
pub fn events(notification: &ForexTradeNotification) -> Vec<Event> {
    match notification.trade_status {
        TradeStatus::TradeFinished | TradeStatus::TradeSuccess => {
            vec![Event::PayInSucceeded(PayInReceipt {
                reference: notification.out_trade_no.clone(),
                provider_transaction_id: notification.trade_no.clone(),
                amount: money(notification.total_fee_minor, &notification.currency),
                charged: None,
                details: crate::trade_details(
                    &notification.out_trade_no,
                    &notification.trade_no,
                    notification.buyer_logon_id.as_deref(),
                ),
            })]
        }
        TradeStatus::TradeClosed => vec![Event::PayInFailed(PayInFailure {
            reference: notification.out_trade_no.clone(),
            failure: failed("TRADE_CLOSED", "Alipay closed the trade unpaid"),
        })],
        TradeStatus::WaitBuyerPay | TradeStatus::Unknown(_) => vec![],
    }
}

/// The reply: `success` stops Alipay's retries; anything else asks for them.
pub fn reply(acknowledge: bool) -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: if acknowledge {
            b"success".to_vec()
        } else {
            b"fail".to_vec()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::md5_settings;

    fn notification_form(status: &str) -> Vec<u8> {
        let settings = md5_settings();
        let fields = params(&[
            ("notify_id", "850fd05d0bd794784867a4df048ce5ehgu".into()),
            ("notify_time", "2016-05-13 09:19:50".into()),
            ("notify_type", "trade_status_sync".into()),
            ("out_trade_no", "COR-t1".into()),
            ("trade_no", "2016051221001003190252818476".into()),
            ("trade_status", status.into()),
            ("total_fee", "10.00".into()),
            ("currency", "USD".into()),
        ]);
        let signed = sign::signed(&settings, fields).expect("signed");
        serde_urlencoded::to_string(signed)
            .expect("form")
            .into_bytes()
    }

    #[test]
    fn a_signed_finished_trade_is_a_pay_in_success() {
        let params = parameters(&notification_form("TRADE_FINISHED"), "");
        let notification = verify(&md5_settings(), &params).expect("verified");
        let events = events(&notification);
        assert!(
            matches!(&events[..], [Event::PayInSucceeded(receipt)] if receipt.amount.amount_minor == 1000 && receipt.reference == "COR-t1")
        );
    }

    #[test]
    fn a_forged_notification_is_refused_and_waiting_trades_establish_nothing() {
        let mut params = parameters(&notification_form("TRADE_FINISHED"), "");
        params.insert("total_fee".into(), "1000.00".into());
        assert_eq!(
            verify(&md5_settings(), &params),
            Err("bad signature".to_string())
        );
        let waiting = verify(
            &md5_settings(),
            &parameters(&notification_form("WAIT_BUYER_PAY"), ""),
        )
        .expect("verified");
        assert!(events(&waiting).is_empty());
    }
}
