//! A customer paying a Paybill, as seed 003 §1.2 describes it: M-PESA
//! authorises the payment (reserves the customer's funds), asks the
//! organisation's validation URL, completes or cancels, and sends the
//! confirmation. The confirmation has no effect on the payment; the broker
//! resends it, with a doubling wait, until it is acknowledged or the
//! configured attempts run out (the real retry policy is undocumented).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{C2bPayment, C2bStatus, Form, Registration, soap};
use crate::World;
use crate::faults::lock;
use crate::money::format_minor;
use crate::mpesa::{eat_datetime, receipt, text};

/// What a customer asks to pay.
#[derive(Debug, Clone)]
pub(super) struct PayRequest {
    pub shortcode: String,
    pub msisdn: String,
    pub amount_cents: i64,
    pub bill_ref: String,
}

/// What became of a payment; the control API's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub(crate) enum Outcome {
    /// The money moved to the Paybill's utility account.
    Completed {
        /// The receipt.
        trans_id: String,
        /// What validation said.
        validation: Validation,
    },
    /// Cancelled after validation; the customer keeps the money.
    Cancelled {
        /// The receipt of the cancelled transaction.
        trans_id: String,
        /// What validation said.
        validation: Validation,
    },
    /// The customer's balance is short: nothing was asked, nothing moved.
    InsufficientFunds,
    /// No URLs are registered for the shortcode.
    NotRegistered,
}

/// What the organisation's validation URL said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "code", rename_all = "kebab-case")]
pub(crate) enum Validation {
    /// `ResultCode` 0.
    Accepted,
    /// Any other answer, with its code when it had one.
    Rejected(String),
    /// No answer in time: the registered `ResponseType` decided.
    Unreachable,
}

/// Runs one payment to completion or cancellation; the confirmation is
/// delivered in the background.
pub(super) async fn pay(world: &Arc<World>, request: PayRequest) -> Outcome {
    let (registration, trans_id, name) = {
        let mut guard = lock(&world.mpesa.state);
        let state = &mut *guard;
        let Some(registration) = state.c2b.registrations.get(&request.shortcode).cloned() else {
            return Outcome::NotRegistered;
        };
        let balance = state
            .balances
            .customers
            .entry(request.msisdn.clone())
            .or_insert(0);
        let unlimited = world
            .config
            .mpesa
            .c2b
            .unlimited_msisdns
            .contains(&request.msisdn);
        if *balance < request.amount_cents && !unlimited {
            return Outcome::InsufficientFunds;
        }
        // Authorised: the funds are reserved while validation runs.
        *balance -= request.amount_cents;
        let name = state.customers.get(&request.msisdn).map_or_else(
            || "SANDBOX CUSTOMER".to_string(),
            |customer| customer.name.clone(),
        );
        (registration, receipt(&mut state.random), name)
    };
    let time_ms = crate::now_ms();
    let mut payment = C2bPayment {
        trans_id: trans_id.clone(),
        msisdn: request.msisdn.clone(),
        amount_cents: request.amount_cents,
        shortcode: request.shortcode.clone(),
        bill_ref: request.bill_ref.clone(),
        time_ms,
        status: C2bStatus::Cancelled,
    };
    let validation = validate(world, &registration, &payment, &name).await;
    let completes = match &validation {
        Validation::Accepted => true,
        Validation::Rejected(_) => false,
        Validation::Unreachable => registration.response_type == "Completed",
    };
    let org_balance = settle(world, &mut payment, completes);
    if !completes {
        return Outcome::Cancelled {
            trans_id,
            validation,
        };
    }
    let body = notification(world, &registration, &payment, &name, Some(org_balance));
    let world = world.clone();
    tokio::spawn(async move { confirm(&world, &registration, body).await });
    Outcome::Completed {
        trans_id,
        validation,
    }
}

/// Completes (the Paybill's utility account is credited) or cancels (the
/// reservation is released), records the payment, and returns the
/// utility account's balance after.
fn settle(world: &World, payment: &mut C2bPayment, completes: bool) -> i64 {
    let mut guard = lock(&world.mpesa.state);
    let state = &mut *guard;
    let paybill = state
        .balances
        .paybills
        .entry(payment.shortcode.clone())
        .or_default();
    if completes {
        paybill.utility_cents += payment.amount_cents;
        payment.status = C2bStatus::Completed;
    } else {
        *state
            .balances
            .customers
            .entry(payment.msisdn.clone())
            .or_insert(0) += payment.amount_cents;
    }
    let balance = paybill.utility_cents;
    state.c2b.payments.push(payment.clone());
    balance
}

