//! The Alipay mapi gateway simulator (`/gateway.do`): signatures, orders and
//! the trade book here; the cashier page and the payer's step (`/sandbox/pay`,
//! standing in for the wallet's password prompt) in `cashier`; notifications
//! in `notify`; query, refund and rate file in `trades`.
//!
//! Faithful where a connector can tell: requests by GET or form POST; MD5, RSA
//! (SHA1withRSA) and RSA2 (SHA256withRSA) signatures over the sorted `k=v&…`
//! string without `sign`, `sign_type` and empty values; mapi's error codes;
//! notifications signed the way the request was, retried on Alipay's schedule
//! until the reply body is exactly `success`; `notify_verify`; the XML of
//! `single_trade_query`; `forex_refund` crediting the buyer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine as _;
use md5::{Digest, Md5};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::Sha256;

use crate::World;
use crate::config::AlipayConfig;
use crate::faults::{InjectedError, lock};
use crate::journal::Direction;
use crate::money::parse_minor;

mod cashier;
mod notify;
mod trades;

pub use cashier::{PayRequest, WalletRefusal};

/// How a request or notification is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignType {
    /// `lowercase_hex(md5(content + key))`.
    #[serde(rename = "MD5")]
    Md5,
    /// `base64(SHA1withRSA(content))`.
    #[serde(rename = "RSA")]
    Rsa,
    /// `base64(SHA256withRSA(content))`.
    #[serde(rename = "RSA2")]
    Rsa2,
}

impl SignType {
    fn parse(text: &str) -> Option<SignType> {
        match text {
            "MD5" => Some(SignType::Md5),
            "RSA" => Some(SignType::Rsa),
            "RSA2" => Some(SignType::Rsa2),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::Rsa => "RSA",
            SignType::Rsa2 => "RSA2",
        }
    }
}

/// The string mapi signs: every parameter but `sign`, `sign_type` and empty
/// values, sorted by key, joined as `k=v&…` with raw (not URL-encoded) values.
pub fn signing_content(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(key, value)| {
            key.as_str() != "sign" && key.as_str() != "sign_type" && !value.is_empty()
        })
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

struct PartnerKeys {
    md5_key: String,
    /// The merchant's public key, for RSA (SHA1) signatures.
    rsa_verifier: VerifyingKey<Sha1>,
    /// The same key, for RSA2 (SHA256) signatures.
    rsa2_verifier: VerifyingKey<Sha256>,
}

/// A trade, from the merchant's request to payment and refunds.
#[derive(Debug, Clone, Serialize)]
pub struct Trade {
    /// The merchant.
    pub partner: String,
    /// The merchant's reference.
    pub out_trade_no: String,
    /// Alipay's trade number; assigned when the buyer pays.
    pub trade_no: Option<String>,
    /// `WAIT_BUYER_PAY`, `TRADE_FINISHED` or `TRADE_CLOSED`.
    pub trade_status: String,
    /// The settlement currency.
    pub currency: String,
    /// The amount in `currency`, minor units.
    pub total_fee_minor: i64,
    /// What the buyer was charged, CNY fen.
    pub charged_cny_fen: i64,
    /// Refunded so far, in `currency` minor units.
    pub refunded_minor: i64,
    /// The buyer who paid.
    pub buyer: Option<String>,
    /// Where notifications go.
    #[serde(skip)]
    notify_url: String,
    #[serde(skip)]
    sign_type: SignType,
    #[serde(skip)]
    request: BTreeMap<String, String>,
}

struct AlipayState {
    trades: Vec<Trade>,
    buyers: BTreeMap<String, (String, i64)>,
    notify_ids: BTreeMap<String, String>,
    refunds: BTreeMap<(String, String), i64>,
    random: StdRng,
}

/// The Alipay simulator's state.
pub(crate) struct Alipay {
    partners: BTreeMap<String, PartnerKeys>,
    /// Alipay's own key, for RSA (SHA1) signatures.
    rsa_signer: SigningKey<Sha1>,
    /// The same key, for RSA2 (SHA256) signatures.
    rsa2_signer: SigningKey<Sha256>,
    state: Mutex<AlipayState>,
}

