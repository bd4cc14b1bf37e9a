//! The SAG's Lipa Na M-PESA Online Checkout (seed 004): one SOAP endpoint
//! for `processCheckOut`, `confirmTransaction` and `transactionStatusQuery`.
//!
//! Faithful where a client can go wrong: the `CheckOutHeader` password is
//! checked with the quirk (`base64(hex(sha256(MERCHANT_ID + passkey +
//! TIMESTAMP)))`, either hex case, mobile-money-apis.md §4.3); seed 004's
//! return codes (`36` credentials, `40` missing parameters, `41` MSISDN,
//! `31` amount, `30` reference, `35` a reused `MERCHANT_TRANSACTION_ID` or a
//! second confirm, `12` an unknown transaction, `29` downtime from the fault
//! knobs); a SOAP fault for an envelope that cannot be read; nothing is
//! prompted before `confirmTransaction`; then the payer answers on the
//! handset ([`super::handset`]), the balances move, and the SAG calls back in
//! the requested form ([`notify`]).

mod notify;
mod soap;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::{is_msisdn, is_url};
use crate::World;
use crate::faults::{InjectedError, lock};
use crate::journal::Direction;
use crate::money::parse_minor;
use soap::{
    CheckOutHeader, Envelope, Operation, ProcessCheckOut, ProcessCheckOutResponse, ReplyBody,
    TransactionConfirmResponse, TransactionRef, TransactionResult, fault, reply,
};

/// Where the SAG serves (seed 004 §End Points, without `?wsdl`).
pub(super) const PATH: &str = "/mpesa_online/lnmo_checkout_server.php";

/// What the SAG tells the customer after `processCheckOut` (seed 004's sample).
const CUSTOMER_MESSAGE: &str = "To complete this transaction, enter your Bonga PIN on your handset. if you don't have one dial *126*5# for instructions";

/// Where a checkout transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stage {
    /// Registered by `processCheckOut`; no prompt yet.
    Registered,
    /// Confirmed: the payer has the prompt.
    Prompted,
    /// Paid, with the receipt and its time (`YYYY-MM-DD HH:MM:SS`, EAT).
    Paid { receipt: String, date: String },
    /// Not paid: seed 004's return code and description.
    Failed {
        code: &'static str,
        description: &'static str,
    },
}

/// One checkout transaction.
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    trx_id: String,
    merchant_transaction_id: String,
    msisdn: String,
    amount_cents: i64,
    enc_params: String,
    callback_url: String,
    /// `xml`, `get` or `post`, lower case.
    callback_method: String,
    stage: Stage,
}

impl Transaction {
    /// Its fields as the status answer and the callbacks carry them.
    fn result(&self) -> TransactionResult<String> {
        let (status, code, description, receipt, date) = match &self.stage {
            Stage::Registered | Stage::Prompted => {
                ("Pending", "00", "Pending", "N/A", String::new())
            }
            Stage::Paid { receipt, date } => {
                ("Success", "00", "Success", receipt.as_str(), date.clone())
            }
            Stage::Failed { code, description } => {
                ("Failed", *code, *description, "N/A", String::new())
            }
        };
        TransactionResult {
            msisdn: self.msisdn.clone(),
            amount: format!("{}", self.amount_cents / 100),
            mpesa_trx_date: date,
            mpesa_trx_id: receipt.to_string(),
            trx_status: status.to_string(),
            return_code: code.to_string(),
            description: description.to_string(),
            merchant_transaction_id: self.merchant_transaction_id.clone(),
            enc_params: self.enc_params.clone(),
            trx_id: self.trx_id.clone(),
        }
    }
}

