//! `single_trade_query`: where a trade stands, by `out_trade_no`. The XML
//! reply's `<sign>` covers the trade fields and is checked.

use super::messages::{SingleTradeQueryResponse, TradeStatus};
use super::{AlipaySettings, gateway_body, params, sign, xml};
use corridor_connector_kit::bindings::corridor::connector::http::{Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Failure, PayInReceipt, PayInStatus,
};
use corridor_connector_kit::failure::{failed, retryable, unknown};
use corridor_connector_kit::money::{money, parse_minor};

/// The signed query.
pub fn request(settings: &AlipaySettings, out_trade_no: &str) -> Result<Request, Failure> {
    let mut query = params(&[("out_trade_no", out_trade_no.to_string())]);
    query.extend(settings.base_params("single_trade_query"));
    settings.signed_post(query)
}

/// Where the trade stands.
pub fn parse(
    settings: &AlipaySettings,
    response: &Response,
    reference: &str,
) -> Result<PayInStatus, Failure> {
    let reply = xml::parse(gateway_body(response)?)?;
    if !reply.success {
        return match reply.error.as_deref().unwrap_or_default() {
            "TRADE_NOT_EXIST" => Ok(PayInStatus::NotFound),
            "SYSTEM_EXCEPTION" => Err(retryable("SYSTEM_EXCEPTION", "Alipay is busy")),
            code => Err(failed(code, format!("single_trade_query refused: {code}"))),
        };
    }
    let signature_ok = match (&reply.sign, &reply.sign_type) {
        (Some(signature), Some(sign_type)) => {
            sign::is_alipays(settings, &reply.trade, sign_type, signature)
        }
        _ => false,
    };
    if !signature_ok {
        return Err(unknown(
            "bad-sign",
            "the single_trade_query reply is not signed by Alipay",
        ));
    }
    let trade = SingleTradeQueryResponse::from_fields(&reply.trade);
    if trade.out_trade_no != reference {
        return Err(unknown(
            "bad-response",
            "single_trade_query answered about another trade",
        ));
    }
    match trade.trade_status {
        TradeStatus::WaitBuyerPay => Ok(PayInStatus::AwaitingPayment),
        TradeStatus::TradeFinished | TradeStatus::TradeSuccess => {
            let amount = parse_minor(&trade.total_fee)
                .ok_or_else(|| unknown("bad-response", "total_fee is not an amount"))?;
            Ok(PayInStatus::Succeeded(PayInReceipt {
                reference: reference.to_string(),
                details: crate::trade_details(
                    reference,
                    &trade.trade_no,
                    trade.buyer_logon_id.as_deref(),
                ),
                provider_transaction_id: trade.trade_no,
                amount: money(amount, &trade.currency),
                charged: trade
                    .rmb_fee
                    .as_deref()
                    .and_then(parse_minor)
                    .map(|fen| money(fen, "CNY")),
            }))
        }
        TradeStatus::TradeClosed => Ok(PayInStatus::Failed(failed(
            "TRADE_CLOSED",
            "Alipay closed the trade unpaid",
        ))),
        TradeStatus::Unknown(other) => Err(unknown(
            "bad-response",
            format!("unknown trade_status {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::md5_settings;

    fn reply(body: String) -> Response {
        Response {
            status: 200,
            headers: vec![],
            body: body.into_bytes(),
        }
    }

    #[test]
    fn a_signed_finished_trade_is_paid_and_an_unknown_trade_is_not_found() {
        let settings = md5_settings();
        let trade = params(&[
            ("out_trade_no", "COR-t1".into()),
            ("trade_no", "2016".into()),
            ("trade_status", "TRADE_FINISHED".into()),
            ("currency", "USD".into()),
            ("total_fee", "10.00".into()),
            ("rmb_fee", "65.94".into()),
        ]);
        let signature = sign::sign(&settings, &trade);
        let fields: String = trade
            .iter()
            .map(|(key, value)| format!("<{key}>{value}</{key}>"))
            .collect();
        let body = format!(
            "<?xml version=\"1.0\"?><alipay><is_success>T</is_success><response><trade>{fields}</trade></response><sign>{signature}</sign><sign_type>MD5</sign_type></alipay>"
        );
        match parse(&settings, &reply(body.clone()), "COR-t1") {
            Ok(PayInStatus::Succeeded(receipt)) => {
                assert_eq!(receipt.amount.amount_minor, 1000);
                assert_eq!(
                    receipt.charged.map(|charged| charged.amount_minor),
                    Some(6594)
                );
            }
            other => panic!("{other:?}"),
        }
        let tampered = body.replace("10.00", "99.00");
        assert!(parse(&settings, &reply(tampered), "COR-t1").is_err());
        let missing =
            "<alipay><is_success>F</is_success><error>TRADE_NOT_EXIST</error></alipay>".to_string();
        assert!(matches!(
            parse(&settings, &reply(missing), "COR-t1"),
            Ok(PayInStatus::NotFound)
        ));
    }
}
