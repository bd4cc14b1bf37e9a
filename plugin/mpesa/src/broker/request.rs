//! `GenericAPIRequest` and its synchronous `GenericAPIResponse` (reference
//! §2.2, §2.4). One request per transfer: its `OriginatorConversationID` is
//! the host's pay-out reference, which the broker refuses to see twice.

use super::messages::{
    AccessDevice, Caller, GenericApiRequest, GenericApiResponse, HEADER_NAMESPACE, Identity,
    InboundEnvelope, Initiator, KeyValue, Parameters, Party, REQUEST_NAMESPACE, ReferenceData,
    RequestBody, RequestEnvelope, RequestSoapHeader, SOAP_ENVELOPE, SoapFault, SoapHeader,
    Transaction,
};
use super::{
    BrokerSettings, REQUEST_PATH, from_xml, header_time_stamp, is_success, response_failure,
    sp_password, to_xml, transaction_timestamp,
};
use crate::msisdn::is_canonical as is_msisdn;
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Failure, PayOutAccepted, PayOutRequest, PayOutStarted,
};
use corridor_connector_kit::failure::{failed, unknown};
use corridor_connector_kit::money::format_minor;

/// The SOAP header every broker request carries, for `now_ms`.
pub(super) fn soap_header(
    settings: &BrokerSettings,
    namespace: &str,
    now_ms: u64,
) -> Result<SoapHeader, Failure> {
    let time_stamp = header_time_stamp(now_ms)?;
    Ok(SoapHeader {
        request_soap_header: RequestSoapHeader {
            tns: namespace.to_string(),
            sp_id: settings.sp_id.clone(),
            sp_password: sp_password(&settings.sp_id, &settings.sp_password, &time_stamp),
            time_stamp,
            service_id: settings.service_id.clone(),
        },
    })
}

/// A `POST` of a SOAP envelope, as the capture's request line and headers.
pub(super) fn soap_post(url: String, envelope: String) -> Request {
    Request {
        method: Method::Post,
        url,
        headers: vec![
            ("content-type".into(), "text/xml;charset=UTF-8".into()),
            ("soapaction".into(), "\"\"".into()),
        ],
        body: envelope.into_bytes(),
        timeout_ms: None,
    }
}

/// Refuses before sending what the broker would refuse, so that is `failed`
/// with nothing sent.
fn check(payout: &PayOutRequest) -> Result<(), Failure> {
    let amount = &payout.amount;
    if amount.currency != "KES" {
        return Err(failed(
            "unsupported-currency",
            format!("M-PESA pays KES, not {}", amount.currency),
        ));
    }
    if amount.amount_minor <= 0 || amount.amount_minor % 100 != 0 {
        return Err(failed(
            "25",
            "InvalidRequestParameters: B2C pays whole shillings",
        ));
    }
    if !is_msisdn(&payout.recipient) {
        return Err(failed(
            "25",
            format!(
                "InvalidRequestParameters: ReceiverParty {:?}",
                payout.recipient
            ),
        ));
    }
    if payout.reference.is_empty() || payout.reference.len() > 128 {
        return Err(failed(
            "25",
            "InvalidRequestParameters: OriginatorConversationID is 1 to 128 characters",
        ));
    }
    Ok(())
}

/// The `request` document for a pay-out.
fn document(
    settings: &BrokerSettings,
    credential: &str,
    payout: &PayOutRequest,
    now_ms: u64,
) -> Result<GenericApiRequest, Failure> {
    let item = |key: &str, value: String| KeyValue {
        key: key.to_string(),
        value,
    };
    let remark: String = payout.remarks.chars().take(255).collect();
    Ok(GenericApiRequest {
        xmlns: REQUEST_NAMESPACE.into(),
        transaction: Transaction {
            command_id: settings.command_id.clone(),
            language_code: "0".into(),
            originator_conversation_id: payout.reference.clone(),
            conversation_id: String::new(),
            remark,
            parameters: Parameters {
                parameter: vec![item("Amount", format_minor(payout.amount.amount_minor))],
            },
            reference_data: ReferenceData {
                reference_item: vec![
                    item("QueueTimeoutURL", payout.timeout_url.clone()),
                    item("Occasion", payout.transfer_id.chars().take(100).collect()),
                ],
            },
            timestamp: transaction_timestamp(now_ms)?,
        },
        identity: Identity {
            caller: Caller {
                caller_type: "2".into(),
                third_party_id: settings.third_party_id.clone(),
                password: String::new(),
                check_sum: String::new(),
                result_url: payout.result_url.clone(),
            },
            initiator: Initiator {
                identifier_type: "11".into(),
                identifier: settings.initiator_name.clone(),
                security_credential: credential.to_string(),
                short_code: settings.shortcode.clone(),
            },
            primary_party: Party {
                identifier_type: "4".into(),
                identifier: settings.shortcode.clone(),
                short_code: String::new(),
            },
            receiver_party: Party {
                identifier_type: "1".into(),
                identifier: payout.recipient.clone(),
                short_code: String::new(),
            },
            access_device: AccessDevice {
                identifier_type: "4".into(),
                identifier: settings.shortcode.clone(),
            },
        },
        key_owner: "1".into(),
    })
}