/// The SOAP endpoint: reads the envelope, applies the `mpesa.checkout`
/// fault knobs, checks the header, and runs the operation.
pub(super) async fn soap(State(world): State<Arc<World>>, body: String) -> Response {
    world.journal.record(
        "mpesa",
        Direction::Received,
        format!("POST {PATH}"),
        0,
        body.clone(),
    );
    let envelope: Envelope = match quick_xml::de::from_str(&body) {
        Ok(envelope) => envelope,
        Err(error) => return fault(true, &format!("Bad Request: {error}")),
    };
    let operation = envelope.body.operation;
    let injected = world.gate("mpesa.checkout", Duration::ZERO).await;
    if injected == Some(InjectedError::ServerError) {
        return fault(false, "Internal Server Error");
    }
    let header = envelope
        .header
        .and_then(|header| header.check_out_header)
        .unwrap_or_default();
    let refusal = if injected == Some(InjectedError::Busy) {
        Some("29")
    } else {
        credentials_refusal(&world, &header)
    };
    match operation {
        Operation::Process(request) => process(&world, &request, refusal),
        Operation::Confirm(request) => confirm(&world, &request, refusal),
        Operation::Status(request) => status(&world, &request, refusal),
    }
}

/// `40` for a header without its fields, `36` for a wrong merchant or password.
fn credentials_refusal(world: &World, header: &CheckOutHeader) -> Option<&'static str> {
    let config = &world.mpesa.config;
    let (Some(merchant_id), Some(password), Some(timestamp)) = (
        present(header.merchant_id.as_ref()),
        present(header.password.as_ref()),
        present(header.timestamp.as_ref()),
    ) else {
        return Some("40");
    };
    let digest = Sha256::digest(format!(
        "{merchant_id}{}{timestamp}",
        config.checkout_passkey
    ));
    let lower = hex::encode(digest);
    let accepted = [lower.clone(), lower.to_ascii_uppercase()]
        .map(|hex_text| base64::engine::general_purpose::STANDARD.encode(hex_text));
    let valid = merchant_id == config.checkout_merchant_id
        && timestamp.len() == 14
        && timestamp.chars().all(|c| c.is_ascii_digit())
        && accepted.contains(&password);
    (!valid).then_some("36")
}

/// A value that is there (`?` is the samples' placeholder for none).
fn present(value: Option<&String>) -> Option<String> {
    value
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty() && value != "?")
}

/// Seed 004's description of the codes this simulator answers with.
fn description(code: &str) -> &'static str {
    match code {
        "00" => "Success",
        "03" => "Amount less than the minimum single transfer allowed on the system.",
        "04" => "Amount more than the maximum single transfer amount allowed.",
        "12" => "Transaction details are different from original captured request details.",
        "29" => "System Downtime",
        "30" => "Missing reference ID",
        "31" => "Invalid amount",
        "35" => "Duplicate request",
        "36" => "Incorrect credentials",
        "41" => "MSISDN is in incorrect format",
        _ => "Missing parameters",
    }
}

fn process(world: &World, request: &ProcessCheckOut, refusal: Option<&'static str>) -> Response {
    let refused = |code: &'static str| {
        reply(ReplyBody::Process(ProcessCheckOutResponse {
            return_code: code.to_string(),
            description: description(code).to_string(),
            trx_id: String::new(),
            enc_params: String::new(),
            cust_msg: String::new(),
        }))
    };
    if let Some(code) = refusal {
        return refused(code);
    }
    let transaction = match checked(world, request) {
        Ok(transaction) => transaction,
        Err(code) => return refused(code),
    };
    let mut state = lock(&world.mpesa.state);
    if state
        .checkout
        .iter()
        .any(|known| known.merchant_transaction_id == transaction.merchant_transaction_id)
    {
        return refused("35");
    }
    let trx_id = format!("{:032x}", state.random.r#gen::<u128>());
    let enc_params = transaction.enc_params.clone();
    state.checkout.push(Transaction {
        trx_id: trx_id.clone(),
        ..transaction
    });
    reply(ReplyBody::Process(ProcessCheckOutResponse {
        return_code: "00".into(),
        description: "Success".into(),
        trx_id,
        enc_params,
        cust_msg: CUSTOMER_MESSAGE.into(),
    }))
}

