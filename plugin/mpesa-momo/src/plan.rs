//! `plan-transfer`: the recipient as MoMo takes it, the payer as M-PESA takes
//! it, and the references each provider will see, all derived from the
//! host's transfer id so a second call for the same draft gives the same plan.

use corridor_connector_kit::bindings::corridor::connector::types::{
    PlanRefusal, TransferDraft, TransferPlan,
};
use corridor_rail_mpesa::express::ACCOUNT_REFERENCE_MAX_CHARS;
use corridor_rail_mpesa::msisdn;

/// MTN Uganda's mobile prefixes after the country code (076, 077, 078, 079
/// dialled nationally).
const MTN_UGANDA_PREFIXES: &[&str] = &["76", "77", "78", "79"];

/// An MTN Uganda number in MoMo's form, `2567XXXXXXXX`. Accepts `07…`,
/// `+256…`, `256…` and `7…`, with spaces or dashes. `Err` is the message
/// for the client.
pub fn mtn_uganda(text: &str) -> Result<String, String> {
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    let national = if !digits.chars().all(|c| c.is_ascii_digit()) {
        None
    } else if digits.len() == 12 && digits.starts_with("256") {
        Some(&digits[3..])
    } else if digits.len() == 10 && digits.starts_with('0') {
        Some(&digits[1..])
    } else if digits.len() == 9 {
        Some(digits)
    } else {
        None
    };
    national
        .filter(|national| MTN_UGANDA_PREFIXES.iter().any(|p| national.starts_with(p)))
        .map(|national| format!("256{national}"))
        .ok_or_else(|| {
            format!(
                "recipient: {text:?} is not an MTN Uganda mobile number such as 256772123456 or 0772123456"
            )
        })
}

/// The pay-in's reference: the first twelve hex digits of the transfer id,
/// upper case (`tr_0a1b2c3d4e5f…` → `0A1B2C3D4E5F`). It is what the payer
/// types as the Paybill account number and the STK `AccountReference`, and
/// both take at most twelve characters. The host refuses a plan whose
/// reference another transfer holds, so a collision is refused, not merged.
pub fn pay_in_reference(transfer_id: &str) -> String {
    let hex = transfer_id.strip_prefix("tr_").unwrap_or(transfer_id);
    hex.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(ACCOUNT_REFERENCE_MAX_CHARS)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The pay-out's reference: MoMo's `X-Reference-Id` itself, a v4 UUID
/// derived from the transfer id, so the operator sees the id MoMo files the
/// transfer under and a retry can only repeat it.
pub fn pay_out_reference(transfer_id: &str) -> String {
    corridor_rail_momo::transfer::reference_id(&format!("mpesa-momo:{transfer_id}"))
}

/// The refund's reference: the whole transfer id, so it differs from the
/// pay-in's twelve characters and from the pay-out's UUID.
pub fn refund_reference(transfer_id: &str) -> String {
    let hex = transfer_id.strip_prefix("tr_").unwrap_or(transfer_id);
    format!("COR{}-RV", hex.to_ascii_uppercase())
}

/// The plan of a draft. The payer is required when M-PESA prompts the
/// payer's phone (`payer_required`: STK push, checkout) and optional for a
/// Paybill, which the payer pays by hand.
pub fn plan(draft: &TransferDraft, payer_required: bool) -> Result<TransferPlan, PlanRefusal> {
    let recipient = mtn_uganda(&draft.recipient).map_err(PlanRefusal::InvalidRecipient)?;
    let payer = match draft.payer.as_deref().map(str::trim) {
        Some(payer) if !payer.is_empty() => Some(msisdn::normalise(payer).map_err(|_| {
            PlanRefusal::InvalidPayer(format!(
                "payer: {payer:?} is not a Kenyan M-PESA number such as 254722000000 or 0722000000"
            ))
        })?),
        _ if payer_required => {
            return Err(PlanRefusal::InvalidPayer(
                "payer: the payer's M-PESA number is required, to send the payment prompt to"
                    .into(),
            ));
        }
        _ => None,
    };
    let pay_in_reference = pay_in_reference(&draft.transfer_id);
    let pay_out_reference = pay_out_reference(&draft.transfer_id);
    Ok(TransferPlan {
        pay_in_details: vec![("account_reference".into(), pay_in_reference.clone())],
        pay_out_details: vec![
            ("reference_id".into(), pay_out_reference.clone()),
            ("msisdn".into(), recipient.clone()),
        ],
        recipient,
        payer,
        refund_reference: refund_reference(&draft.transfer_id),
        pay_in_reference,
        pay_out_reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_connector_kit::money::money;

    fn draft(recipient: &str, payer: Option<&str>) -> TransferDraft {
        TransferDraft {
            transfer_id: "tr_0a1b2c3d4e5f60718293a4b5".into(),
            recipient: recipient.into(),
            payer: payer.map(str::to_string),
            send: money(100_000, "KES"),
            pay_in: money(100_000, "KES"),
            receive: money(28_600, "UGX"),
        }
    }

    #[test]
    fn the_references_fit_m_pesa_and_momo_and_differ() {
        let plan = plan(&draft("0772 123 456", Some("0722000000")), true).expect("a plan");
        assert_eq!(plan.recipient, "256772123456");
        assert_eq!(plan.payer.as_deref(), Some("254722000000"));
        assert_eq!(plan.pay_in_reference, "0A1B2C3D4E5F");
        assert_eq!(plan.pay_out_reference.len(), 36, "a UUID");
        assert_eq!(
            corridor_rail_momo::transfer::reference_id(&plan.pay_out_reference),
            plan.pay_out_reference,
            "the pay-out reference is the X-Reference-Id"
        );
        assert_eq!(plan.refund_reference, "COR0A1B2C3D4E5F60718293A4B5-RV");
    }

    #[test]
    fn a_recipient_off_mtn_uganda_is_refused_with_a_message() {
        for other in ["254708374149", "0702123456", "46733123450", "077212345"] {
            match plan(&draft(other, None), false) {
                Err(PlanRefusal::InvalidRecipient(message)) => {
                    assert!(message.contains("MTN Uganda"), "{message}");
                }
                result => panic!("{other}: {result:?}"),
            }
        }
    }

    #[test]
    fn the_payer_is_required_for_a_prompt_and_optional_for_a_paybill() {
        assert!(matches!(
            plan(&draft("256772123456", None), true),
            Err(PlanRefusal::InvalidPayer(_))
        ));
        assert!(matches!(
            plan(&draft("256772123456", Some("12345")), false),
            Err(PlanRefusal::InvalidPayer(_))
        ));
        let paybill = plan(&draft("256772123456", None), false).expect("a plan");
        assert_eq!(paybill.payer, None);
    }
}
