//! `[mpesa.c2b]`: the broker's SP credentials, the Paybill organisations and
//! their accounts (seed 002: working, utility, charges paid), the customers
//! who pay, and the broker's timings.

use serde::{Deserialize, Serialize};

/// A Paybill organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paybill {
    /// The shortcode customers pay.
    pub shortcode: String,
    /// The organisation's name, as statements show it.
    pub name: String,
    /// Opening working (MMF) account balance, "0.00": outgoing cash.
    pub working_balance: String,
    /// Opening utility account balance: incoming cash lands here.
    pub utility_balance: String,
    /// Opening charges-paid account balance: the running total of charges.
    pub charges_paid_balance: String,
}

/// A customer who pays Paybills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payer {
    /// 12 digits, 2547… or 2541….
    pub msisdn: String,
    /// First, middle and last name, as KYC sends them.
    pub first_name: String,
    /// May be empty.
    pub middle_name: String,
    /// May be empty.
    pub last_name: String,
    /// The KES balance, "50000.00".
    pub balance: String,
}

/// The C2B broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct C2bConfig {
    /// `spId` the broker allocated to the organisation (SOAP form).
    pub sp_id: String,
    /// The SP password: `spPassword` signs RegisterURL and the notifications.
    pub sp_password: String,
    /// `serviceId`.
    pub service_id: String,
    /// The Paybill organisations; a payment to another shortcode is refused.
    pub paybills: Vec<Paybill>,
    /// The paying customers (added to the M-PESA customers' balances).
    pub payers: Vec<Payer>,
    /// Numbers that pay without a balance check, as Daraja's public sandbox
    /// test number does; their balance goes below zero. Every other payer
    /// needs the funds, or the payment fails before validation.
    pub unlimited_msisdns: Vec<String>,
    /// How long the broker waits for a validation answer before applying the
    /// registered `ResponseType` (Daraja: about 8 s).
    pub validation_timeout_ms: u64,
    /// Confirmation deliveries before the broker gives up.
    pub confirmation_attempts: u32,
    /// Wait before the second delivery; it doubles each time.
    pub confirmation_backoff_ms: u64,
    /// The SOAP element for the transaction type: `TransactionType` (seed
    /// 003's samples) or `TransType` (its WSDL).
    pub soap_trans_type_element: String,
}

impl Default for C2bConfig {
    fn default() -> Self {
        C2bConfig {
            sp_id: "107031".into(),
            sp_password: "corridor-sandbox-sp-password".into(),
            service_id: "107031000".into(),
            paybills: vec![Paybill {
                shortcode: "600984".into(),
                name: "Corridor Paybill".into(),
                working_balance: "0.00".into(),
                utility_balance: "0.00".into(),
                charges_paid_balance: "0.00".into(),
            }],
            payers: vec![
                Payer {
                    msisdn: "254722703614".into(),
                    first_name: "Hoiyor".into(),
                    middle_name: "G".into(),
                    last_name: "Chen".into(),
                    balance: "50000.00".into(),
                },
                Payer {
                    msisdn: "254711000001".into(),
                    first_name: "Amina".into(),
                    middle_name: String::new(),
                    last_name: "Otieno".into(),
                    balance: "10.00".into(),
                },
            ],
            unlimited_msisdns: vec!["254708374149".into()],
            validation_timeout_ms: 8000,
            confirmation_attempts: 5,
            confirmation_backoff_ms: 1000,
            soap_trans_type_element: "TransactionType".into(),
        }
    }
}

impl Payer {
    /// The names joined, as statements show them.
    pub fn name(&self) -> String {
        [&self.first_name, &self.middle_name, &self.last_name]
            .into_iter()
            .filter(|name| !name.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }
}
