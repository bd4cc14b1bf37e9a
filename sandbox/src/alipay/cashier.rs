//! The payer's side of a wap order: the cashier page that the signed payment
//! URL opens, and the wallet step (`POST /sandbox/pay`) that its Pay button
//! submits.
//!
//! The page is plain HTML with one form and no script, so a person pays from
//! any browser and a program pays by doing what the browser does (see
//! [`crate::payer`]). Every value a program needs has an `id`: `order`,
//! `amount`, `cny`, `out-trade-no`, `trade-no`, `result-status`, `error`.
//!
//! The wallet step answers in two ways. A client that posts the fields alone
//! (the thesis's PayTask, the demo, `curl`) gets the wallet's JSON result
//! (`resultStatus` 9000 success, 4000 failed). The cashier's form also posts
//! `reply=page`, and gets the result page: the receipt, or the cashier again
//! with the reason it refused.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;

use super::notify::notify_until_acknowledged;
use super::{Trade, escape};
use crate::World;
use crate::faults::lock;
use crate::journal::Direction;
use crate::money::format_minor;

/// What the cashier's form posts, beside the fields, to get a page back.
const REPLY_PAGE: &str = "page";

/// The payer's step: what the buyer does in the wallet (the thesis's PayTask).
#[derive(Debug, Deserialize)]
pub struct PayRequest {
    /// The merchant.
    pub partner: String,
    /// The trade.
    pub out_trade_no: String,
    /// The buyer's login.
    pub login: String,
    /// The buyer's payment password.
    pub pay_password: String,
    /// `page` for the result page; anything else, or nothing, for JSON.
    #[serde(default)]
    pub reply: Option<String>,
}

/// Why the wallet refused a payment: the memo of a `4000` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WalletRefusal {
    /// The form did not have the four fields.
    #[error("bad request")]
    BadRequest,
    /// No buyer has that login.
    #[error("unknown buyer")]
    UnknownBuyer,
    /// The payment password is not the buyer's.
    #[error("wrong payment password")]
    WrongPassword,
    /// The merchant has no such trade (the payment URL was never opened).
    #[error("trade not found")]
    TradeNotFound,
    /// Paid, closed or refunded already.
    #[error("the trade is not awaiting payment")]
    NotAwaitingPayment,
    /// The buyer's CNY balance is short of the charge.
    #[error("insufficient balance")]
    InsufficientBalance,
}

/// The cashier page for `trade`: the order, the login form, and `error` from
/// a refused attempt. A trade no longer awaiting payment (paid, closed) shows
/// its status instead of the form.
pub(super) fn page(world: &World, trade: &Trade, error: Option<WalletRefusal>) -> Response {
    if trade.trade_status != "WAIT_BUYER_PAY" {
        let body = format!(
            "<h1>Alipay cashier</h1><p>Order <span id=\"out-trade-no\">{}</span>: \
             <span id=\"trade-status\">{}</span>.</p>\
             <p id=\"error\" role=\"alert\">{}</p>",
            escape(&trade.out_trade_no),
            escape(&trade.trade_status),
            WalletRefusal::NotAwaitingPayment,
        );
        return document("Alipay cashier (sandbox)", &body);
    }
    let subject = trade.request.get("subject").map_or("", String::as_str);
    let foreign = if trade.total_fee_minor > 0 {
        format!("{} {}", format_minor(trade.total_fee_minor), trade.currency)
    } else {
        format!("priced in CNY, settled in {}", trade.currency)
    };
    let cny = format_minor(trade.charged_cny_fen);
    let hint = world.config.alipay.buyers.first().map_or(String::new(), |buyer| {
        format!(
            "<p id=\"hint\">Sandbox buyer: <code>{}</code>, payment password <code>{}</code>.</p>",
            escape(&buyer.login),
            escape(&buyer.pay_password)
        )
    });
    let placeholder = world
        .config
        .alipay
        .buyers
        .first()
        .map_or(String::new(), |buyer| escape(&buyer.login));
    let error = error.map_or(String::new(), |refusal| {
        format!("<p id=\"error\" role=\"alert\">{refusal}</p>")
    });
    let body = format!(
        "<h1>Alipay cashier</h1>\
         <dl id=\"order\">\
         <dt>Merchant</dt><dd id=\"merchant\">partner {partner}</dd>\
         <dt>Order</dt><dd id=\"subject\">{subject}</dd>\
         <dt>Merchant's reference</dt><dd id=\"out-trade-no\">{out_trade_no}</dd>\
         <dt>Amount</dt><dd id=\"amount\">{foreign}</dd>\
         <dt>You pay</dt><dd id=\"cny\">{cny} CNY</dd>\
         </dl>{error}\
         <form method=\"post\" action=\"/sandbox/pay\">\
         <input type=\"hidden\" name=\"partner\" value=\"{partner}\">\
         <input type=\"hidden\" name=\"out_trade_no\" value=\"{out_trade_no}\">\
         <input type=\"hidden\" name=\"reply\" value=\"{REPLY_PAGE}\">\
         <p><label>Alipay account <input type=\"text\" name=\"login\" \
         placeholder=\"{placeholder}\" autocomplete=\"username\" required></label></p>\
         <p><label>Payment password <input type=\"password\" name=\"pay_password\" \
         inputmode=\"numeric\" autocomplete=\"current-password\" required></label></p>\
         {hint}<p><button type=\"submit\">Pay {cny} CNY</button></p></form>",
        partner = escape(&trade.partner),
        subject = escape(subject),
        out_trade_no = escape(&trade.out_trade_no),
    );
    document("Alipay cashier (sandbox)", &body)
}

