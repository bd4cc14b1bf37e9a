//! The services on an existing trade: `single_trade_query` (XML),
//! `forex_refund` (crediting the buyer once per `out_return_no`), and
//! `forex_rate_file`.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};

use super::{SignType, Trade, escape, xml, xml_error};
use crate::World;
use crate::faults::lock;
use crate::money::{format_minor, parse_minor};

/// The partner's trade named by `trade_no` or `out_trade_no`. Each one given
/// must match: an unpaid trade has no `trade_no` yet, and must never answer
/// for a query that names another trade.
fn find_trade<'a>(
    trades: &'a [Trade],
    partner: &str,
    out_trade_no: Option<&str>,
    trade_no: Option<&str>,
) -> Option<&'a Trade> {
    if out_trade_no.is_none() && trade_no.is_none() {
        return None;
    }
    trades.iter().find(|trade| {
        trade.partner == partner
            && out_trade_no.is_none_or(|wanted| trade.out_trade_no == wanted)
            && trade_no.is_none_or(|wanted| trade.trade_no.as_deref() == Some(wanted))
    })
}

pub(super) fn single_trade_query(world: &World, params: &BTreeMap<String, String>) -> Response {
    let partner = params.get("partner").cloned().unwrap_or_default();
    let out_trade_no = params.get("out_trade_no").filter(|value| !value.is_empty());
    let trade_no = params.get("trade_no").filter(|value| !value.is_empty());
    if out_trade_no.is_none() && trade_no.is_none() {
        return xml_error("ILLEGAL_ARGUMENT");
    }
    let trade = find_trade(
        &lock(&world.alipay.state).trades,
        &partner,
        out_trade_no.map(String::as_str),
        trade_no.map(String::as_str),
    )
    .cloned();
    let Some(trade) = trade else {
        return xml_error("TRADE_NOT_EXIST");
    };
    let fields: BTreeMap<String, String> = [
        ("out_trade_no", trade.out_trade_no.clone()),
        ("trade_no", trade.trade_no.clone().unwrap_or_default()),
        ("trade_status", trade.trade_status.clone()),
        ("currency", trade.currency.clone()),
        ("total_fee", format_minor(trade.total_fee_minor)),
        ("forex_total_fee", format_minor(trade.total_fee_minor)),
        ("rmb_fee", format_minor(trade.charged_cny_fen)),
        ("refund_fee", format_minor(trade.refunded_minor)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect();
    let sign_type = SignType::parse(
        params
            .get("sign_type")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .unwrap_or(SignType::Md5);
    let sign = world.alipay.sign(&partner, sign_type, &fields);
    let request: String = params
        .iter()
        .filter(|(key, _)| key.as_str() != "sign")
        .map(|(key, value)| format!("<param name=\"{}\">{}</param>", escape(key), escape(value)))
        .collect();
    let trade_xml: String = fields
        .iter()
        .map(|(key, value)| format!("<{key}>{}</{key}>", escape(value)))
        .collect();
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><alipay><is_success>T</is_success><request>{request}</request>\
         <response><trade>{trade_xml}</trade></response><sign>{sign}</sign><sign_type>{}</sign_type></alipay>",
        sign_type.name()
    ))
}

pub(super) fn forex_refund(world: &World, params: &BTreeMap<String, String>) -> Response {
    let get = |key: &str| params.get(key).map(String::as_str).unwrap_or_default();
    let (out_return_no, out_trade_no, partner) = (
        get("out_return_no"),
        get("out_trade_no"),
        get("partner").to_string(),
    );
    let Some((amount, in_cny)) = refund_amount(params) else {
        return xml_error("ILLEGAL_ARGUMENT");
    };
    let mut guard = lock(&world.alipay.state);
    let state = &mut *guard;
    if let Some(previous) = state
        .refunds
        .get(&(partner.clone(), out_return_no.to_string()))
    {
        // The same refund again: already done, nothing moves twice.
        return if *previous == amount {
            refund_done()
        } else {
            xml_error("DUPLICATE_OUT_RETURN_NO")
        };
    }
    let Some(trade) = state
        .trades
        .iter_mut()
        .find(|trade| trade.partner == partner && trade.out_trade_no == out_trade_no)
    else {
        return xml_error("TRADE_NOT_EXIST");
    };
    let cny_back = match refund_trade(trade, amount, in_cny) {
        Ok(cny_back) => cny_back,
        Err(code) => return xml_error(code),
    };
    let buyer = trade.buyer.clone().unwrap_or_default();
    if let Some((_, balance)) = state.buyers.get_mut(&buyer) {
        *balance += cny_back;
    }
    state
        .refunds
        .insert((partner, out_return_no.to_string()), amount);
    refund_done()
}

/// The refund asked for, and whether it is in CNY (`return_rmb_amount`)
/// rather than the trade's currency (`return_amount`), if the request is
/// well formed.
fn refund_amount(params: &BTreeMap<String, String>) -> Option<(i64, bool)> {
    let get = |key: &str| params.get(key).map(String::as_str).unwrap_or_default();
    let out_return_no = get("out_return_no");
    if out_return_no.is_empty()
        || out_return_no.len() > 64
        || get("out_trade_no").is_empty()
        || get("currency") == "CNY"
    {
        return None;
    }
    let (return_amount, return_rmb_amount) = (get("return_amount"), get("return_rmb_amount"));
    let amount = match (return_amount.is_empty(), return_rmb_amount.is_empty()) {
        (false, _) => parse_minor(return_amount).map(|minor| (minor, false)),
        (true, false) => parse_minor(return_rmb_amount).map(|fen| (fen, true)),
        (true, true) => None,
    };
    amount.filter(|(minor, _)| *minor > 0)
}

/// Books `amount` against a paid trade, if it fits in what is left, and gives
/// the CNY fen the buyer gets back; or the mapi error code refusing it.
fn refund_trade(trade: &mut Trade, amount: i64, in_cny: bool) -> Result<i64, &'static str> {
    if trade.trade_status != "TRADE_FINISHED" {
        return Err("TRADE_STATUS_NOT_AVAILD");
    }
    let paid = if in_cny || trade.total_fee_minor == 0 {
        trade.charged_cny_fen
    } else {
        trade.total_fee_minor
    };
    if trade.refunded_minor + amount > paid {
        return Err("RETURN_AMOUNT_EXCEED");
    }
    // The buyer gets back the CNY they paid, pro rata; a full refund returns
    // exactly what was charged.
    let cny_back = if in_cny {
        amount
    } else {
        i64::try_from(i128::from(trade.charged_cny_fen) * i128::from(amount) / i128::from(paid))
            .unwrap_or(0)
    };
    trade.refunded_minor += amount;
    Ok(cny_back)
}

