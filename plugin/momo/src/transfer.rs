//! `POST /disbursement/v1_0/transfer`: one request per pay-out, answered 202
//! with an empty body ("accepted for processing", never "paid"); the result
//! comes by callback or status query.
//!
//! The `X-Reference-Id` is the transfer's id at MoMo and its idempotency key.
//! It is derived from the host's pay-out reference, never drawn at random:
//! the first 16 bytes of SHA-256(`corridor-momo-transfer:` + reference), with
//! the version (4) and variant bits set, so it has the v4 form MTN requires
//! and the same reference always gives the same id. A retry after a lost
//! answer therefore cannot pay twice: MoMo answers it 409
//! `RESOURCE_ALREADY_EXIST` and the first request stands.

use sha2::{Digest, Sha256};

use super::amount::to_wire;
use super::messages::{Party, TransferRequest};
use super::{MomoSettings, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Failure, PayOutAccepted, PayOutRequest, PayOutStarted,
};
use corridor_connector_kit::failure::failed;

/// The domain the reference is hashed under, so the id is ours alone.
const REFERENCE_DOMAIN: &str = "corridor-momo-transfer:";

/// MTN: `payerMessage` and `payeeNote` over 160 characters are refused (400).
const MAX_NOTE: usize = 160;

/// The `X-Reference-Id` of the pay-out with `reference`: stable across retries.
/// A reference that already is a version-4 UUID in MTN's lower-case form is
/// its own id, so a connector may plan the id itself and show the operator
/// the very id MoMo files the transfer under.
pub fn reference_id(reference: &str) -> String {
    if let Ok(id) = uuid::Uuid::try_parse(reference)
        && id.get_version_num() == 4
        && id.hyphenated().to_string() == reference
    {
        return reference.to_string();
    }
    let digest = Sha256::digest(format!("{REFERENCE_DOMAIN}{reference}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A MoMo MSISDN: digits only, the country code first, no `+` (E.164: at most
/// 15 digits).
pub fn is_msisdn(text: &str) -> bool {
    (8..=15).contains(&text.len()) && text.chars().all(|c| c.is_ascii_digit())
}

/// A note MoMo takes: MTN lists characters such as the apostrophe as a cause
/// of 400, so only letters, digits and plain punctuation are kept.
fn note(text: &str, fallback: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " -_.,:/#".contains(*c))
        .take(MAX_NOTE)
        .collect();
    if kept.trim().is_empty() {
        fallback.to_string()
    } else {
        kept.trim().to_string()
    }
}

/// The host of an absolute http(s) URL, lower case.
fn url_host(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then(|| url.host_str().map(str::to_ascii_lowercase))
        .flatten()
}

/// The transfer request. Checks what MoMo would refuse (an amount it cannot
/// take, a payee that is not an MSISDN, a callback URL off the registered
/// host) so a refusal is `failed` before anything is sent.
pub fn request(
    settings: &MomoSettings,
    token: &str,
    payout: &PayOutRequest,
) -> Result<Request, Failure> {
    let amount = to_wire(&payout.amount)?;
    if !is_msisdn(&payout.recipient) {
        return Err(failed(
            "PAYEE_NOT_FOUND",
            format!(
                "{:?} is not an MSISDN (digits with the country code, no +)",
                payout.recipient
            ),
        ));
    }
    if url_host(&payout.result_url).as_deref() != Some(settings.callback_host.as_str()) {
        return Err(failed(
            "INVALID_CALLBACK_URL_HOST",
            format!(
                "the result URL is not on the API user's callback host {:?}",
                settings.callback_host
            ),
        ));
    }
    let body = TransferRequest {
        amount,
        currency: payout.amount.currency.clone(),
        external_id: payout.reference.clone(),
        payee: Party {
            party_id_type: "MSISDN".into(),
            party_id: payout.recipient.clone(),
        },
        payer_message: note(&payout.transfer_id, "Corridor transfer"),
        payee_note: note(&payout.remarks, "Corridor transfer"),
    };
    let body = serde_json::to_vec(&body)
        .map_err(|error| failed("invalid-request", format!("cannot encode: {error}")))?;
    let mut headers = settings.product_headers(token);
    headers.extend([
        ("x-reference-id".into(), reference_id(&payout.reference)),
        ("x-callback-url".into(), payout.result_url.clone()),
        ("content-type".into(), "application/json".into()),
    ]);
    Ok(Request {
        method: Method::Post,
        url: format!("{}/disbursement/v1_0/transfer", settings.base_url),
        headers,
        body,
        timeout_ms: None,
    })
}

/// Reads the answer: 202 is accepted (the `X-Reference-Id` names it at MoMo);
/// anything else is classified by [`rejection`].
pub fn parse(response: &Response, payout: &PayOutRequest) -> Result<PayOutStarted, Rejection> {
    if response.status != 202 {
        return Err(rejection(response));
    }
    let reference_id = reference_id(&payout.reference);
    Ok(PayOutStarted::Accepted(PayOutAccepted {
        provider_reference: reference_id.clone(),
        details: vec![
            ("reference_id".to_string(), reference_id),
            ("external_id".to_string(), payout.reference.clone()),
        ],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{header, response, settings};
    use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
    use corridor_connector_kit::money::money;

    pub(crate) fn payout() -> PayOutRequest {
        PayOutRequest {
            transfer_id: "t1".into(),
            reference: "COR-t1-MOMO".into(),
            recipient: "256772123456".into(),
            amount: money(37_000, "UGX"),
            remarks: "Rent for Mama's shop".into(),
            result_url: "http://127.0.0.1:9/callbacks/mpesa-momo/pay-out/t1/x".into(),
            timeout_url: "http://127.0.0.1:9/callbacks/mpesa-momo/pay-out-timeout/t1/x".into(),
        }
    }

    #[test]
    fn the_reference_id_is_a_v4_uuid_that_a_retry_repeats() {
        let id = reference_id("COR-t1-MOMO");
        assert_eq!(id, reference_id("COR-t1-MOMO"));
        assert_ne!(id, reference_id("COR-t2-MOMO"));
        let parsed = uuid::Uuid::parse_str(&id).expect("a uuid");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(id.len(), 36);
    }

    #[test]
    fn a_reference_that_is_a_v4_uuid_is_its_own_id_and_other_uuids_are_hashed() {
        let planned = reference_id("COR-t1-MOMO");
        assert_eq!(reference_id(&planned), planned);
        let upper = planned.to_ascii_uppercase();
        assert_ne!(reference_id(&upper), upper, "MTN's form is lower case");
        let v1 = "c232ab00-9414-11ec-b3c8-9f68deced846";
        assert_ne!(reference_id(v1), v1);
    }

    #[test]
    fn the_transfer_carries_momos_headers_and_exact_field_casing() {
        let request = request(&settings(), "tok", &payout()).expect("request");
        assert!(request.url.ends_with("/disbursement/v1_0/transfer"));
        assert_eq!(header(&request, "Authorization"), Some("Bearer tok"));
        assert_eq!(header(&request, "X-Target-Environment"), Some("mtnuganda"));
        assert_eq!(
            header(&request, "Ocp-Apim-Subscription-Key"),
            Some("subscription")
        );
        assert_eq!(
            header(&request, "X-Reference-Id"),
            Some(reference_id("COR-t1-MOMO").as_str())
        );
        assert_eq!(
            header(&request, "X-Callback-Url"),
            Some("http://127.0.0.1:9/callbacks/mpesa-momo/pay-out/t1/x")
        );
        assert_eq!(
            String::from_utf8_lossy(&request.body),
            concat!(
                r#"{"amount":"37000","currency":"UGX","externalId":"COR-t1-MOMO","#,
                r#""payee":{"partyIdType":"MSISDN","partyId":"256772123456"},"#,
                r#""payerMessage":"t1","payeeNote":"Rent for Mamas shop"}"#
            )
        );
    }

    #[test]
    fn what_momo_would_refuse_is_failed_before_sending() {
        let mut plus = payout();
        plus.recipient = "+256772123456".into();
        assert!(request(&settings(), "tok", &plus).is_err());
        let mut elsewhere = payout();
        elsewhere.result_url = "https://evil.example/callbacks".into();
        let refused = request(&settings(), "tok", &elsewhere).expect_err("host");
        assert_eq!(refused.code, "INVALID_CALLBACK_URL_HOST");
        let mut dinar = payout();
        dinar.amount = money(1000, "KWD");
        assert!(request(&settings(), "tok", &dinar).is_err());
    }

    #[test]
    fn accepted_is_202_and_a_reused_id_is_unknown_never_a_new_payment() {
        let started = parse(&response(202, ""), &payout()).expect("accepted");
        let PayOutStarted::Accepted(accepted) = started else {
            panic!("a 202 is accepted, not paid");
        };
        assert_eq!(accepted.provider_reference, reference_id("COR-t1-MOMO"));
        let duplicate = response(
            409,
            r#"{"message":"Duplicated reference id. Creation of resource failed.","code":"RESOURCE_ALREADY_EXIST"}"#,
        );
        assert!(matches!(
            parse(&duplicate, &payout()),
            Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Unknown
                && failure.code == "RESOURCE_ALREADY_EXIST"
        ));
        let expired = response(
            401,
            r#"{"message":"Access token is expired","code":"UNAUTHORIZED"}"#,
        );
        assert!(matches!(
            parse(&expired, &payout()),
            Err(Rejection::TokenRejected)
        ));
    }
}
