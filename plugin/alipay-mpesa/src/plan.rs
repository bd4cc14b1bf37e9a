//! `plan-transfer`: the recipient as M-PESA takes it, and the references
//! Alipay and Daraja will see, all derived from the host's transfer id so a
//! second call for the same draft gives the same plan.

use corridor_connector_kit::bindings::corridor::connector::types::{
    PlanRefusal, TransferDraft, TransferPlan,
};
use corridor_rail_mpesa::msisdn;

/// The root of every reference: `COR` and the id's hex, upper case
/// (`tr_0a1b…` → `COR0A1B…`), short enough for Alipay's `out_trade_no` (64)
/// and Daraja's `OriginatorConversationID`.
fn reference_root(transfer_id: &str) -> String {
    let hex = transfer_id.strip_prefix("tr_").unwrap_or(transfer_id);
    format!("COR{}", hex.to_ascii_uppercase())
}

/// The plan of a draft; a recipient that is not a Kenyan M-PESA number is
/// refused with a message for the client.
pub fn plan(draft: &TransferDraft) -> Result<TransferPlan, PlanRefusal> {
    let recipient = msisdn::normalise(&draft.recipient).map_err(PlanRefusal::InvalidRecipient)?;
    let root = reference_root(&draft.transfer_id);
    let pay_out_reference = format!("{root}-B2C");
    Ok(TransferPlan {
        pay_in_details: vec![("out_trade_no".into(), root.clone())],
        pay_out_details: vec![
            (
                "originator_conversation_id".into(),
                pay_out_reference.clone(),
            ),
            ("msisdn".into(), recipient.clone()),
        ],
        recipient,
        // Alipay's cashier knows the payer; no account is needed here.
        payer: None,
        refund_reference: format!("{root}-R1"),
        pay_in_reference: root,
        pay_out_reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_connector_kit::money::money;

    fn draft(recipient: &str) -> TransferDraft {
        TransferDraft {
            payer: None,
            transfer_id: "tr_0a1b2c3d4e5f".into(),
            recipient: recipient.into(),
            send: money(1000, "USD"),
            pay_in: money(1000, "USD"),
            receive: money(100_000, "KES"),
        }
    }

    #[test]
    fn the_references_derive_from_the_transfer_id_as_they_always_did() {
        let plan = plan(&draft("0708374149")).expect("a Kenyan number");
        assert_eq!(plan.recipient, "254708374149");
        assert_eq!(plan.pay_in_reference, "COR0A1B2C3D4E5F");
        assert_eq!(plan.pay_out_reference, "COR0A1B2C3D4E5F-B2C");
        assert_eq!(plan.refund_reference, "COR0A1B2C3D4E5F-R1");
        assert!(
            plan.pay_out_details
                .contains(&("msisdn".to_string(), "254708374149".to_string()))
        );
    }

    #[test]
    fn a_number_outside_kenya_is_an_invalid_recipient_with_a_message() {
        match plan(&draft("255708374149")) {
            Err(PlanRefusal::InvalidRecipient(message)) => {
                assert!(message.contains("Kenyan mobile number"), "{message}");
            }
            other => panic!("expected invalid-recipient, got {other:?}"),
        }
    }
}