fn document(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body>{body}<p><small>Corridor sandbox: no real money moves.</small></p></body></html>"
    ))
    .into_response()
}

fn receipt_page(trade: &Trade) -> Response {
    let body = format!(
        "<h1>Payment successful</h1>\
         <p>Result <span id=\"result-status\">9000</span>: the merchant is being notified.</p>\
         <dl id=\"receipt\">\
         <dt>Alipay trade number</dt><dd id=\"trade-no\">{trade_no}</dd>\
         <dt>Merchant's reference</dt><dd id=\"out-trade-no\">{out_trade_no}</dd>\
         <dt>Paid</dt><dd id=\"cny\">{cny} CNY</dd>\
         <dt>Buyer</dt><dd id=\"buyer\">{buyer}</dd>\
         </dl>",
        trade_no = escape(trade.trade_no.as_deref().unwrap_or_default()),
        out_trade_no = escape(&trade.out_trade_no),
        cny = format_minor(trade.charged_cny_fen),
        buyer = escape(trade.buyer.as_deref().unwrap_or_default()),
    );
    document("Alipay: paid (sandbox)", &body)
}

/// A refusal as a page: the cashier again when the trade exists, so the payer
/// can correct the password; a bare error page when it does not.
fn refusal_page(world: &World, request: &PayRequest, refusal: WalletRefusal) -> Response {
    let trade = lock(&world.alipay.state)
        .trades
        .iter()
        .find(|trade| {
            trade.partner == request.partner && trade.out_trade_no == request.out_trade_no
        })
        .cloned();
    match trade {
        Some(trade) => page(world, &trade, Some(refusal)),
        None => {
            let body = format!(
                "<h1>Payment failed</h1><p>Result <span id=\"result-status\">4000</span></p>\
                 <p id=\"error\" role=\"alert\">{refusal}</p>"
            );
            document("Alipay: payment failed (sandbox)", &body)
        }
    }
}

/// The wallet's result: `resultStatus` 9000 success, 4000 failed, 6001 cancelled.
fn wallet_result(status: &str, memo: &str) -> Response {
    Json(serde_json::json!({ "resultStatus": status, "memo": memo, "result": "" })).into_response()
}

pub(super) async fn pay(State(world): State<Arc<World>>, body: String) -> Response {
    world.journal.record(
        "alipay",
        Direction::Received,
        "POST /sandbox/pay".into(),
        0,
        body.clone(),
    );
    let request: PayRequest =
        match serde_json::from_str(&body).or_else(|_| serde_urlencoded::from_str(&body)) {
            Ok(request) => request,
            Err(_) => return wallet_result("4000", &WalletRefusal::BadRequest.to_string()),
        };
    let as_page = request.reply.as_deref() == Some(REPLY_PAGE);
    match debit(&world, &request) {
        Ok(trade) => {
            tokio::spawn(notify_until_acknowledged(world.clone(), trade.clone()));
            if as_page {
                receipt_page(&trade)
            } else {
                wallet_result("9000", "")
            }
        }
        Err(refusal) if as_page => refusal_page(&world, &request, refusal),
        Err(refusal) => wallet_result("4000", &refusal.to_string()),
    }
}

/// Checks the buyer and the trade, charges the buyer and marks the trade
/// paid, all under one lock so a trade is never paid twice.
fn debit(world: &World, request: &PayRequest) -> Result<Trade, WalletRefusal> {
    let mut guard = lock(&world.alipay.state);
    let state = &mut *guard;
    let (password, balance) = state
        .buyers
        .get_mut(&request.login)
        .ok_or(WalletRefusal::UnknownBuyer)?;
    if *password != request.pay_password {
        return Err(WalletRefusal::WrongPassword);
    }
    let trade = state
        .trades
        .iter_mut()
        .find(|trade| {
            trade.partner == request.partner && trade.out_trade_no == request.out_trade_no
        })
        .ok_or(WalletRefusal::TradeNotFound)?;
    if trade.trade_status != "WAIT_BUYER_PAY" {
        return Err(WalletRefusal::NotAwaitingPayment);
    }
    if *balance < trade.charged_cny_fen {
        return Err(WalletRefusal::InsufficientBalance);
    }
    *balance -= trade.charged_cny_fen;
    let now = crate::now_ms();
    let digits: u64 = state.random.gen_range(1_000_000_000_000..9_999_999_999_999);
    trade.trade_no = Some(format!(
        "{}2100100{digits}",
        &crate::clock::local_time(now, 8, "yyyyMMddHHmmss")[..8]
    ));
    trade.trade_status = "TRADE_FINISHED".into();
    trade.buyer = Some(request.login.clone());
    Ok(trade.clone())
}
