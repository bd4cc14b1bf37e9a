//! The refund: M-PESA's Transaction Reversal of the pay-in's receipt, sent
//! at most once per refund. The acknowledgement's `OriginatorConversationID`
//! is kept (`refund/<ref>/originator`, and the way back,
//! `reversal/<originator>`): it is how the result, a late result's status
//! query, and an "already reversed" answer are told to be ours.

use super::{get_text, ignored, security_credential, set_text, settings, with_daraja};
use crate::{events, routes};
use corridor_connector_kit::bindings::corridor::connector::types::{
    CallbackOutcome, Failure, InboundRequest, RefundAccepted, RefundQuery, RefundRequest,
    RefundStarted, RefundStatus,
};
use corridor_connector_kit::failure::{failed, read_only, unknown};
use corridor_rail_mpesa::c2b::status::Callbacks;
use corridor_rail_mpesa::c2b::{self, C2bSettings};
use corridor_rail_mpesa::pay_in::MpesaPayInSettings;
use corridor_rail_mpesa::reversal::{self, Accepted};
use corridor_rail_mpesa::status::Acknowledged;
use corridor_rail_mpesa::{MpesaSettings, callback};

fn originator_key(reference: &str) -> String {
    format!("refund/{reference}/originator")
}

fn reference_key(originator: &str) -> String {
    format!("reversal/{originator}")
}

/// The shortcode that received the pay-in, which a reversal names as
/// `ReceiverParty` and its status query as `PartyA`: the Paybill, the STK
/// push's `BusinessShortCode`, or the checkout's merchant.
fn owner() -> Result<C2bSettings, Failure> {
    let shortcode = match MpesaPayInSettings::from_settings(&settings())? {
        MpesaPayInSettings::Paybill => return C2bSettings::from_settings(&settings()),
        MpesaPayInSettings::Express(express) => express.shortcode,
        MpesaPayInSettings::Checkout(checkout) => checkout.merchant_id,
    };
    Ok(C2bSettings {
        form: c2b::C2bForm::DarajaV2,
        shortcode,
        response_type: c2b::ResponseType::Cancelled,
        sp: None,
    })
}

pub(super) fn begin(request: &RefundRequest) -> Result<RefundStarted, Failure> {
    if let Some(originator) = get_text(&originator_key(&request.reference))? {
        // Sent before: never again. Its result comes, or query-refund asks.
        return Ok(accepted(originator));
    }
    let receipt = request
        .pay_in_transaction_id
        .as_deref()
        .ok_or_else(|| failed("no-receipt", "the pay-in has no M-PESA receipt to reverse"))?;
    let mpesa = MpesaSettings::from_settings(&settings())?;
    let owner = owner()?;
    let credential = security_credential(&mpesa)?;
    let reversal = reversal::Reversal {
        receipt,
        amount_cents: request.amount.amount_minor,
        callbacks: Callbacks {
            result_url: &request.result_url,
            timeout_url: &request.timeout_url,
            occasion: &request.transfer_id,
        },
        remarks: &request.reason,
    };
    let accepted_reversal = with_daraja(
        &mpesa,
        |token| reversal::request(&mpesa, &owner, token, &credential, &reversal),
        reversal::parse,
    )?;
    let originator = accepted_reversal.originator_conversation_id;
    // Accepted now: a failure to remember it must never read as "not sent".
    set_text(&originator_key(&request.reference), &originator)
        .and_then(|()| set_text(&reference_key(&originator), &request.reference))
        .map_err(|failure| {
            unknown(
                "storage",
                format!(
                    "the reversal {originator} was accepted but not recorded: {}",
                    failure.message
                ),
            )
        })?;
    Ok(accepted(originator))
}

fn accepted(originator: String) -> RefundStarted {
    RefundStarted::Accepted(RefundAccepted {
        details: vec![(
            "reversal_originator_conversation_id".into(),
            originator.clone(),
        )],
        provider_reference: originator,
    })
}

/// Transaction Status on our reversal; the answer comes on `refund-status`.
pub(super) fn query(query: &RefundQuery) -> Result<RefundStatus, Failure> {
    let Some(originator) = get_text(&originator_key(&query.reference))? else {
        return Ok(RefundStatus::NotFound);
    };
    let mpesa = MpesaSettings::from_settings(&settings())?;
    let owner = owner()?;
    let credential = security_credential(&mpesa)?;
    let accepted = Accepted {
        conversation_id: String::new(),
        originator_conversation_id: originator,
    };
    let callbacks = Callbacks {
        result_url: &query.result_url,
        timeout_url: &query.timeout_url,
        occasion: &query.transfer_id,
    };
    let acknowledged = with_daraja(
        &mpesa,
        |token| {
            Ok(reversal::status_request(
                &mpesa,
                &owner,
                token,
                &credential,
                &accepted,
                &callbacks,
            ))
        },
        corridor_rail_mpesa::status::acknowledged,
    )
    .map_err(read_only)?;
    Ok(match acknowledged {
        Acknowledged::Pending => RefundStatus::Pending,
        Acknowledged::NotFound => RefundStatus::NotFound,
    })
}

/// A reversal's `Result` (on `refund`), a queue timeout (`refund-timeout`),
/// or Transaction Status on the reversal (`refund-status`).
pub(super) fn callback(request: &InboundRequest) -> Result<CallbackOutcome, Failure> {
    let reply = callback::reply();
    let Some(transfer_id) = events::transfer_id_of(&request.path) else {
        return Ok(ignored(reply, "no transfer in the path".into()));
    };
    let reference = crate::plan::refund_reference(transfer_id);
    let event = match request.route.as_str() {
        routes::REFUND_STATUS => match c2b::status::result(&request.body) {
            Ok(status) => events::reversal_status_event(&reference, status),
            Err(error) => return Ok(ignored(reply, error.to_string())),
        },
        routes::REFUND => match reversal::result(&request.body) {
            Ok(result) => {
                let ours = get_text(&reference_key(&result.originator_conversation_id))?;
                if ours.as_deref() != Some(reference.as_str()) {
                    return Ok(ignored(
                        reply,
                        "the result of a reversal we did not send".into(),
                    ));
                }
                Some(events::reversal_event(&reference, result))
            }
            Err(error) => return Ok(ignored(reply, error.to_string())),
        },
        _ => Some(events::queue_timeout(&reference)),
    };
    Ok(CallbackOutcome {
        reply,
        events: event.into_iter().collect(),
        ignored: None,
        // Daraja signs nothing: the host confirms by query-refund.
        authenticated: false,
    })
}
