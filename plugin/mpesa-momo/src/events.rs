//! Provider messages read into the host's events and statuses: sans-IO, so
//! every mapping is unit-tested natively. The component feeds them the
//! bodies it receives and the facts it kept in storage.

use corridor_connector_kit::bindings::corridor::connector::types::{
    Event, FailureKind, OfferRejection, PayInFailure, PayInReceipt, PayInStatus, PayOutFailure,
    RefundFailure, RefundReceipt,
};
use corridor_connector_kit::failure::unknown;
use corridor_connector_kit::money::money;
use corridor_rail_momo::callback::Evidence;
use corridor_rail_momo::messages::TransferStatus;
use corridor_rail_mpesa::c2b::{C2bPayment, C2bStatus, Rejection};
use corridor_rail_mpesa::pay_in::{PaidIn, PayInOutcome};
use corridor_rail_mpesa::reversal::{ReversalOutcome, ReversalResult};

/// The transfer id in a per-transfer callback path,
/// `/callbacks/<connector>/<route>/<transfer-id>/<secret>`.
pub fn transfer_id_of(path: &str) -> Option<&str> {
    let mut segments = path.trim_start_matches('/').split('/');
    let _callbacks = segments.next()?;
    let _connector = segments.next()?;
    let _route = segments.next()?;
    segments.next().filter(|id| !id.is_empty())
}

/// A paid pay-in as a receipt. M-PESA's receipt is the transaction id; when
/// it named none (an STK query names no receipt), `known_receipt` is the one
/// an earlier callback named, else the request's own id stands in.
pub fn paid_receipt(reference: &str, paid: &PaidIn, known_receipt: Option<String>) -> PayInReceipt {
    let receipt = paid
        .receipt
        .clone()
        .or(known_receipt)
        .unwrap_or_else(|| paid.provider_reference.clone());
    let mut details = vec![("mpesa_receipt".to_string(), receipt.clone())];
    if let Some(msisdn) = &paid.msisdn {
        details.push(("payer_msisdn".into(), msisdn.clone()));
    }
    PayInReceipt {
        reference: reference.to_string(),
        provider_transaction_id: receipt,
        amount: money(paid.amount_cents, "KES"),
        charged: None,
        details,
    }
}

/// What an STK or checkout callback establishes for the pay-in `reference`.
pub fn pay_in_event(reference: &str, outcome: &PayInOutcome) -> Option<Event> {
    match outcome {
        PayInOutcome::Paid(paid) => {
            Some(Event::PayInSucceeded(paid_receipt(reference, paid, None)))
        }
        PayInOutcome::Failed(failure) if failure.kind == FailureKind::Failed => {
            Some(Event::PayInFailed(PayInFailure {
                reference: reference.to_string(),
                failure: failure.clone(),
            }))
        }
        PayInOutcome::Failed(_) | PayInOutcome::Pending => None,
    }
}

/// What a pay-in query's outcome says, for the host.
pub fn pay_in_status(
    reference: &str,
    outcome: PayInOutcome,
    known_receipt: Option<String>,
) -> Result<PayInStatus, corridor_connector_kit::bindings::corridor::connector::types::Failure> {
    match outcome {
        PayInOutcome::Paid(paid) => Ok(PayInStatus::Succeeded(paid_receipt(
            reference,
            &paid,
            known_receipt,
        ))),
        PayInOutcome::Pending => Ok(PayInStatus::AwaitingPayment),
        PayInOutcome::Failed(failure) if failure.kind == FailureKind::Failed => {
            Ok(PayInStatus::Failed(failure))
        }
        // A query that may be wrong is asked again, never taken as final.
        PayInOutcome::Failed(failure) => Err(corridor_connector_kit::failure::read_only(failure)),
    }
}

