//! The M-PESA Kenya → MTN MoMo Uganda corridor in the test [`Corridor`]: its
//! component and policy pointed at the sandboxes, and what its payer and
//! recipient do and have.

use std::path::PathBuf;

use corridor_host::Policy;
use corridor_host::api::view::TransferView;
use corridor_sandbox::Sandbox;

use super::{Corridor, Setup, root};

/// A Kenyan payer who approves every prompt (100 000 KES in the sandbox).
pub const PROMPT_PAYER: &str = "254722000000";
/// A Kenyan payer funded for Paybill payments (50 000 KES in the sandbox).
pub const PAYBILL_PAYER: &str = "254722703614";
/// An MTN Uganda number the MoMo sandbox pays.
pub const RECIPIENT: &str = "256772123456";
/// The sandbox's Paybill.
pub const PAYBILL: &str = "600984";

/// The component.
pub fn wasm() -> PathBuf {
    super::wasm("mpesa_momo.wasm")
}

/// The shipped policy, pointed at `sandbox`.
pub fn policy(sandbox: &Sandbox) -> Policy {
    Policy::load(&root().join("policies/mpesa-momo.toml"))
        .expect("the shipped policy is valid")
        .with_setting("mpesa_base_url", &sandbox.mpesa_url)
        .with_setting(
            "mpesa_checkout_url",
            &format!(
                "{}{}",
                sandbox.mpesa_url,
                corridor_sandbox::mpesa::CHECKOUT_PATH
            ),
        )
        .with_setting("momo_base_url", &sandbox.momo_url)
        .with_setting("fx_rates_url", &format!("{}/v1/rates", sandbox.fx_url))
}

/// A host with only this corridor, collecting by `protocol` (`express`,
/// `checkout` or `paybill`).
pub fn setup(protocol: &str) -> Setup {
    Setup {
        connectors: vec!["mpesa-momo"],
        settings: vec![("mpesa_pay_in_protocol", protocol.to_string())],
        ..Setup::default()
    }
}

impl Corridor {
    /// Quotes `amount` KES to UGX and creates the transfer to `recipient`,
    /// paid by `payer`; the API's refusal as `(status, body)`.
    pub async fn send_kes(
        &self,
        amount: &str,
        recipient: &str,
        payer: Option<&str>,
    ) -> Result<TransferView, (u16, serde_json::Value)> {
        let quote = self.quote_of("mpesa-momo", amount, "KES", "UGX").await;
        let mut body = serde_json::json!({ "quote_id": quote, "recipient": recipient });
        if let Some(payer) = payer {
            body["payer"] = payer.into();
        }
        let response = self
            .payer
            .post(format!("{}/v1/transfers", self.url))
            .header("idempotency-key", format!("test-{quote}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the host answers");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("json");
        if status >= 300 {
            return Err((status, body));
        }
        Ok(serde_json::from_value(body).expect("a transfer"))
    }

    /// A quote from `connector` (named, as a host with several corridors
    /// needs); its id.
    pub async fn quote_of(
        &self,
        connector: &str,
        amount: &str,
        currency: &str,
        receive_currency: &str,
    ) -> String {
        let body = serde_json::json!({
            "connector": connector, "amount": amount, "currency": currency,
            "receive_currency": receive_currency,
        });
        let quote: serde_json::Value = self
            .payer
            .post(format!("{}/v1/quotes", self.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the host answers")
            .json()
            .await
            .expect("json");
        quote["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no quote: {quote}"))
            .to_string()
    }

    /// The Paybill payer pays `amount` KES ("1000.00") quoting `account`;
    /// the sandbox's outcome (`completed`, `cancelled`, …).
    pub async fn pay_paybill(&self, account: &str, amount: &str) -> serde_json::Value {
        let body = serde_json::json!({
            "msisdn": PAYBILL_PAYER, "shortcode": PAYBILL, "account": account, "amount": amount,
        });
        self.payer
            .post(format!(
                "{}/control/mpesa/c2b/pay",
                self.sandbox.control_url
            ))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the sandbox answers")
            .json()
            .await
            .expect("json")
    }

    /// The confirmation URL the connector registered with M-PESA.
    pub fn confirmation_url(&self) -> String {
        let registration = self
            .sandbox
            .journal(Some("mpesa"))
            .into_iter()
            .find(|entry| entry.target.contains("/registerurl"))
            .expect("the connector registered its C2B URLs");
        let body: serde_json::Value =
            serde_json::from_str(&registration.body).expect("a JSON registration");
        body["ConfirmationURL"]
            .as_str()
            .expect("a confirmation URL")
            .to_string()
    }

    /// Posts a Daraja v2 confirmation of `trans_id`, paying `account`
    /// `amount` ("1000.00"), as M-PESA (or a forger) would; the HTTP status.
    pub async fn post_confirmation(&self, trans_id: &str, account: &str, amount: &str) -> u16 {
        let body = serde_json::json!({
            "TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": "20260301121325",
            "TransAmount": amount, "BusinessShortCode": PAYBILL, "BillRefNumber": account,
            "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
            "MSISDN": "2547 ***** 614", "FirstName": "Hoiyor", "MiddleName": "", "LastName": "Chen",
        });
        self.payer
            .post(self.confirmation_url())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the host answers")
            .status()
            .as_u16()
    }

    /// An M-PESA customer's balance, KES cents.
    pub fn mpesa_customer(&self, msisdn: &str) -> i64 {
        self.sandbox
            .mpesa_balances()
            .customers
            .get(msisdn)
            .copied()
            .unwrap_or_default()
    }

    /// What a MoMo payee has received, UGX.
    pub fn momo_received(&self, msisdn: &str) -> i64 {
        self.sandbox
            .momo_balances()
            .payees
            .get(msisdn)
            .and_then(|currencies| currencies.get("UGX"))
            .copied()
            .unwrap_or_default()
    }

    /// MoMo transfer requests the sandbox received.
    pub fn momo_transfer_requests(&self) -> usize {
        self.sandbox
            .journal(Some("momo"))
            .iter()
            .filter(|entry| entry.target.starts_with("POST /disbursement/v1_0/transfer"))
            .count()
    }

    /// M-PESA reversal requests the sandbox received.
    pub fn reversal_requests(&self) -> usize {
        self.sandbox
            .journal(Some("mpesa"))
            .iter()
            .filter(|entry| entry.target.contains("/mpesa/reversal/v1/request"))
            .count()
    }
}
