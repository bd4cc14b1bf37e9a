//! The payer's action in a pay-in instruction, and the host's verdict on a
//! payment a provider offers before completing it (a Paybill validation):
//! pure functions of the stored transfer.

use crate::model::{PayerAction, Transfer, TransferState};
use crate::money::Money;
use crate::wit::{self, OfferRejection, OfferVerdict, PayInOffer};

/// The longest text of an action the host keeps.
const MAX_ACTION_CHARS: usize = 200;

/// A connector's payer action, checked: texts of a sane length, and an
/// amount to pay by hand that is exactly what the transfer collects.
pub fn payer_action(transfer: &Transfer, action: &wit::PayerAction) -> Result<PayerAction, String> {
    let text = |what: &str, value: &str| {
        let chars = value.chars().count();
        if chars == 0 || chars > MAX_ACTION_CHARS {
            Err(format!(
                "the payer action's {what} has {chars} characters, not 1 to {MAX_ACTION_CHARS}"
            ))
        } else {
            Ok(value.to_string())
        }
    };
    match action {
        wit::PayerAction::ApprovePrompt(prompt) => Ok(PayerAction::ApprovePrompt {
            payer: text("payer", &prompt.payer)?,
            message: text("message", &prompt.message)?,
        }),
        wit::PayerAction::PayToAccount(payment) => {
            let amount = Money::from_wit(&payment.amount).map_err(|error| error.to_string())?;
            if payment.reference != transfer.pay_in.reference {
                return Err(format!(
                    "the payer is told to quote {:?}, not the pay-in's reference {:?}",
                    payment.reference, transfer.pay_in.reference
                ));
            }
            if amount.amount_minor <= 0 {
                return Err(format!("the payer is told to pay {amount}"));
            }
            if amount.currency == transfer.pay_in.amount.currency
                && amount != transfer.pay_in.amount
            {
                return Err(format!(
                    "the payer is told to pay {amount}, not the pay-in's {}",
                    transfer.pay_in.amount
                ));
            }
            Ok(PayerAction::PayToAccount {
                account: text("account", &payment.account)?,
                reference: payment.reference.clone(),
                amount,
                message: text("message", &payment.message)?,
            })
        }
    }
}

/// What the payer must pay to complete `transfer`: the amount the payer was
/// told to pay by hand, else the pay-in's amount.
fn expected_payment(transfer: &Transfer) -> &Money {
    match &transfer.pay_in.action {
        Some(PayerAction::PayToAccount { amount, .. }) => amount,
        _ => &transfer.pay_in.amount,
    }
}

/// The host's verdict on `offer` for `transfer` (the transfer whose pay-in
/// reference the offer quotes, if there is one of the offering connector's).
pub fn verdict(transfer: Option<&Transfer>, offer: &PayInOffer, now_ms: u64) -> OfferVerdict {
    let Some(transfer) = transfer else {
        return OfferVerdict::Reject(OfferRejection::UnknownReference);
    };
    let awaiting = matches!(
        transfer.state(),
        TransferState::Created | TransferState::AwaitingPayIn
    ) && now_ms < transfer.pay_in.expires_at_ms;
    if !awaiting {
        return OfferVerdict::Reject(OfferRejection::NotAwaitingPayment);
    }
    if !expected_payment(transfer).is(&offer.amount) {
        return OfferVerdict::Reject(OfferRejection::WrongAmount);
    }
    OfferVerdict::Accept
}

/// The verdict in a word, for the callback log.
pub fn verdict_name(verdict: &OfferVerdict) -> &'static str {
    match verdict {
        OfferVerdict::Accept => "accepted",
        OfferVerdict::Reject(OfferRejection::UnknownReference) => "refused: unknown reference",
        OfferVerdict::Reject(OfferRejection::WrongAmount) => "refused: wrong amount",
        OfferVerdict::Reject(OfferRejection::NotAwaitingPayment) => {
            "refused: the transfer is not awaiting payment"
        }
    }
}
