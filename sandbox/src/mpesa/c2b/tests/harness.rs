//! A sandbox and a fake organisation whose validation and confirmation
//! routes are the M-PESA rail (`corridor-rail-mpesa`): what the broker sends
//! is what the rail reads, and what the rail answers is what the broker acts on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Uri;
use axum::response::{IntoResponse, Response as AxumResponse};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::Reply;
use corridor_rail_mpesa::c2b::notification::{self, NotificationKind};
use corridor_rail_mpesa::c2b::{
    C2bError, C2bForm, C2bPayment, C2bSettings, Rejection, ResponseType, SpCredentials, reply,
};
use corridor_rail_mpesa::{MpesaSettings, PayOutProtocol, credential, oauth};
use serde_json::Value;

use crate::faults::lock;
use crate::{Profile, Sandbox, SandboxConfig};

pub(super) const PAYBILL: &str = "600984";
pub(super) const PAYER: &str = "254722703614";

/// How the organisation answers validation.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mode {
    Accept,
    Reject(Rejection),
    /// Answers only after the broker has stopped waiting.
    Silent,
}

pub(super) struct Organisation {
    pub settings: C2bSettings,
    pub mode: Mode,
    pub validations: Vec<C2bPayment>,
    pub confirmations: Vec<C2bPayment>,
    pub errors: Vec<C2bError>,
    /// Confirmations to answer with 500 before acknowledging.
    pub refuse_confirmations: u32,
    /// Anything else posted (results), by path.
    pub results: Vec<(String, String)>,
}

pub(super) struct Harness {
    pub sandbox: Sandbox,
    pub organisation: Arc<Mutex<Organisation>>,
    pub base: String,
    pub mpesa: MpesaSettings,
    client: reqwest::Client,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

pub(super) async fn start(form: C2bForm) -> Harness {
    let mut config = SandboxConfig {
        profile: Profile::Zero,
        ..SandboxConfig::default()
    };
    config.mpesa.c2b.validation_timeout_ms = 300;
    config.mpesa.c2b.confirmation_backoff_ms = 20;
    let sandbox = Sandbox::start(config.clone())
        .await
        .expect("sandbox starts");
    let c2b = &config.mpesa.c2b;
    let settings = C2bSettings {
        form,
        shortcode: PAYBILL.into(),
        response_type: ResponseType::Cancelled,
        sp: (form == C2bForm::Soap).then(|| SpCredentials {
            sp_id: c2b.sp_id.clone(),
            sp_password: c2b.sp_password.clone(),
            service_id: Some(c2b.service_id.clone()),
            register_url: format!("{}/mminterface/registerURL", sandbox.mpesa_url),
        }),
    };
    let organisation = Arc::new(Mutex::new(Organisation {
        settings,
        mode: Mode::Accept,
        validations: vec![],
        confirmations: vec![],
        errors: vec![],
        refuse_confirmations: 0,
        results: vec![],
    }));
    let state = organisation.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let state = state.clone();
        async move { answer(&state, uri.path(), &body).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let listener = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mpesa = MpesaSettings {
        base_url: sandbox.mpesa_url.clone(),
        consumer_key: config.mpesa.consumer_key.clone(),
        consumer_secret: config.mpesa.consumer_secret.clone(),
        shortcode: config.mpesa.shortcode.clone(),
        initiator_name: config.mpesa.initiator_name.clone(),
        initiator_password: config.mpesa.initiator_password.clone(),
        certificate_pem: config.mpesa.certificate_pem.clone(),
        pay_out_protocol: PayOutProtocol::DarajaV3,
        command_id: "BusinessPayment".into(),
    };
    Harness {
        sandbox,
        organisation,
        base,
        mpesa,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        listener,
    }
}

/// The organisation's side: the rail reads, the rail answers.
async fn answer(state: &Mutex<Organisation>, path: &str, body: &[u8]) -> AxumResponse {
    let kind = match path {
        "/validate" => NotificationKind::Validation,
        "/confirm" => NotificationKind::Confirmation,
        _ => {
            let text = String::from_utf8_lossy(body).into_owned();
            lock(state).results.push((path.to_string(), text));
            return "".into_response();
        }
    };
    let (settings, mode) = {
        let organisation = lock(state);
        (organisation.settings.clone(), organisation.mode)
    };
    let payment = match notification::parse(&settings, kind, body) {
        Ok(payment) => payment,
        Err(problem) => {
            let refusal = reply::refuse(settings.form, &problem.to_string());
            lock(state).errors.push(problem);
            return to_axum(refusal);
        }
    };
    if kind == NotificationKind::Confirmation {
        let mut organisation = lock(state);
        if organisation.refuse_confirmations > 0 {
            organisation.refuse_confirmations -= 1;
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "busy").into_response();
        }
        let trans_id = payment.trans_id.clone();
        organisation.confirmations.push(payment);
        return to_axum(reply::acknowledge(settings.form, &trans_id));
    }
    lock(state).validations.push(payment);
    let verdict = match mode {
        Mode::Accept => reply::accept(settings.form, None),
        Mode::Reject(rejection) => reply::reject(settings.form, rejection),
        Mode::Silent => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            reply::accept(settings.form, None)
        }
    };
    to_axum(verdict)
}

fn to_axum(reply: Reply) -> AxumResponse {
    let mut response = (
        axum::http::StatusCode::from_u16(reply.status).unwrap_or_default(),
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl Harness {
    /// Sends a rail request the way the host would.
    pub(super) async fn send(&self, request: Request) -> Response {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            _ => reqwest::Method::POST,
        };
        let mut builder = self.client.request(method, &request.url).body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let answer = builder.send().await.expect("the simulator answers");
        Response {
            status: answer.status().as_u16(),
            headers: vec![],
            body: answer.bytes().await.expect("body").to_vec(),
        }
    }

    pub(super) async fn token(&self) -> String {
        let answer = self.send(oauth::request(&self.mpesa)).await;
        oauth::parse(&answer, 0).expect("a token").access_token
    }

    pub(super) fn credential(&self) -> String {
        let key = credential::certificate_key(&self.mpesa.certificate_pem).expect("a key");
        credential::security_credential(
            &self.mpesa.initiator_password,
            &key,
            &mut rand::rngs::OsRng,
        )
        .expect("a credential")
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(super) fn set_mode(&self, mode: Mode) {
        lock(&self.organisation).mode = mode;
    }

    /// "Customer `msisdn` pays the Paybill, account `account`, `amount`".
    pub(super) async fn pay(&self, msisdn: &str, account: &str, amount: &str) -> Value {
        let body = serde_json::json!({
            "msisdn": msisdn, "shortcode": PAYBILL, "account": account, "amount": amount,
        });
        self.client
            .post(format!(
                "{}/control/mpesa/c2b/pay",
                self.sandbox.control_url
            ))
            .body(body.to_string())
            .send()
            .await
            .expect("control answers")
            .text()
            .await
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .expect("json")
    }

    /// The results posted to `path`, waiting (bounded) for `count`.
    pub(super) async fn results(&self, path: &str, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let seen: Vec<String> = lock(&self.organisation)
                .results
                .iter()
                .filter(|(at, _)| at == path)
                .map(|(_, body)| body.clone())
                .collect();
            if seen.len() >= count {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {count} results on {path}");
    }

    /// The confirmations received, waiting (bounded) for `count`.
    pub(super) async fn confirmations(&self, count: usize) -> Vec<C2bPayment> {
        for _ in 0..200 {
            let seen = lock(&self.organisation).confirmations.clone();
            if seen.len() >= count {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {count} confirmations");
    }
}
