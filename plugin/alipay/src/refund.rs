//! `forex_refund`: returns a paid trade to the buyer. Idempotent per
//! `out_return_no`, so a refund whose reply was lost is simply sent again.

use super::{AlipaySettings, gateway_body, params, xml};
use corridor_connector_kit::bindings::corridor::connector::http::{Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Failure, RefundReceipt, RefundRequest,
};
use corridor_connector_kit::failure::{failed, retryable};
use corridor_connector_kit::money::format_minor;
use corridor_connector_kit::time::format_local;

/// The signed, synchronous refund request.
pub fn request(
    settings: &AlipaySettings,
    refund: &RefundRequest,
    now_ms: u64,
) -> Result<Request, Failure> {
    if refund.amount.amount_minor <= 0 {
        return Err(failed("ILLEGAL_ARGUMENT", "return_amount must be positive"));
    }
    if refund.reference.is_empty() || refund.reference.len() > 64 {
        return Err(failed(
            "ILLEGAL_ARGUMENT",
            "out_return_no must be 1 to 64 characters",
        ));
    }
    let reason: String = refund.reason.chars().take(100).collect();
    let gmt_return = format_local(now_ms, 8).ok_or_else(|| {
        failed(
            "clock",
            format!("the host's clock ({now_ms} ms) is past any date Alipay accepts"),
        )
    })?;
    let mut body = params(&[
        ("out_return_no", refund.reference.clone()),
        ("out_trade_no", refund.pay_in_reference.clone()),
        ("return_amount", format_minor(refund.amount.amount_minor)),
        ("currency", refund.amount.currency.clone()),
        ("gmt_return", gmt_return),
        ("reason", reason),
        ("is_sync", "Y".into()),
        ("product_code", super::order::PRODUCT_CODE.into()),
    ]);
    body.extend(settings.base_params("forex_refund"));
    settings.signed_post(body)
}

/// The refund's result.
pub fn parse(response: &Response, refund: &RefundRequest) -> Result<RefundReceipt, Failure> {
    let reply = xml::parse(gateway_body(response)?)?;
    if reply.success {
        return Ok(RefundReceipt {
            reference: refund.reference.clone(),
            amount: refund.amount.clone(),
            details: vec![("out_return_no".into(), refund.reference.clone())],
        });
    }
    match reply.error.as_deref().unwrap_or_default() {
        "SYSTEM_EXCEPTION" => Err(retryable("SYSTEM_EXCEPTION", "Alipay is busy")),
        code => Err(failed(code, format!("forex_refund refused: {code}"))),
    }
}