/// The `GenericAPIRequest` for a pay-out, at `now_ms`.
pub fn request(
    settings: &BrokerSettings,
    credential: &str,
    payout: &PayOutRequest,
    now_ms: u64,
) -> Result<Request, Failure> {
    check(payout)?;
    let inner = to_xml(&document(settings, credential, payout, now_ms)?)?;
    let envelope = RequestEnvelope {
        soapenv: SOAP_ENVELOPE.into(),
        req: REQUEST_NAMESPACE.into(),
        header: soap_header(settings, HEADER_NAMESPACE, now_ms)?,
        body: RequestBody {
            request_msg: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{inner}"),
        },
    };
    Ok(soap_post(
        format!("{}{REQUEST_PATH}", settings.url),
        to_xml(&envelope)?,
    ))
}

/// A SOAP fault's meaning: the caller's message was wrong (`Client`: nothing
/// was processed) or the server failed (`Server`: it may have been).
pub(super) fn fault_failure(fault: &SoapFault) -> Failure {
    let code = fault.fault_code.rsplit(':').next().unwrap_or_default();
    let message = format!("SOAP fault {}: {}", fault.fault_code, fault.fault_string);
    if code == "Client" {
        failed("soap-fault-client", message)
    } else {
        unknown("soap-fault-server", message)
    }
}

/// An answer that is not an envelope: a server error may hide a processed
/// request, a refusal does not.
pub(super) fn unreadable(response: &Response, what: &str) -> Failure {
    let code = format!("http-{}", response.status);
    if response.status >= 500 || response.status == 200 {
        unknown(&code, format!("the broker's answer is not {what}"))
    } else {
        failed(&code, format!("the broker refused the request: not {what}"))
    }
}

/// Reads the `GenericAPIResponse`: accepted with M-PESA's `ConversationID`,
/// or refused (a code of reference §2.4, or a SOAP fault).
pub fn parse(response: &Response, payout: &PayOutRequest) -> Result<PayOutStarted, Failure> {
    let text = String::from_utf8_lossy(&response.body);
    let Ok(envelope) = from_xml::<InboundEnvelope>(&text) else {
        return Err(unreadable(response, "a SOAP envelope"));
    };
    if let Some(fault) = &envelope.body.fault {
        return Err(fault_failure(fault));
    }
    let Some(document) = envelope.body.response_msg.as_deref() else {
        return Err(unreadable(response, "a ResponseMsg"));
    };
    let answer: GenericApiResponse = from_xml(document)
        .map_err(|error| unknown("bad-response", format!("the ResponseMsg: {error}")))?;
    if !is_success(&answer.response_code) {
        return Err(response_failure(
            answer.response_code.trim(),
            &answer.response_desc,
        ));
    }
    if !answer.originator_conversation_id.is_empty()
        && answer.originator_conversation_id != payout.reference
    {
        return Err(unknown(
            "bad-response",
            "the GenericAPIResponse names another OriginatorConversationID",
        ));
    }
    if answer.conversation_id.is_empty() {
        return Err(unknown(
            "bad-response",
            "the broker accepted the request but named no ConversationID",
        ));
    }
    Ok(PayOutStarted::Accepted(PayOutAccepted {
        provider_reference: answer.conversation_id.clone(),
        details: vec![
            (
                "originator_conversation_id".into(),
                payout.reference.clone(),
            ),
            ("conversation_id".into(), answer.conversation_id),
        ],
    }))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
