//! Our replies to M-PESA: a validation's accept or reject (which decides the
//! payment), and a confirmation's acknowledgement (which only stops the
//! resending).

use corridor_connector_kit::bindings::corridor::connector::types::Reply;

use super::soap::{C2B_NS, envelope, escape};
use super::{C2bForm, Rejection};

/// Complete the payment. `third_party_trans_id` is echoed in the
/// confirmation (Daraja) or recorded (the broker's "reserved" field).
pub fn accept(form: C2bForm, third_party_trans_id: Option<&str>) -> Reply {
    validation_result(form, "0", "Accepted", third_party_trans_id)
}

/// Cancel the payment: the customer keeps the money.
pub fn reject(form: C2bForm, rejection: Rejection) -> Reply {
    validation_result(form, rejection.code(), rejection.description(), None)
}

fn validation_result(
    form: C2bForm,
    code: &str,
    description: &str,
    third_party_trans_id: Option<&str>,
) -> Reply {
    match form {
        C2bForm::DarajaV1 | C2bForm::DarajaV2 => {
            let mut body = serde_json::json!({ "ResultCode": code, "ResultDesc": description });
            if let Some(id) = third_party_trans_id {
                body["ThirdPartyTransID"] = id.into();
            }
            json(body.to_string())
        }
        C2bForm::Soap => {
            let third_party = third_party_trans_id.map_or(String::new(), |id| {
                format!("<ThirdPartyTransID>{}</ThirdPartyTransID>", escape(id))
            });
            xml(envelope(
                &format!("xmlns:c2b=\"{C2B_NS}\""),
                "",
                &format!(
                    "<c2b:C2BPaymentValidationResult><ResultCode>{}</ResultCode>\
                     <ResultDesc>{}</ResultDesc>{third_party}</c2b:C2BPaymentValidationResult>",
                    escape(code),
                    escape(description)
                ),
            ))
        }
    }
}

/// The confirmation's acknowledgement: Daraja's `ResultCode` 0, or the
/// broker's free text (logged only).
pub fn acknowledge(form: C2bForm, trans_id: &str) -> Reply {
    match form {
        C2bForm::DarajaV1 | C2bForm::DarajaV2 => {
            json(r#"{"ResultCode":0,"ResultDesc":"Success"}"#.to_string())
        }
        C2bForm::Soap => xml(envelope(
            &format!("xmlns:c2b=\"{C2B_NS}\""),
            "",
            &format!(
                "<c2b:C2BPaymentConfirmationResult>C2B Payment Transaction {} result received.\
                 </c2b:C2BPaymentConfirmationResult>",
                escape(trans_id)
            ),
        )),
    }
}

/// The answer to a message we cannot read or do not believe: a SOAP
/// `Client` fault, or Daraja's 400. For a validation it also means "do not
/// complete": M-PESA cancels on anything but `0`.
pub fn refuse(form: C2bForm, reason: &str) -> Reply {
    match form {
        C2bForm::DarajaV1 | C2bForm::DarajaV2 => Reply {
            status: 400,
            ..json(
                serde_json::json!({ "ResultCode": Rejection::Other.code(), "ResultDesc": reason })
                    .to_string(),
            )
        },
        C2bForm::Soap => Reply {
            status: 500,
            ..xml(envelope(
                "",
                "",
                &format!(
                    "<soapenv:Fault><faultcode>soapenv:Client</faultcode>\
                     <faultstring>{}</faultstring></soapenv:Fault>",
                    escape(reason)
                ),
            ))
        },
    }
}

fn json(body: String) -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into_bytes(),
    }
}

fn xml(body: String) -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/xml; charset=UTF-8".into())],
        body: body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(reply: &Reply) -> String {
        String::from_utf8(reply.body.clone()).expect("utf-8")
    }

    #[test]
    fn daraja_replies_are_the_documented_json() {
        assert_eq!(
            text(&accept(C2bForm::DarajaV2, None)),
            r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#
        );
        assert_eq!(
            text(&reject(C2bForm::DarajaV1, Rejection::UnknownAccount)),
            r#"{"ResultCode":"C2B00012","ResultDesc":"Invalid Account number"}"#
        );
        assert_eq!(
            text(&acknowledge(C2bForm::DarajaV2, "RKL51ZDR4F")),
            r#"{"ResultCode":0,"ResultDesc":"Success"}"#
        );
    }

    #[test]
    fn each_rejection_has_its_result_code() {
        assert_eq!(Rejection::UnknownAccount.code(), "C2B00012");
        assert_eq!(Rejection::NotAwaitingPayment.code(), "C2B00012");
        assert_eq!(Rejection::WrongAmount.code(), "C2B00013");
        assert_eq!(Rejection::Other.code(), "C2B00016");
    }

    #[test]
    fn soap_replies_are_the_wsdls_elements() {
        let accepted = text(&accept(C2bForm::Soap, Some("1234560000088888")));
        assert!(accepted.contains(
            "<c2b:C2BPaymentValidationResult><ResultCode>0</ResultCode><ResultDesc>Accepted</ResultDesc>\
             <ThirdPartyTransID>1234560000088888</ThirdPartyTransID></c2b:C2BPaymentValidationResult>"
        ));
        let rejected = text(&reject(C2bForm::Soap, Rejection::WrongAmount));
        assert!(rejected.contains("<ResultCode>C2B00013</ResultCode>"));
        let acknowledged = text(&acknowledge(C2bForm::Soap, "1234560000007031"));
        assert!(acknowledged.contains(
            "<c2b:C2BPaymentConfirmationResult>C2B Payment Transaction 1234560000007031 result received."
        ));
        let fault = refuse(C2bForm::Soap, "a <forgery>");
        assert_eq!(fault.status, 500);
        assert!(text(&fault).contains("<faultstring>a &lt;forgery&gt;</faultstring>"));
    }
}