impl Alipay {
    pub fn new(config: &AlipayConfig, seed: u64) -> anyhow::Result<Alipay> {
        let mut partners = BTreeMap::new();
        for partner in &config.partners {
            anyhow::ensure!(
                partner.id.len() == 16
                    && partner.id.starts_with("2088")
                    && partner.id.chars().all(|c| c.is_ascii_digit()),
                "alipay.partners: {:?} is not 16 digits starting 2088",
                partner.id
            );
            let rsa_public_key = RsaPublicKey::from_public_key_pem(&partner.rsa_public_key_pem)
                .map_err(|error| {
                    anyhow::anyhow!(
                        "alipay.partners[{}].rsa_public_key_pem: {error}",
                        partner.id
                    )
                })?;
            partners.insert(
                partner.id.clone(),
                PartnerKeys {
                    md5_key: partner.md5_key.clone(),
                    rsa_verifier: VerifyingKey::new(rsa_public_key.clone()),
                    rsa2_verifier: VerifyingKey::new(rsa_public_key),
                },
            );
        }
        let signing_key = RsaPrivateKey::from_pkcs8_pem(&config.alipay_private_key_pem)
            .map_err(|error| anyhow::anyhow!("alipay.alipay_private_key_pem: {error}"))?;
        let mut buyers = BTreeMap::new();
        for buyer in &config.buyers {
            let balance = parse_minor(&buyer.cny_balance).ok_or_else(|| {
                anyhow::anyhow!("alipay.buyers[{}].cny_balance: not an amount", buyer.login)
            })?;
            buyers.insert(buyer.login.clone(), (buyer.pay_password.clone(), balance));
        }
        let state = AlipayState {
            trades: Vec::new(),
            buyers,
            notify_ids: BTreeMap::new(),
            refunds: BTreeMap::new(),
            random: StdRng::seed_from_u64(seed ^ 0x616c_6970_6179),
        };
        Ok(Alipay {
            partners,
            rsa_signer: SigningKey::new(signing_key.clone()),
            rsa2_signer: SigningKey::new(signing_key),
            state: Mutex::new(state),
        })
    }

    /// The trades, for the control API and tests.
    pub fn trades(&self) -> Vec<Trade> {
        lock(&self.state).trades.clone()
    }

    /// Buyers' CNY balances in fen.
    pub fn buyer_balances(&self) -> BTreeMap<String, i64> {
        lock(&self.state)
            .buyers
            .iter()
            .map(|(login, (_, balance))| (login.clone(), *balance))
            .collect()
    }

    fn verify(&self, params: &BTreeMap<String, String>) -> Result<&PartnerKeys, &'static str> {
        let partner = params
            .get("partner")
            .and_then(|id| self.partners.get(id))
            .ok_or("ILLEGAL_PARTNER")?;
        let sign_type = params
            .get("sign_type")
            .and_then(|text| SignType::parse(text))
            .ok_or("ILLEGAL_SIGN_TYPE")?;
        let sign = params
            .get("sign")
            .filter(|sign| !sign.is_empty())
            .ok_or("ILLEGAL_SIGN")?;
        let content = signing_content(params);
        let valid = match sign_type {
            SignType::Md5 => {
                let digest = hex::encode(Md5::digest(format!("{content}{}", partner.md5_key)));
                digest.eq_ignore_ascii_case(sign)
            }
            SignType::Rsa | SignType::Rsa2 => {
                let signature = base64::engine::general_purpose::STANDARD
                    .decode(sign)
                    .ok()
                    .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok());
                signature.is_some_and(|signature| match sign_type {
                    SignType::Rsa => partner
                        .rsa_verifier
                        .verify(content.as_bytes(), &signature)
                        .is_ok(),
                    _ => partner
                        .rsa2_verifier
                        .verify(content.as_bytes(), &signature)
                        .is_ok(),
                })
            }
        };
        if valid {
            Ok(partner)
        } else {
            Err("ILLEGAL_SIGN")
        }
    }

    /// Signs `params` as Alipay: MD5 with the partner's key, RSA/RSA2 with Alipay's own key.
    fn sign(
        &self,
        partner: &str,
        sign_type: SignType,
        params: &BTreeMap<String, String>,
    ) -> String {
        let content = signing_content(params);
        match sign_type {
            SignType::Md5 => {
                let key = self
                    .partners
                    .get(partner)
                    .map_or("", |keys| keys.md5_key.as_str());
                hex::encode(Md5::digest(format!("{content}{key}")))
            }
            SignType::Rsa => base64::engine::general_purpose::STANDARD
                .encode(self.rsa_signer.sign(content.as_bytes()).to_bytes()),
            SignType::Rsa2 => base64::engine::general_purpose::STANDARD
                .encode(self.rsa2_signer.sign(content.as_bytes()).to_bytes()),
        }
    }
}

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/gateway.do", any(gateway))
        .route("/sandbox/pay", post(cashier::pay))
        .with_state(world)
}

fn xml_error(code: &str) -> Response {
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><alipay><is_success>F</is_success><error>{code}</error></alipay>"
    ))
}

