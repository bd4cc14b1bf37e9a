//! `create_forex_trade_wap`: the signed order the payer's browser or the Alipay
//! app opens. Alipay creates the trade when the payer opens it, so starting a
//! pay-in sends nothing; the trade number arrives with the notification.

use super::{AlipaySettings, params, sign};
use corridor_connector_kit::bindings::corridor::connector::types::{Failure, PayInRequest};
use corridor_connector_kit::failure::failed;
use corridor_connector_kit::money::format_minor;

/// The mapi service for mobile web with hand-off to the Alipay app.
pub const SERVICE: &str = "create_forex_trade_wap";
/// The product the WAP order and its refunds belong to.
pub const PRODUCT_CODE: &str = "NEW_WAP_OVERSEAS_SELLER";

/// The payment URL for `request`. `now_ms` sets `timeout_rule`, so that
/// Alipay closes the trade when the host's pay-in window closes.
pub fn payment_url(
    settings: &AlipaySettings,
    request: &PayInRequest,
    now_ms: u64,
) -> Result<String, Failure> {
    let amount = &request.amount;
    if amount.amount_minor <= 0 || amount.amount_minor > 100_000_000 {
        return Err(failed(
            "ILLEGAL_ARGUMENT",
            format!(
                "total_fee must be 0.01 to 1000000.00, not {} minor",
                amount.amount_minor
            ),
        ));
    }
    if amount.currency == "CNY" || amount.currency.len() != 3 {
        return Err(failed(
            "ILLEGAL_ARGUMENT",
            format!("{:?} cannot be a settlement currency", amount.currency),
        ));
    }
    if request.reference.is_empty() || request.reference.len() > 64 {
        return Err(failed(
            "ILLEGAL_ARGUMENT",
            "out_trade_no must be 1 to 64 characters",
        ));
    }
    let minutes_left = request
        .expires_at_ms
        .saturating_sub(now_ms)
        .div_ceil(60_000)
        .max(1);
    let mut order = params(&[
        ("notify_url", request.notify_url.clone()),
        ("out_trade_no", request.reference.clone()),
        ("subject", request.subject.clone()),
        ("currency", amount.currency.clone()),
        ("total_fee", format_minor(amount.amount_minor)),
        ("product_code", PRODUCT_CODE.into()),
        ("app_pay", "Y".into()),
        ("timeout_rule", format!("{minutes_left}m")),
    ]);
    order.extend(settings.base_params(SERVICE));
    let signed = sign::signed(settings, order)?;
    let query = serde_urlencoded::to_string(&signed)
        .map_err(|error| failed("bad-order", error.to_string()))?;
    Ok(format!("{}?{query}", settings.gateway_url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::md5_settings;
    use corridor_connector_kit::money::money;

    fn request() -> PayInRequest {
        PayInRequest {
            payer: None,
            connector_routes: vec![],
            transfer_id: "t1".into(),
            reference: "COR-t1".into(),
            amount: money(1000, "USD"),
            subject: "Remit to 254708374149".into(),
            notify_url: "http://127.0.0.1:9/callbacks/alipay-mpesa/alipay-notify/t1/x".into(),
            expires_at_ms: 600_000,
        }
    }

    #[test]
    fn the_order_is_a_signed_gateway_url_with_the_wap_parameters() {
        let settings = md5_settings();
        let url = payment_url(&settings, &request(), 0).expect("url");
        let (base, query) = url.split_once('?').expect("query");
        assert_eq!(base, settings.gateway_url);
        let params: std::collections::BTreeMap<String, String> =
            serde_urlencoded::from_str(query).expect("form");
        assert_eq!(params["service"], "create_forex_trade_wap");
        assert_eq!(params["total_fee"], "10.00");
        assert_eq!(params["app_pay"], "Y");
        assert_eq!(params["timeout_rule"], "10m");
        assert!(sign::is_alipays(
            &settings,
            &params,
            &params["sign_type"],
            &params["sign"]
        ));
    }

    #[test]
    fn cny_and_non_positive_amounts_are_refused() {
        let mut cny = request();
        cny.amount = money(1000, "CNY");
        assert!(payment_url(&md5_settings(), &cny, 0).is_err());
        let mut zero = request();
        zero.amount = money(0, "USD");
        assert!(payment_url(&md5_settings(), &zero, 0).is_err());
    }
}