/// A Paybill confirmation: the payer paid `reference` (evidence until
/// Transaction Status confirms the receipt).
pub fn confirmation_event(payment: &C2bPayment) -> Event {
    Event::PayInSucceeded(PayInReceipt {
        reference: payment.bill_ref_number.clone(),
        provider_transaction_id: payment.trans_id.clone(),
        amount: money(payment.amount_cents, "KES"),
        charged: None,
        details: vec![("mpesa_receipt".into(), payment.trans_id.clone())],
    })
}

/// Transaction Status on a C2B receipt, answering a pay-in query for
/// `reference` about `receipt`.
pub fn c2b_pay_in_event(reference: &str, status: C2bStatus) -> Option<Event> {
    match status {
        C2bStatus::Completed {
            receipt,
            amount_cents,
            debit_party,
            ..
        } => Some(Event::PayInSucceeded(PayInReceipt {
            reference: reference.to_string(),
            provider_transaction_id: receipt.clone(),
            amount: money(amount_cents, "KES"),
            charged: None,
            details: vec![
                ("mpesa_receipt".into(), receipt),
                ("debit_party".into(), debit_party),
            ],
        })),
        C2bStatus::Failed(failure) if failure.kind == FailureKind::Failed => {
            Some(Event::PayInFailed(PayInFailure {
                reference: reference.to_string(),
                failure,
            }))
        }
        C2bStatus::Reversed | C2bStatus::NotFound | C2bStatus::Pending | C2bStatus::Failed(_) => {
            None
        }
    }
}

/// A MoMo callback on the pay-out with `reference`: evidence the host
/// confirms by `query-pay-out`. A pending claim establishes nothing.
pub fn momo_events(reference: &str, evidence: &Evidence) -> Vec<Event> {
    let claimed = &evidence.claimed;
    match claimed.status {
        TransferStatus::Successful => {
            match corridor_rail_momo::status::receipt(claimed, reference) {
                Ok(receipt) => vec![Event::PayOutSucceeded(receipt)],
                Err(_) => vec![],
            }
        }
        TransferStatus::Failed => vec![Event::PayOutFailed(PayOutFailure {
            reference: Some(reference.to_string()),
            provider_reference: None,
            failure: corridor_rail_momo::status::failure(claimed),
        })],
        TransferStatus::Pending | TransferStatus::Unknown(_) => vec![],
    }
}

/// A reversal's result for the refund with `reference`. `R000001`
/// (already reversed) is our own earlier reversal only if we sent one, which
/// the result does not say: unknown, for `query-refund` to settle.
pub fn reversal_event(reference: &str, result: ReversalResult) -> Event {
    let failure = |failure| RefundFailure {
        reference: Some(reference.to_string()),
        provider_reference: Some(result.originator_conversation_id.clone()),
        failure,
    };
    match result.outcome {
        ReversalOutcome::Reversed {
            reversal_receipt,
            amount_cents,
            ..
        } => Event::RefundSucceeded(RefundReceipt {
            reference: reference.to_string(),
            amount: money(amount_cents, "KES"),
            details: vec![("reversal_receipt".into(), reversal_receipt)],
        }),
        ReversalOutcome::AlreadyReversed => Event::RefundUnknown(failure(unknown(
            "R000001",
            "M-PESA says the payment was already reversed: by whom is for query-refund",
        ))),
        ReversalOutcome::Failed(reason) if reason.kind == FailureKind::Failed => {
            Event::RefundFailed(failure(reason))
        }
        ReversalOutcome::Failed(reason) => Event::RefundUnknown(failure(reason)),
    }
}

/// The reversal sat too long in M-PESA's queue: whether it ran is unknown.
pub fn queue_timeout(reference: &str) -> Event {
    Event::RefundUnknown(RefundFailure {
        reference: Some(reference.to_string()),
        provider_reference: None,
        failure: unknown("queue-timeout", "the reversal timed out in M-PESA's queue"),
    })
}