/// mapi's bare success reply, for a refund done now or before.
fn refund_done() -> Response {
    xml(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><alipay><is_success>T</is_success></alipay>"
            .into(),
    )
}

pub(super) fn forex_rate_file(world: &World) -> Response {
    let now = crate::now_ms();
    let stamp = crate::clock::local_time(now, 8, "yyyyMMddHHmmss");
    let (date, time) = stamp.split_at(8);
    let table = lock(&world.fx).clone();
    let lines: Vec<String> = table
        .rates
        .iter()
        .filter_map(|(pair, rate)| {
            pair.strip_suffix("/CNY")
                .map(|currency| format!("{date}|{time}|{currency}|{rate}"))
        })
        .collect();
    ([("content-type", "text/plain")], lines.join("\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(partner: &str, out_trade_no: &str, trade_no: Option<&str>) -> Trade {
        Trade {
            partner: partner.into(),
            out_trade_no: out_trade_no.into(),
            trade_no: trade_no.map(Into::into),
            trade_status: if trade_no.is_some() {
                "TRADE_FINISHED"
            } else {
                "WAIT_BUYER_PAY"
            }
            .into(),
            currency: "USD".into(),
            total_fee_minor: 1000,
            charged_cny_fen: 6594,
            refunded_minor: 0,
            buyer: None,
            notify_url: String::new(),
            sign_type: SignType::Md5,
            request: BTreeMap::new(),
        }
    }

    #[test]
    fn a_trade_is_found_only_by_its_own_numbers_and_partner() {
        let trades = [
            trade("2088000000000001", "UNPAID", None),
            trade("2088000000000001", "PAID", Some("T-PAID")),
            trade("2088000000000002", "OTHER", None),
        ];
        let find = |out_trade_no, trade_no| {
            find_trade(&trades, "2088000000000001", out_trade_no, trade_no)
                .map(|trade| trade.out_trade_no.as_str())
        };
        assert_eq!(find(Some("PAID"), None), Some("PAID"));
        assert_eq!(find(Some("UNPAID"), None), Some("UNPAID"));
        assert_eq!(find(None, Some("T-PAID")), Some("PAID"));
        assert_eq!(find(Some("PAID"), Some("T-PAID")), Some("PAID"));
        assert_eq!(find(Some("NOPE"), None), None, "not the unpaid trade");
        assert_eq!(find(None, Some("T-NOPE")), None);
        assert_eq!(
            find(Some("UNPAID"), Some("T-PAID")),
            None,
            "both must match"
        );
        assert_eq!(find(Some("OTHER"), None), None, "another partner's trade");
        assert_eq!(find(None, None), None);
    }
}