fn xml(body: String) -> Response {
    ([("content-type", "text/xml; charset=utf-8")], body).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn gateway(
    State(world): State<Arc<World>>,
    method: Method,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    // GET carries the parameters in the query, a form POST in the body.
    let raw = if method == Method::POST && !body.is_empty() {
        body
    } else {
        query.unwrap_or_default()
    };
    world.journal.record(
        "alipay",
        Direction::Received,
        format!("{method} /gateway.do"),
        0,
        raw.clone(),
    );
    if let Some(fault) = world.gate("alipay.gateway", Duration::ZERO).await {
        return match fault {
            InjectedError::Busy => xml_error("SYSTEM_EXCEPTION"),
            InjectedError::ServerError => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "server error",
            )
                .into_response(),
        };
    }
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(&raw) else {
        return xml_error("ILLEGAL_ARGUMENT");
    };
    let params: BTreeMap<String, String> = pairs.into_iter().collect();
    match params.get("service").map(String::as_str) {
        // notify_verify is not signed: it asks about a notification id.
        Some("notify_verify") => notify::notify_verify(&world, &params),
        Some(
            service @ ("create_forex_trade"
            | "create_forex_trade_wap"
            | "single_trade_query"
            | "forex_refund"
            | "forex_rate_file"),
        ) => {
            if let Err(code) = world.alipay.verify(&params) {
                return xml_error(code);
            }
            match service {
                "single_trade_query" => trades::single_trade_query(&world, &params),
                "forex_refund" => trades::forex_refund(&world, &params),
                "forex_rate_file" => trades::forex_rate_file(&world),
                _ => create_forex_trade(&world, &params),
            }
        }
        _ => xml_error("ILLEGAL_SERVICE"),
    }
}

fn create_forex_trade(world: &World, params: &BTreeMap<String, String>) -> Response {
    let get = |key: &str| params.get(key).map(String::as_str).unwrap_or_default();
    let Some(amount) = valid_order_amount(params) else {
        return xml_error("ILLEGAL_ARGUMENT");
    };
    let currency = get("currency");
    let rate = lock(&world.fx).rate(currency, "CNY");
    let Some(rate) = rate else {
        return xml_error("ILLEGAL_CURRENCY");
    };
    let (total_fee_minor, cny_fen) = if get("total_fee").is_empty() {
        (0, amount)
    } else {
        (amount, rate.convert(amount))
    };
    let candidate = Trade {
        partner: get("partner").to_string(),
        out_trade_no: get("out_trade_no").to_string(),
        trade_no: None,
        trade_status: "WAIT_BUYER_PAY".into(),
        currency: currency.to_string(),
        total_fee_minor,
        charged_cny_fen: cny_fen,
        refunded_minor: 0,
        buyer: None,
        notify_url: get("notify_url").to_string(),
        sign_type: SignType::parse(get("sign_type")).unwrap_or(SignType::Md5),
        request: business_params(params),
    };
    match open_trade(world, candidate) {
        Ok(trade) => cashier::page(world, &trade, None),
        Err(code) => xml_error(code),
    }
}

/// The order's amount, minor units of whichever of `total_fee` (in
/// `currency`) and `rmb_fee` (in CNY) it gives, if the order is well formed:
/// exactly one of the two, and every mandatory field sound.
fn valid_order_amount(params: &BTreeMap<String, String>) -> Option<i64> {
    let get = |key: &str| params.get(key).map(String::as_str).unwrap_or_default();
    let out_trade_no = get("out_trade_no");
    let currency = get("currency");
    let valid_currency = currency.len() == 3
        && currency.chars().all(|c| c.is_ascii_uppercase())
        && currency != "CNY";
    let notify_url_ok = reqwest::Url::parse(get("notify_url"))
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
    let (total_fee, rmb_fee) = (get("total_fee"), get("rmb_fee"));
    // Exactly one of total_fee (in currency) and rmb_fee (in CNY).
    let amount = match (total_fee.is_empty(), rmb_fee.is_empty()) {
        (false, true) => parse_minor(total_fee),
        (true, false) => parse_minor(rmb_fee),
        _ => None,
    };
    let amount_ok = amount.is_some_and(|minor| (1..=100_000_000).contains(&minor));
    let valid = !out_trade_no.is_empty()
        && out_trade_no.len() <= 64
        && !get("subject").is_empty()
        && valid_currency
        && notify_url_ok
        && amount_ok;
    amount.filter(|_| valid)
}

/// The request as the trade remembers it: every parameter but the signature,
/// so the same order signed another way is still the same order.
fn business_params(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    params
        .iter()
        .filter(|(key, _)| !["sign", "sign_type"].contains(&key.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Books `candidate` as a new trade, or gives the trade its `out_trade_no`
/// already names if the order is the same one.
fn open_trade(world: &World, candidate: Trade) -> Result<Trade, &'static str> {
    let mut state = lock(&world.alipay.state);
    let existing = state.trades.iter().find(|trade| {
        trade.partner == candidate.partner && trade.out_trade_no == candidate.out_trade_no
    });
    match existing {
        // The same order again (a payer reopening the cashier) is the same
        // trade, which the cashier shows paid if it is; anything else under a
        // used out_trade_no is refused.
        Some(existing) if existing.request != candidate.request => Err("DUPLICATE_OUT_TRADE_NO"),
        Some(existing) => Ok(existing.clone()),
        None => {
            state.trades.push(candidate.clone());
            Ok(candidate)
        }
    }
}
