//! The checks around a pay-out: is the payee an active MoMo account holder,
//! and does the disbursement account hold enough.

use super::amount::from_wire;
use super::messages::{AccountHolderActive, Balance};
use super::{MomoSettings, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::Money;
use corridor_connector_kit::failure::{read_only, retryable};
use corridor_connector_kit::money::money;

/// `GET /disbursement/v1_0/accountholder/msisdn/{msisdn}/active`. MTN's
/// current text says the id type is lower case.
pub fn holder_request(settings: &MomoSettings, token: &str, msisdn: &str) -> Request {
    Request {
        method: Method::Get,
        url: format!(
            "{}/disbursement/v1_0/accountholder/msisdn/{msisdn}/active",
            settings.base_url
        ),
        headers: settings.product_headers(token),
        body: vec![],
        timeout_ms: None,
    }
}

/// Whether the payee can receive: `{"result": true}`. MTN documents both a
/// 200 `false` and a 404 for a number that is not an active holder.
pub fn holder_parse(response: &Response) -> Result<bool, Rejection> {
    match response.status {
        200 => serde_json::from_slice::<AccountHolderActive>(&response.body)
            .map(|answer| answer.result)
            .map_err(|error| {
                Rejection::Failed(retryable(
                    "bad-response",
                    format!("the account-holder answer is not understood: {error}"),
                ))
            }),
        404 => Ok(false),
        _ => Err(read(response)),
    }
}

/// `GET /disbursement/v1_0/account/balance`.
pub fn balance_request(settings: &MomoSettings, token: &str) -> Request {
    Request {
        method: Method::Get,
        url: format!("{}/disbursement/v1_0/account/balance", settings.base_url),
        headers: settings.product_headers(token),
        body: vec![],
        timeout_ms: None,
    }
}

/// The available balance, in minor units of its currency.
pub fn balance_parse(response: &Response) -> Result<Money, Rejection> {
    if response.status != 200 {
        return Err(read(response));
    }
    let bad = |message: String| Rejection::Failed(retryable("bad-response", message));
    let balance: Balance = serde_json::from_slice(&response.body)
        .map_err(|error| bad(format!("the balance is not understood: {error}")))?;
    let minor = from_wire(&balance.available_balance, &balance.currency).ok_or_else(|| {
        bad(format!(
            "{:?} is not an amount of {}",
            balance.available_balance, balance.currency
        ))
    })?;
    Ok(money(minor, &balance.currency))
}

fn read(response: &Response) -> Rejection {
    match rejection(response) {
        Rejection::Failed(failure) => Rejection::Failed(read_only(failure)),
        Rejection::TokenRejected => Rejection::TokenRejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{header, response, settings};

    #[test]
    fn an_active_holder_is_true_and_a_missing_one_false_in_either_shape() {
        let request = holder_request(&settings(), "tok", "256772123456");
        assert!(
            request
                .url
                .ends_with("/disbursement/v1_0/accountholder/msisdn/256772123456/active")
        );
        assert_eq!(header(&request, "X-Target-Environment"), Some("mtnuganda"));
        assert!(holder_parse(&response(200, r#"{"result": true}"#)).expect("answer"));
        // The MTN-Group PHP sample prints `result => 1`.
        assert!(holder_parse(&response(200, r#"{"result": 1}"#)).expect("answer"));
        assert!(!holder_parse(&response(200, r#"{"result": false}"#)).expect("answer"));
        assert!(!holder_parse(&response(404, "")).expect("answer"));
    }

    #[test]
    fn the_balance_is_read_in_its_currencys_units() {
        // The PHP SDK's sandbox sample (`availableBalance => 1000, currency => EUR`) as JSON.
        let euros = balance_parse(&response(
            200,
            r#"{"availableBalance":"1000","currency":"EUR"}"#,
        ))
        .expect("balance");
        assert_eq!(
            (euros.amount_minor, euros.currency.as_str()),
            (100_000, "EUR")
        );
        let shillings = balance_parse(&response(
            200,
            r#"{"availableBalance":"2500000","currency":"UGX"}"#,
        ))
        .expect("balance");
        assert_eq!(
            (shillings.amount_minor, shillings.currency.as_str()),
            (2_500_000, "UGX")
        );
        assert!(
            balance_request(&settings(), "tok")
                .url
                .ends_with("/account/balance")
        );
    }
}
