//! RegisterURL: tell M-PESA where to send the validation and confirmation
//! requests, and what to do when validation cannot be reached.
//!
//! Daraja: `POST /mpesa/c2b/v{1,2}/registerurl` with a bearer token; the
//! version decides the MSISDN's form in every later notification. Production
//! registers once: a second registration is `500.003.1001` "Urls are already
//! registered", read here as [`Registered::Already`].
//!
//! The broker (seed 003): a SOAP `RequestMsg` whose content is a CDATA-wrapped
//! `request` document, signed with the `RequestSOAPHeader`, posted to
//! `…/mminterface/registerURL`.

use serde::Deserialize;

use super::soap::{self, Envelope, REQUEST_NS, RequestSoapHeader, escape};
use super::{C2bForm, C2bSettings};
use crate::{MpesaSettings, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, misconfigured, retryable, unknown};

/// Where M-PESA should call us.
pub struct Urls<'a> {
    /// The validation route.
    pub validation_url: &'a str,
    /// The confirmation route.
    pub confirmation_url: &'a str,
}

/// What a registration achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// Registered now; the id M-PESA gave the request, when it gave one.
    Now {
        /// `OriginatorCoversationID` (sic, Daraja) or `OriginatorConversationID`.
        originator_conversation_id: String,
    },
    /// The URLs were registered before (Daraja registers once).
    Already,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DarajaAnswer {
    #[serde(default, rename = "OriginatorCoversationID")]
    originator_coversation_id: String,
    #[serde(deserialize_with = "crate::messages::text_or_number", default)]
    response_code: Option<String>,
    #[serde(default)]
    response_description: String,
}

/// Daraja's `registerurl`, v1 or v2 by the form.
pub fn daraja_request(
    mpesa: &MpesaSettings,
    c2b: &C2bSettings,
    token: &str,
    urls: &Urls<'_>,
) -> Result<Request, Failure> {
    let version = match c2b.form {
        C2bForm::DarajaV1 => "v1",
        C2bForm::DarajaV2 => "v2",
        C2bForm::Soap => return Err(misconfigured("the soap form registers with the broker")),
    };
    let body = serde_json::json!({
        "ShortCode": c2b.shortcode,
        "ResponseType": c2b.response_type.as_str(),
        "ConfirmationURL": urls.confirmation_url,
        "ValidationURL": urls.validation_url,
    });
    Ok(Request {
        method: Method::Post,
        url: format!("{}/mpesa/c2b/{version}/registerurl", mpesa.base_url),
        headers: vec![
            ("authorization".into(), format!("Bearer {token}")),
            ("content-type".into(), "application/json".into()),
        ],
        body: body.to_string().into_bytes(),
        timeout_ms: None,
    })
}

/// Reads Daraja's answer.
pub fn daraja_parse(response: &Response) -> Result<Registered, Rejection> {
    if response.status != 200 {
        return match rejection(response) {
            Rejection::Failed(failure)
                if failure.code == "500.003.1001"
                    && failure
                        .message
                        .to_ascii_lowercase()
                        .contains("already registered") =>
            {
                Ok(Registered::Already)
            }
            other => Err(other),
        };
    }
    let answer: DarajaAnswer = serde_json::from_slice(&response.body).map_err(|error| {
        Rejection::Failed(unknown(
            "bad-response",
            format!("not a register answer: {error}"),
        ))
    })?;
    match answer.response_code.as_deref() {
        Some("0" | "00000000") => Ok(Registered::Now {
            originator_conversation_id: answer.originator_coversation_id,
        }),
        code => Err(Rejection::Failed(failed(
            code.unwrap_or("bad-response"),
            answer.response_description,
        ))),
    }
}

