//! The B2C payment request and its acknowledgement. One request per
//! transfer: its `OriginatorConversationID` is the host's pay-out reference.

use super::messages::{B2cAcknowledgement, B2cPaymentRequest};
use super::msisdn::is_canonical as is_msisdn;
use super::{MpesaSettings, PayOutProtocol, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Failure, PayOutAccepted, PayOutRequest, PayOutStarted,
};
use corridor_connector_kit::failure::{failed, unknown};
use corridor_connector_kit::money::format_whole;

/// The B2C request. Checks what Daraja would refuse, so a refusal is `failed`
/// before anything is sent.
pub fn request(
    settings: &MpesaSettings,
    token: &str,
    credential: &str,
    payout: &PayOutRequest,
) -> Result<Request, Failure> {
    let amount = &payout.amount;
    if amount.currency != "KES" {
        return Err(failed(
            "unsupported-currency",
            format!("M-PESA pays KES, not {}", amount.currency),
        ));
    }
    if amount.amount_minor <= 0 || amount.amount_minor % 100 != 0 {
        return Err(failed(
            "400.002.02",
            "Bad Request - Invalid Amount: B2C pays whole shillings",
        ));
    }
    if !is_msisdn(&payout.recipient) {
        return Err(failed(
            "400.002.02",
            format!("Bad Request - Invalid PartyB: {:?}", payout.recipient),
        ));
    }
    let mut remarks: String = payout.remarks.chars().take(100).collect();
    if remarks.chars().count() < 2 {
        remarks = "Corridor transfer".into();
    }
    let (path, originator_conversation_id) = match settings.pay_out_protocol {
        PayOutProtocol::DarajaV1 => ("/mpesa/b2c/v1/paymentrequest", None),
        // The broker has its own request (`broker::request`); v3 is the default.
        PayOutProtocol::DarajaV3 | PayOutProtocol::Broker => (
            "/mpesa/b2c/v3/paymentrequest",
            Some(payout.reference.clone()),
        ),
    };
    let body = B2cPaymentRequest {
        amount: format_whole(amount.amount_minor),
        command_id: settings.command_id.clone(),
        initiator_name: settings.initiator_name.clone(),
        occassion: payout.transfer_id.chars().take(100).collect(),
        originator_conversation_id,
        party_a: settings.shortcode.clone(),
        party_b: payout.recipient.clone(),
        queue_time_out_url: payout.timeout_url.clone(),
        remarks,
        result_url: payout.result_url.clone(),
        security_credential: credential.to_string(),
    };
    let body = serde_json::to_vec(&body).map_err(|error| {
        failed(
            "invalid-request",
            format!("cannot encode the B2C request: {error}"),
        )
    })?;
    Ok(Request {
        method: Method::Post,
        url: format!("{}{path}", settings.base_url),
        headers: vec![
            ("authorization".into(), format!("Bearer {token}")),
            ("content-type".into(), "application/json".into()),
        ],
        body,
        timeout_ms: None,
    })
}

/// An accepted B2C, with Daraja's ids.
pub struct Accepted {
    /// What the host gets.
    pub started: PayOutStarted,
    /// The `OriginatorConversationID` Daraja works with (ours under v3,
    /// Daraja's own under v1).
    pub originator_conversation_id: String,
}