/// Asks the validation URL. Only an explicit `0` accepts; an answer that is
/// anything else rejects; no answer in time (or a dropped delivery, by the
/// fault knobs) is unreachable.
async fn validate(
    world: &Arc<World>,
    registration: &Registration,
    payment: &C2bPayment,
    name: &str,
) -> Validation {
    let decision = world.faults.decide_callback("mpesa", Duration::ZERO);
    if !decision.send {
        return Validation::Unreachable;
    }
    tokio::time::sleep(decision.delay).await;
    let body = notification(world, registration, payment, name, None);
    let timeout = Duration::from_millis(world.config.mpesa.c2b.validation_timeout_ms);
    let sent = world.post_callback(
        "mpesa",
        &registration.validation_url,
        content_type(registration.form),
        body,
    );
    let Ok(Some((status, reply))) = tokio::time::timeout(timeout, sent).await else {
        return Validation::Unreachable;
    };
    let code = match registration.form {
        Form::DarajaV1 | Form::DarajaV2 => serde_json::from_str::<Value>(&reply)
            .ok()
            .and_then(|reply| text(&reply, "ResultCode")),
        Form::Soap => soap::validation_result_code(&reply),
    };
    match code {
        Some(code) if code == "0" && status == 200 => Validation::Accepted,
        Some(code) => Validation::Rejected(code),
        None => Validation::Rejected(format!("http-{status}")),
    }
}

/// Delivers the confirmation until a 2xx answer, at most the configured
/// attempts, waiting `backoff`, `2 × backoff`, … between them.
async fn confirm(world: &Arc<World>, registration: &Registration, body: String) {
    let c2b = &world.config.mpesa.c2b;
    let mut wait = Duration::from_millis(c2b.confirmation_backoff_ms);
    for attempt in 0..c2b.confirmation_attempts {
        if attempt > 0 {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        let decision = world.faults.decide_callback("mpesa", Duration::ZERO);
        if !decision.send {
            continue;
        }
        tokio::time::sleep(decision.delay).await;
        let deliveries = if decision.duplicate { 2 } else { 1 };
        let mut acknowledged = false;
        for _ in 0..deliveries {
            let reply = world
                .post_callback(
                    "mpesa",
                    &registration.confirmation_url,
                    content_type(registration.form),
                    body.clone(),
                )
                .await;
            acknowledged |= reply.is_some_and(|(status, _)| (200..300).contains(&status));
        }
        if acknowledged {
            return;
        }
    }
    tracing::info!("C2B confirmation never acknowledged");
}

fn content_type(form: Form) -> &'static str {
    match form {
        Form::DarajaV1 | Form::DarajaV2 => "application/json",
        Form::Soap => "text/xml; charset=UTF-8",
    }
}

/// The validation (`org_balance` `None`) or confirmation request in the
/// registration's form.
fn notification(
    world: &World,
    registration: &Registration,
    payment: &C2bPayment,
    name: &str,
    org_balance: Option<i64>,
) -> String {
    let trans_time = eat_datetime(payment.time_ms, "yyyyMMddHHmmss");
    if registration.form == Form::Soap {
        return soap::notification(world, payment, &trans_time, name, org_balance);
    }
    let msisdn = if registration.form == Form::DarajaV1 {
        hex::encode(Sha256::digest(payment.msisdn.as_bytes()))
    } else {
        format!("{} ***** {}", &payment.msisdn[..4], &payment.msisdn[9..])
    };
    let mut names = name.split_whitespace();
    let first = names.next().unwrap_or_default();
    let last = names.next_back().unwrap_or_default();
    let middle = names.collect::<Vec<_>>().join(" ");
    serde_json::json!({
        "TransactionType": "Pay Bill", "TransID": payment.trans_id, "TransTime": trans_time,
        "TransAmount": format_minor(payment.amount_cents), "BusinessShortCode": payment.shortcode,
        "BillRefNumber": payment.bill_ref, "InvoiceNumber": "",
        "OrgAccountBalance": org_balance.map(format_minor).unwrap_or_default(),
        "ThirdPartyTransID": "", "MSISDN": msisdn,
        "FirstName": first, "MiddleName": middle, "LastName": last,
    })
    .to_string()
}