/// The broker's RegisterURL (seed 003's sample, with our values).
/// `originator_conversation_id` must start with the shortcode
/// (`111111_ORG880802l3`) and be unique per request.
pub fn soap_request(
    c2b: &C2bSettings,
    urls: &Urls<'_>,
    originator_conversation_id: &str,
    now_ms: u64,
) -> Result<Request, Failure> {
    let sp = c2b
        .sp
        .as_ref()
        .ok_or_else(|| misconfigured("the daraja forms register with registerurl"))?;
    let timestamp = soap::timestamp(now_ms);
    let item = |key: &str, value: &str| format!("<Key>{key}</Key><Value>{}</Value>", escape(value));
    let inner = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><request xmlns=\"{REQUEST_NS}\"><Transaction>\
         <CommandID>RegisterURL</CommandID><OriginatorConversationID>{}</OriginatorConversationID>\
         <Parameters><Parameter>{}</Parameter></Parameters><ReferenceData>\
         <ReferenceItem>{}</ReferenceItem><ReferenceItem>{}</ReferenceItem></ReferenceData>\
         <Timestamp>{timestamp}</Timestamp></Transaction><Identity>\
         <Caller><CallerType>2</CallerType><ThirdPartyID/><Password/><CheckSum/><ResultURL/></Caller>\
         <Initiator><IdentifierType>11</IdentifierType><Identifier/><SecurityCredential/><ShortCode/></Initiator>\
         <PrimaryParty><IdentifierType>1</IdentifierType><Identifier/><ShortCode>{}</ShortCode></PrimaryParty>\
         </Identity><KeyOwner>1</KeyOwner></request>",
        escape(originator_conversation_id),
        item("ResponseType", c2b.response_type.as_str()),
        item("ValidationURL", urls.validation_url),
        item("ConfirmationURL", urls.confirmation_url),
        escape(&c2b.shortcode),
    );
    let body = soap::envelope(
        &format!("xmlns:req=\"{REQUEST_NS}\""),
        &RequestSoapHeader::signed(sp, &timestamp).to_xml(),
        &format!("<req:RequestMsg><![CDATA[{inner}]]></req:RequestMsg>"),
    );
    Ok(Request {
        method: Method::Post,
        url: sp.register_url.clone(),
        headers: vec![
            ("content-type".into(), "text/xml; charset=UTF-8".into()),
            ("soapaction".into(), "\"\"".into()),
        ],
        body: body.into_bytes(),
        timeout_ms: None,
    })
}

#[derive(Deserialize)]
struct ResponseBody {
    #[serde(rename = "ResponseMsg", default)]
    response: Option<String>,
    #[serde(rename = "Fault", default)]
    fault: Option<Fault>,
}