/// Reads the acknowledgement.
pub fn parse(
    settings: &MpesaSettings,
    response: &Response,
    payout: &PayOutRequest,
) -> Result<Accepted, Rejection> {
    if response.status != 200 {
        return Err(rejection(response));
    }
    let acknowledgement: B2cAcknowledgement =
        serde_json::from_slice(&response.body).map_err(|error| {
            Rejection::Failed(unknown(
                "bad-response",
                format!("the B2C acknowledgement is not understood: {error}"),
            ))
        })?;
    if acknowledgement.response_code != "0" {
        return Err(Rejection::Failed(failed(
            &acknowledgement.response_code,
            acknowledgement.response_description,
        )));
    }
    if settings.pay_out_protocol != PayOutProtocol::DarajaV1
        && acknowledgement.originator_conversation_id != payout.reference
    {
        return Err(Rejection::Failed(unknown(
            "bad-response",
            "the acknowledgement names another OriginatorConversationID",
        )));
    }
    let details = vec![
        (
            "originator_conversation_id".to_string(),
            acknowledgement.originator_conversation_id.clone(),
        ),
        (
            "conversation_id".to_string(),
            acknowledgement.conversation_id.clone(),
        ),
    ];
    Ok(Accepted {
        started: PayOutStarted::Accepted(PayOutAccepted {
            provider_reference: acknowledgement.conversation_id,
            details,
        }),
        originator_conversation_id: acknowledgement.originator_conversation_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{response, settings};
    use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
    use corridor_connector_kit::failure::failed as failed_kind;
    use corridor_connector_kit::money::money;

    fn payout() -> PayOutRequest {
        PayOutRequest {
            transfer_id: "t1".into(),
            reference: "COR-t1-B2C".into(),
            recipient: "254708374149".into(),
            amount: money(100_000, "KES"),
            remarks: "Corridor transfer".into(),
            result_url: "http://127.0.0.1:9/callbacks/alipay-mpesa/mpesa-result/t1/x".into(),
            timeout_url: "http://127.0.0.1:9/callbacks/alipay-mpesa/mpesa-timeout/t1/x".into(),
        }
    }

    #[test]
    fn the_v3_request_carries_the_reference_and_whole_shillings() {
        let request = request(&settings(), "tok", "cred", &payout()).expect("request");
        assert!(request.url.ends_with("/mpesa/b2c/v3/paymentrequest"));
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(body["OriginatorConversationID"], "COR-t1-B2C");
        assert_eq!(body["Amount"], "1000");
        assert!(
            body["ResultURL"]
                .as_str()
                .is_some_and(|url| url.ends_with("/mpesa-result/t1/x"))
        );
        let mut cents = payout();
        cents.amount = money(100_050, "KES");
        assert!(super::request(&settings(), "tok", "cred", &cents).is_err());
    }

    #[test]
    fn the_b2c_body_is_byte_for_byte_what_the_untyped_rail_sent() {
        let request = request(&settings(), "tok", "cred", &payout()).expect("request");
        let expected = concat!(
            r#"{"Amount":"1000","CommandID":"BusinessPayment","InitiatorName":"testapi","#,
            r#""Occassion":"t1","OriginatorConversationID":"COR-t1-B2C","PartyA":"600992","#,
            r#""PartyB":"254708374149","#,
            r#""QueueTimeOutURL":"http://127.0.0.1:9/callbacks/alipay-mpesa/mpesa-timeout/t1/x","#,
            r#""Remarks":"Corridor transfer","#,
            r#""ResultURL":"http://127.0.0.1:9/callbacks/alipay-mpesa/mpesa-result/t1/x","#,
            r#""SecurityCredential":"cred"}"#,
        );
        assert_eq!(String::from_utf8_lossy(&request.body), expected);
    }

    #[test]
    fn a_duplicate_is_unknown_and_spike_arrest_is_retryable() {
        let duplicate = response(
            500,
            r#"{"requestId":"1","errorCode":"500.002.1001","errorMessage":"Duplicate OriginatorConversationID."}"#,
        );
        assert!(
            matches!(parse(&settings(), &duplicate, &payout()), Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Unknown)
        );
        let busy = response(
            500,
            r#"{"requestId":"1","errorCode":"500.003.02","errorMessage":"Spike arrest"}"#,
        );
        assert!(
            matches!(parse(&settings(), &busy, &payout()), Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Retryable)
        );
        let token = response(
            404,
            r#"{"requestId":"1","errorCode":"404.001.03","errorMessage":"Invalid Access Token"}"#,
        );
        assert!(matches!(
            parse(&settings(), &token, &payout()),
            Err(Rejection::TokenRejected)
        ));
        let _ = failed_kind("x", "y");
    }
}