/// Transaction Status on a reversal, for the refund with `reference`.
pub fn reversal_status_event(reference: &str, status: C2bStatus) -> Option<Event> {
    match status {
        C2bStatus::Completed {
            receipt,
            amount_cents,
            ..
        } => Some(Event::RefundSucceeded(RefundReceipt {
            reference: reference.to_string(),
            amount: money(amount_cents, "KES"),
            details: vec![("reversal_receipt".into(), receipt)],
        })),
        C2bStatus::Failed(failure) if failure.kind == FailureKind::Failed => {
            Some(Event::RefundFailed(RefundFailure {
                reference: Some(reference.to_string()),
                provider_reference: None,
                failure,
            }))
        }
        _ => None,
    }
}

/// The rail's rejection of a validation for the host's reason.
pub fn rejection(reason: OfferRejection) -> Rejection {
    match reason {
        OfferRejection::UnknownReference => Rejection::UnknownAccount,
        OfferRejection::WrongAmount => Rejection::WrongAmount,
        OfferRejection::NotAwaitingPayment => Rejection::NotAwaitingPayment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_connector_kit::failure::failed;

    #[test]
    fn the_transfer_id_is_the_path_segment_after_the_route() {
        assert_eq!(
            transfer_id_of("/callbacks/mpesa-momo/pay-in/tr_0a1b/secret"),
            Some("tr_0a1b")
        );
        assert_eq!(transfer_id_of("/callbacks/mpesa-momo/pay-in"), None);
    }

    #[test]
    fn a_paid_prompt_is_a_receipt_and_a_cancelled_one_a_definitive_failure() {
        let paid = PayInOutcome::Paid(PaidIn {
            receipt: Some("SK3J9XQ2PA".into()),
            amount_cents: 100_000,
            msisdn: Some("254722000000".into()),
            account_reference: None,
            provider_reference: "ws_CO_1".into(),
        });
        let Some(Event::PayInSucceeded(receipt)) = pay_in_event("0A1B", &paid) else {
            panic!("a receipt");
        };
        assert_eq!(receipt.provider_transaction_id, "SK3J9XQ2PA");
        assert_eq!(receipt.amount.amount_minor, 100_000);
        let cancelled = PayInOutcome::Failed(failed("1032", "cancelled"));
        assert!(matches!(
            pay_in_event("0A1B", &cancelled),
            Some(Event::PayInFailed(_))
        ));
        let odd = PayInOutcome::Failed(unknown("77", "?"));
        assert!(
            pay_in_event("0A1B", &odd).is_none(),
            "never failed on a guess"
        );
    }

    #[test]
    fn an_stk_query_without_a_receipt_reports_the_one_the_callback_named() {
        let paid = PayInOutcome::Paid(PaidIn {
            receipt: None,
            amount_cents: 100_000,
            msisdn: None,
            account_reference: None,
            provider_reference: "ws_CO_1".into(),
        });
        let status = pay_in_status("0A1B", paid, Some("SK3J9XQ2PA".into())).expect("status");
        let PayInStatus::Succeeded(receipt) = status else {
            panic!("succeeded");
        };
        assert_eq!(receipt.provider_transaction_id, "SK3J9XQ2PA");
    }

    #[test]
    fn a_reversal_already_made_is_unknown_and_an_invalid_original_failed() {
        let result = |outcome| ReversalResult {
            originator_conversation_id: "1-2-3".into(),
            conversation_id: None,
            outcome,
        };
        assert!(matches!(
            reversal_event("R", result(ReversalOutcome::AlreadyReversed)),
            Event::RefundUnknown(_)
        ));
        assert!(matches!(
            reversal_event("R", result(ReversalOutcome::Failed(failed("R000002", "x")))),
            Event::RefundFailed(_)
        ));
        let reversed = ReversalOutcome::Reversed {
            reversal_receipt: "SAB1".into(),
            original_receipt: Some("SKL1".into()),
            amount_cents: 100_000,
        };
        assert!(matches!(
            reversal_event("R", result(reversed)),
            Event::RefundSucceeded(receipt) if receipt.amount.amount_minor == 100_000
        ));
    }
}