/// A `processCheckOutRequest` as a transaction, or the code refusing it.
fn checked(world: &World, request: &ProcessCheckOut) -> Result<Transaction, &'static str> {
    let merchant_transaction_id = present(request.merchant_transaction_id.as_ref()).ok_or("40")?;
    present(request.reference_id.as_ref()).ok_or("30")?;
    let amount_cents = present(request.amount.as_ref())
        .and_then(|amount| parse_minor(&amount))
        .filter(|cents| cents % 100 == 0)
        .ok_or("31")?;
    let msisdn = present(request.msisdn.as_ref()).ok_or("40")?;
    if !is_msisdn(&msisdn) || !msisdn.starts_with("254") {
        return Err("41");
    }
    if amount_cents < 100 {
        return Err("03");
    }
    if amount_cents > world.mpesa.config.max_amount_kes * 100 {
        return Err("04");
    }
    let callback_url = present(request.call_back_url.as_ref())
        .filter(|url| is_url(url))
        .ok_or("40")?;
    let callback_method = present(request.call_back_method.as_ref())
        .map(|method| method.to_ascii_lowercase())
        .filter(|method| ["xml", "get", "post"].contains(&method.as_str()))
        .ok_or("40")?;
    Ok(Transaction {
        trx_id: String::new(),
        merchant_transaction_id,
        msisdn,
        amount_cents,
        enc_params: present(request.enc_params.as_ref()).unwrap_or_default(),
        callback_url,
        callback_method,
        stage: Stage::Registered,
    })
}

/// The transaction `request` names: by `TRX_ID`, else by ours; both given
/// must name the same one.
fn find<'a>(
    transactions: &'a mut [Transaction],
    request: &TransactionRef,
) -> Option<&'a mut Transaction> {
    let trx_id = present(request.trx_id.as_ref());
    let merchant = present(request.merchant_transaction_id.as_ref());
    if trx_id.is_none() && merchant.is_none() {
        return None;
    }
    transactions.iter_mut().find(|transaction| {
        trx_id.as_ref().is_none_or(|id| *id == transaction.trx_id)
            && merchant
                .as_ref()
                .is_none_or(|id| *id == transaction.merchant_transaction_id)
    })
}

fn confirm(
    world: &Arc<World>,
    request: &TransactionRef,
    refusal: Option<&'static str>,
) -> Response {
    let answer = |code: &'static str, trx_id: String, merchant: String| {
        reply(ReplyBody::Confirm(TransactionConfirmResponse {
            return_code: code.to_string(),
            description: description(code).to_string(),
            merchant_transaction_id: merchant,
            trx_id,
        }))
    };
    if let Some(code) = refusal {
        return answer(code, String::new(), String::new());
    }
    let prompted = {
        let mut state = lock(&world.mpesa.state);
        match find(&mut state.checkout, request) {
            None => Err(("12", String::new(), String::new())),
            Some(found) if found.stage != Stage::Registered => Err((
                "35",
                found.trx_id.clone(),
                found.merchant_transaction_id.clone(),
            )),
            Some(found) => {
                found.stage = Stage::Prompted;
                Ok(found.clone())
            }
        }
    };
    match prompted {
        Err((code, trx_id, merchant)) => answer(code, trx_id, merchant),
        Ok(transaction) => {
            let (trx_id, merchant) = (
                transaction.trx_id.clone(),
                transaction.merchant_transaction_id.clone(),
            );
            tokio::spawn(notify::prompt_then_call_back(world.clone(), transaction));
            answer("00", trx_id, merchant)
        }
    }
}

fn status(world: &World, request: &TransactionRef, refusal: Option<&'static str>) -> Response {
    let found = match refusal {
        Some(code) => Err(code),
        None => find(&mut lock(&world.mpesa.state).checkout, request)
            .map(|transaction| transaction.result())
            .ok_or("12"),
    };
    let result = found.unwrap_or_else(|code| TransactionResult {
        return_code: code.to_string(),
        description: description(code).to_string(),
        trx_id: present(request.trx_id.as_ref()).unwrap_or_default(),
        ..TransactionResult::default()
    });
    reply(ReplyBody::Status(result))
}
