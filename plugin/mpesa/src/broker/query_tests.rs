//! `queryTransaction`: the answer's lists decide the pay-out's status.

use super::*;
use crate::broker::testing::settings;
use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;

const REFERENCE: &str = "D7866050-CE7C-46B9-BE97-D9FBACC69041";
const CONVERSATION: &str = "B72AC018-86E4-477A-B4B0-9EC65AE8A2FE";

fn query(provider_reference: Option<&str>) -> PayOutQuery {
    PayOutQuery {
        transfer_id: "t1".into(),
        reference: REFERENCE.into(),
        provider_reference: provider_reference.map(str::to_string),
        result_url: "http://127.0.0.1:9/callbacks/alipay-mpesa/pay-out-status/t1/x".into(),
        timeout_url: "http://127.0.0.1:9/callbacks/alipay-mpesa/pay-out-timeout/t1/x".into(),
    }
}

/// A raw HTTP message, base64, as the query's lists carry them.
fn captured(body: &str) -> String {
    let message = format!("POST / HTTP/1.1\r\nContent-Type: text/xml\r\n\r\n{body}");
    base64::engine::general_purpose::STANDARD.encode(message)
}

fn answer(code: &str, lists: &[(&str, String)]) -> Response {
    let items: String = lists
        .iter()
        .map(|(list, item)| format!("<ns1:{list}>{item}</ns1:{list}>"))
        .collect();
    let body = format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><ns1:queryTransactionResponse xmlns:ns1="http://www.csapi.org/schema/transaction/data/v1_0/local"><ns1:result><ResponseCode>{code}</ResponseCode><ResponseDesc>x</ResponseDesc></ns1:result>{items}</ns1:queryTransactionResponse></soapenv:Body></soapenv:Envelope>"#
    );
    Response {
        status: 200,
        headers: vec![],
        body: body.into_bytes(),
    }
}

fn success() -> String {
    captured(crate::broker::result::tests::SPEC_SUCCESS)
}

#[test]
fn the_query_names_the_reference_under_the_sp_header() {
    let built = request(&settings(), &query(None), 1_411_822_399_052).expect("request");
    assert!(
        built
            .url
            .ends_with("/queryTransactionService/services/transaction")
    );
    let text = String::from_utf8(built.body).expect("utf-8");
    assert!(text.contains(&format!(
        "<loc:originatorConversationID>{REFERENCE}</loc:originatorConversationID>"
    )));
    assert!(text.contains("<tns:spId>151515</tns:spId>"), "{text}");
}

#[test]
fn a_posted_success_result_is_succeeded() {
    let status = parse(
        &answer(
            "000000000",
            &[
                ("submitApiRequestList", captured("<request/>")),
                ("submitApiResultList", success()),
            ],
        ),
        &query(Some(CONVERSATION)),
    )
    .expect("status");
    assert!(
        matches!(status, PayOutStatus::Succeeded(ref receipt) if receipt.amount.amount_minor == 10_000),
        "{status:?}"
    );
}

#[test]
fn a_result_of_another_conversation_is_not_this_pay_outs() {
    let status = parse(
        &answer(
            "0",
            &[
                ("submitApiRequestList", captured("<request/>")),
                ("submitApiResultList", success()),
            ],
        ),
        &query(Some("AG_other")),
    )
    .expect("status");
    assert!(matches!(status, PayOutStatus::Pending), "{status:?}");
}

#[test]
fn no_result_yet_is_pending_nothing_is_not_found_and_an_expiry_failed() {
    let pending = parse(
        &answer("0", &[("submitApiRequestList", captured("<request/>"))]),
        &query(None),
    )
    .expect("status");
    assert!(matches!(pending, PayOutStatus::Pending));
    let nothing = parse(&answer("0", &[]), &query(None)).expect("status");
    assert!(matches!(nothing, PayOutStatus::NotFound));
    let expired = parse(
        &answer(
            "0",
            &[
                ("submitApiRequestList", captured("<request/>")),
                ("queueTimeOutList", captured("<notifyQueueTimeout/>")),
            ],
        ),
        &query(None),
    )
    .expect("status");
    assert!(matches!(expired, PayOutStatus::Failed(_)), "{expired:?}");
}

#[test]
fn a_refused_query_is_retryable_or_failed_never_unknown() {
    let refused = parse(&answer("100000007", &[]), &query(None)).expect_err("refused");
    assert_eq!(refused.kind, FailureKind::Failed);
    let busy = parse(&answer("100000004", &[]), &query(None)).expect_err("refused");
    assert_eq!(busy.kind, FailureKind::Retryable);
}