#[derive(Deserialize)]
struct Fault {
    #[serde(default)]
    faultcode: String,
    #[serde(default)]
    faultstring: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BrokerResponse {
    #[serde(default)]
    response_code: String,
    #[serde(default)]
    response_desc: String,
    #[serde(rename = "OriginatorConversationID", default)]
    originator_conversation_id: String,
}

/// Reads the broker's answer: `ResponseCode` `0`/`00000000` is registered;
/// throttling and overload are retryable; a fault or any other code is failed.
pub fn soap_parse(response: &Response) -> Result<Registered, Failure> {
    let bad = |why: String| unknown("bad-response", format!("not a RegisterURL answer: {why}"));
    let envelope: Envelope<ResponseBody> = soap::read(&response.body).map_err(bad)?;
    if let Some(fault) = envelope.body.fault {
        let code = fault.faultcode.rsplit(':').next().unwrap_or_default();
        return Err(if code == "Server" {
            retryable("soap-server-fault", fault.faultstring)
        } else {
            failed("soap-client-fault", fault.faultstring)
        });
    }
    let inner = envelope
        .body
        .response
        .ok_or_else(|| bad("no ResponseMsg".into()))?;
    let answer: BrokerResponse =
        quick_xml::de::from_str(inner.trim()).map_err(|error| bad(error.to_string()))?;
    match answer.response_code.trim() {
        "0" | "00000000" => Ok(Registered::Now {
            originator_conversation_id: answer.originator_conversation_id,
        }),
        code @ ("26" | "100000000" | "100000001" | "100000002" | "100000011") => {
            Err(retryable(code, answer.response_desc))
        }
        code => Err(failed(code, answer.response_desc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c2b::{ResponseType, SpCredentials};
    use crate::testing::{response, settings};

    fn c2b(form: C2bForm) -> C2bSettings {
        C2bSettings {
            form,
            shortcode: "111111".into(),
            response_type: ResponseType::Completed,
            sp: (form == C2bForm::Soap).then(|| SpCredentials {
                sp_id: "107031".into(),
                sp_password: "secret".into(),
                service_id: Some("107031000".into()),
                register_url: "http://127.0.0.1:1/mminterface/registerURL".into(),
            }),
        }
    }

    const URLS: Urls<'static> = Urls {
        validation_url: "http://11.11.11.11/services/PaymentsService/validate",
        confirmation_url: "http://11.11.11.11/services/PaymentsService/confirmation",
    };

    #[test]
    fn daraja_registration_names_the_version_and_the_response_type() {
        let request =
            daraja_request(&settings(), &c2b(C2bForm::DarajaV1), "tok", &URLS).expect("a request");
        assert!(request.url.ends_with("/mpesa/c2b/v1/registerurl"));
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(body["ResponseType"], "Completed");
        assert_eq!(body["ShortCode"], "111111");
        let answer = response(
            200,
            r#"{"OriginatorCoversationID":"6e86-45dd-91ac-fd5d4178ab523408729","ResponseCode":"0","ResponseDescription":"Success"}"#,
        );
        assert_eq!(
            daraja_parse(&answer).expect("registered"),
            Registered::Now {
                originator_conversation_id: "6e86-45dd-91ac-fd5d4178ab523408729".into()
            }
        );
        let again = response(
            500,
            r#"{"requestId":"1","errorCode":"500.003.1001","errorMessage":"Urls are already registered"}"#,
        );
        assert_eq!(daraja_parse(&again).expect("already"), Registered::Already);
    }

    #[test]
    fn the_soap_registration_is_the_seeds_signed_cdata_request() {
        let request =
            soap_request(&c2b(C2bForm::Soap), &URLS, "111111_ORG880802l3", 0).expect("a request");
        let text = String::from_utf8(request.body).expect("utf-8");
        for part in [
            "<tns:spId>107031</tns:spId>",
            "<req:RequestMsg><![CDATA[<?xml",
            "<CommandID>RegisterURL</CommandID>",
            "<Key>ResponseType</Key><Value>Completed</Value>",
            "<Key>ValidationURL</Key><Value>http://11.11.11.11/services/PaymentsService/validate</Value>",
            "<ShortCode>111111</ShortCode>",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert_eq!(request.url, "http://127.0.0.1:1/mminterface/registerURL");
    }

    #[test]
    fn the_seeds_soap_answer_is_registered_and_an_authentication_failure_is_not() {
        // Seed 003's sample answer, curly quotes straightened.
        let sample = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:req="http://api-v1.gen.mm.vodafone.com/mminterface/request">
<soapenv:Header/>
<soapenv:Body>
<req:ResponseMsg><![CDATA[<?xml version="1.0" encoding="UTF-8"?><response xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/response"><ResponseCode>00000000</ResponseCode><ResponseDesc>success</ResponseDesc>
<ConversationID></ConversationID><OriginatorConversationID>111111_ORG880802l3</OriginatorConversationID>
<ServiceStatus>0</ServiceStatus>
</response>]]></req:ResponseMsg>
</soapenv:Body>
</soapenv:Envelope>"#;
        assert_eq!(
            soap_parse(&response(200, sample)).expect("registered"),
            Registered::Now {
                originator_conversation_id: "111111_ORG880802l3".into()
            }
        );
        let refused = sample
            .replace("00000000", "100000007")
            .replace(">success<", ">Authentication failed<");
        let failure = soap_parse(&response(200, &refused)).expect_err("refused");
        assert_eq!(
            (failure.code.as_str(), failure.message.as_str()),
            ("100000007", "Authentication failed")
        );
    }
}
