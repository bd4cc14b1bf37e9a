//! The payer's action in a pay-in instruction, and the host's verdict on a
//! payment a provider offers before completing it (a validation of a payment
//! made by hand to an account):
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::tests_support::transfer_in;

    fn offer(transfer: &Transfer, amount_minor: i64, currency: &str) -> PayInOffer {
        PayInOffer {
            reference: transfer.pay_in.reference.clone(),
            amount: wit::Money {
                amount_minor,
                currency: currency.into(),
            },
            provider_transaction_id: Some("QK1".into()),
        }
    }

    #[test]
    fn only_the_exact_payment_a_transfer_awaits_is_accepted() {
        let transfer = transfer_in(TransferState::AwaitingPayIn);
        let amount = transfer.pay_in.amount.amount_minor;
        let exact = offer(&transfer, amount, "USD");
        assert_eq!(verdict(Some(&transfer), &exact, 5), OfferVerdict::Accept);
        let reject = |offer: &PayInOffer, now_ms| verdict(Some(&transfer), offer, now_ms);
        let wrong = OfferVerdict::Reject(OfferRejection::WrongAmount);
        assert_eq!(reject(&offer(&transfer, amount - 1, "USD"), 5), wrong);
        assert_eq!(reject(&offer(&transfer, amount, "KES"), 5), wrong);
        let late = transfer.pay_in.expires_at_ms;
        let closed = OfferVerdict::Reject(OfferRejection::NotAwaitingPayment);
        assert_eq!(reject(&exact, late), closed, "the window closed");
        assert_eq!(
            verdict(None, &exact, 5),
            OfferVerdict::Reject(OfferRejection::UnknownReference)
        );
        let paid = transfer_in(TransferState::PaidIn);
        assert_eq!(verdict(Some(&paid), &exact, 5), closed, "paid once already");
    }

    #[test]
    fn a_payer_action_must_name_the_pay_in_and_its_amount() {
        let transfer = transfer_in(TransferState::Created);
        let amount = transfer.pay_in.amount.clone();
        let by_hand = |reference: &str, amount_minor: i64| {
            wit::PayerAction::PayToAccount(wit::AccountPayment {
                account: "Account 123456".into(),
                reference: reference.into(),
                amount: wit::Money {
                    amount_minor,
                    currency: amount.currency.to_string(),
                },
                message: "Pay by hand".into(),
            })
        };
        let reference = transfer.pay_in.reference.clone();
        assert!(payer_action(&transfer, &by_hand(&reference, amount.amount_minor)).is_ok());
        assert!(payer_action(&transfer, &by_hand("SOMEONE-ELSE", amount.amount_minor)).is_err());
        assert!(payer_action(&transfer, &by_hand(&reference, amount.amount_minor + 1)).is_err());
        let prompt = wit::PayerAction::ApprovePrompt(wit::ApprovePrompt {
            payer: "254708374149".into(),
            message: String::new(),
        });
        assert!(
            payer_action(&transfer, &prompt).is_err(),
            "an empty message"
        );
    }
}
