//! Sandbox configuration: every credential, identity, balance and latency, with
//! documented defaults. Load a TOML file to change any of them.

use std::collections::BTreeMap;
use std::time::Duration;

use corridor_serve::ServeLimits;
use serde::{Deserialize, Serialize};

use crate::faults::FaultPlan;
pub use crate::momo::config::{MomoApiUser, MomoConfig, TestNumber, TestOutcome};
pub use crate::mpesa::PromptAnswer;

/// A latency profile: which default delays the simulators use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The delays the thesis measured or emulated (ledger register 5000 ms,
    /// check 100 ms, …), so results compare with its Table 5-1.
    #[default]
    Thesis,
    /// No added delay: for throughput tests.
    Zero,
}

/// Everything the sandbox can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Seed of every random choice (fault injection, ids).
    pub seed: u64,
    /// Default latencies.
    pub profile: Profile,
    /// Address to bind every service to. Loopback only.
    pub bind: String,
    /// Fixed ports: Alipay on this one, M-PESA, ledger, FX, control and MTN
    /// MoMo on the next five. `None`: any free ports (what tests use).
    pub port_base: Option<u16>,
    /// Divides every callback retry interval (Alipay's 2 min … 15 h schedule):
    /// 1 is real time; tests use 1000 or more.
    pub time_compression: u32,
    /// The Alipay mapi gateway.
    pub alipay: AlipayConfig,
    /// M-PESA Daraja.
    pub mpesa: MpesaConfig,
    /// MTN MoMo (Open API, Disbursement).
    pub momo: MomoConfig,
    /// The Centiglobe ledger.
    pub ledger: LedgerConfig,
    /// FX rates.
    pub fx: FxConfig,
    /// Faults active from the start.
    pub faults: FaultPlan,
    /// Deadlines and the connection cap of every service's listener.
    pub listener: ListenerConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 1,
            profile: Profile::Thesis,
            bind: "127.0.0.1".into(),
            port_base: None,
            time_compression: 1,
            alipay: AlipayConfig::default(),
            mpesa: MpesaConfig::default(),
            momo: MomoConfig::default(),
            ledger: LedgerConfig::default(),
            fx: FxConfig::default(),
            faults: FaultPlan::default(),
            listener: ListenerConfig::default(),
        }
    }
}

impl SandboxConfig {
    /// Reads a TOML file; unknown keys are errors.
    pub fn load(path: &std::path::Path) -> anyhow::Result<SandboxConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        toml::from_str(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
    }

    /// A delay by profile: `thesis` under the thesis profile, none under zero.
    pub fn delay(&self, configured: Option<u64>, thesis_ms: u64) -> Duration {
        Duration::from_millis(configured.unwrap_or(match self.profile {
            Profile::Thesis => thesis_ms,
            Profile::Zero => 0,
        }))
    }
}

/// `[listener]`: what each service allows a client, as real providers'
/// front ends do; a connector that holds connections open finds out here.
/// Each service has its own cap. The defaults are [`ServeLimits`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerConfig {
    /// From the first byte of a request head to its end; default 10 000 ms.
    pub header_read_timeout_ms: u64,
    /// With no request in flight; default 60 000 ms.
    pub idle_timeout_ms: u64,
    /// From a complete head to the end of its body; default 30 000 ms.
    pub body_read_timeout_ms: u64,
    /// Connections open at once, per service; default 512.
    pub max_connections: usize,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig::from(ServeLimits::default())
    }
}

impl From<ServeLimits> for ListenerConfig {
    fn from(limits: ServeLimits) -> Self {
        let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        ListenerConfig {
            header_read_timeout_ms: millis(limits.header_read_timeout),
            idle_timeout_ms: millis(limits.idle_timeout),
            body_read_timeout_ms: millis(limits.body_read_timeout),
            max_connections: limits.max_connections,
        }
    }
}

impl From<ListenerConfig> for ServeLimits {
    fn from(config: ListenerConfig) -> Self {
        ServeLimits {
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            body_read_timeout: Duration::from_millis(config.body_read_timeout_ms),
            max_connections: config.max_connections,
        }
    }
}

/// An Alipay merchant (partner).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    /// 16 digits starting 2088.
    pub id: String,
    /// The MD5 signing key.
    pub md5_key: String,
    /// The merchant's RSA public key (PEM), for RSA and RSA2 signatures.
    pub rsa_public_key_pem: String,
}

/// An Alipay buyer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    /// The login (an e-mail address).
    pub login: String,
    /// The payment password.
    pub pay_password: String,
    /// The CNY balance, "1000000.00".
    pub cny_balance: String,
}

/// The Alipay simulator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlipayConfig {
    /// The merchants.
    pub partners: Vec<Partner>,
    /// Alipay's own RSA private key (PEM), which signs notifications and replies.
    pub alipay_private_key_pem: String,
    /// The buyers.
    pub buyers: Vec<Buyer>,
    /// Delay before the first notification; default 300 ms (thesis profile).
    pub notify_delay_ms: Option<u64>,
    /// Intervals between notification attempts until one is answered `success`
    /// (Alipay: 2 m, 10 m, 10 m, 1 h, 2 h, 6 h, 15 h), divided by `time_compression`.
    pub notify_retry_s: Vec<u64>,
}

/// The merchant public key every default partner uses.
pub const DEFAULT_MERCHANT_PUBLIC_KEY_PEM: &str = include_str!("../keys/merchant_public.pem");
/// The default Alipay private key.
pub const DEFAULT_ALIPAY_PRIVATE_KEY_PEM: &str = include_str!("../keys/alipay_private.pem");
/// The default Daraja private key.
pub const DEFAULT_MPESA_PRIVATE_KEY_PEM: &str = include_str!("../keys/mpesa_private.pem");
/// The default Daraja certificate, published for clients.
pub const DEFAULT_MPESA_CERTIFICATE_PEM: &str =
    include_str!("../keys/mpesa_sandbox_certificate.cer");

impl Default for AlipayConfig {
    fn default() -> Self {
        AlipayConfig {
            partners: vec![Partner {
                id: "2088101122136241".into(),
                md5_key: "760bdzec6y9goq7ctyx96ezkz78287de".into(),
                rsa_public_key_pem: DEFAULT_MERCHANT_PUBLIC_KEY_PEM.into(),
            }],
            alipay_private_key_pem: DEFAULT_ALIPAY_PRIVATE_KEY_PEM.into(),
            buyers: vec![Buyer {
                login: "alipaytest20091@gmail.com".into(),
                pay_password: "111111".into(),
                cny_balance: "1000000.00".into(),
            }],
            notify_delay_ms: None,
            notify_retry_s: vec![120, 600, 600, 3600, 7200, 21600, 54000],
        }
    }
}

/// An M-PESA customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// 12 digits, 2547… or 2541….
    pub msisdn: String,
    /// The registered name.
    pub name: String,
    /// Registered for M-PESA (unregistered recipients get result 2040).
    pub registered: bool,
    /// The KES balance, "0.00".
    pub balance: String,
    /// How the customer answers a payment prompt (STK push, checkout);
    /// default `pays`.
    #[serde(default)]
    pub answers: PromptAnswer,
}

/// The Daraja simulator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MpesaConfig {
    /// The app's consumer key.
    pub consumer_key: String,
    /// The app's consumer secret.
    pub consumer_secret: String,
    /// More Daraja apps, `consumer key = consumer secret`: one per corridor,
    /// as each Daraja app has its own token (a newer token of an app
    /// invalidates only that app's older one).
    pub more_apps: BTreeMap<String, String>,
    /// Token lifetime, seconds (Daraja: 3599).
    pub token_ttl_s: u64,
    /// The B2C shortcode (PartyA).
    pub shortcode: String,
    /// The API initiator's user name.
    pub initiator_name: String,
    /// The API initiator's password, which `SecurityCredential` must decrypt to.
    pub initiator_password: String,
    /// The simulator's RSA private key (PEM) for `SecurityCredential`.
    pub private_key_pem: String,
    /// The certificate published for clients (PEM).
    pub certificate_pem: String,
    /// Smallest B2C amount, whole KES.
    pub min_amount_kes: i64,
    /// Largest B2C amount, whole KES (Daraja docs: 250 000; older: 150 000).
    pub max_amount_kes: i64,
    /// The B2C charge, KES cents (the thesis saw 33 KES).
    pub b2c_charge_cents: i64,
    /// Opening B2C utility account balance, "10000000.00".
    pub utility_balance: String,
    /// Opening working account balance.
    pub working_balance: String,
    /// Opening charges-paid account balance.
    pub charges_paid_balance: String,
    /// Known customers; any other valid MSISDN is a registered customer with a
    /// zero balance.
    pub customers: Vec<Customer>,
    /// Delay before the `Result` callback; default 2500 ms (thesis profile).
    pub result_delay_ms: Option<u64>,
    /// The M-PESA Express (STK push) shortcode.
    pub stk_shortcode: String,
    /// The M-PESA Express passkey: `Password = base64(shortcode + passkey + timestamp)`.
    pub stk_passkey: String,
    /// C2B Paybill: the broker's SP credentials, the Paybills, the payers.
    pub c2b: crate::mpesa::C2bConfig,
    /// How much longer a `pays-late` customer takes; default 20 000 ms
    /// (thesis profile), none under the zero profile.
    pub late_answer_ms: Option<u64>,
    /// The Online Checkout's `MERCHANT_ID` (seed 004's sample: 898945).
    pub checkout_merchant_id: String,
    /// The Online Checkout passkey:
    /// `PASSWORD = base64(hex(sha256(MERCHANT_ID + passkey + TIMESTAMP)))`.
    pub checkout_passkey: String,
    /// The G2 SOAP broker (`/mminterface/request`), which pays from the same accounts.
    pub broker: BrokerConfig,
}

/// `[mpesa.broker]`: the G2 broker's SP credentials and checks. The shortcode,
/// initiator, limits and balances are Daraja's (`[mpesa]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// The SP id (`spId`).
    pub sp_id: String,
    /// The SP password `spPassword` hashes.
    pub sp_password: String,
    /// The service id (`serviceId`).
    pub service_id: String,
    /// The API caller's `ThirdPartyID`.
    pub third_party_id: String,
    /// Oldest `Transaction/Timestamp` processed, seconds; older is ApiResult
    /// 19, `ApiRequestMessageExpiryFailure`. Default 300.
    pub max_message_age_s: u64,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            sp_id: "151515".into(),
            sp_password: "corridor-sandbox-sp-password".into(),
            service_id: "151515000".into(),
            third_party_id: "898941".into(),
            max_message_age_s: 300,
        }
    }
}

impl Default for MpesaConfig {
    fn default() -> Self {
        MpesaConfig {
            consumer_key: "corridor-sandbox-consumer-key".into(),
            consumer_secret: "corridor-sandbox-consumer-secret".into(),
            more_apps: BTreeMap::from([(
                "corridor-sandbox-kenya-uganda-key".into(),
                "corridor-sandbox-kenya-uganda-secret".into(),
            )]),
            token_ttl_s: 3599,
            shortcode: "600992".into(),
            initiator_name: "testapi".into(),
            initiator_password: "Safaricom999!*!".into(),
            private_key_pem: DEFAULT_MPESA_PRIVATE_KEY_PEM.into(),
            certificate_pem: DEFAULT_MPESA_CERTIFICATE_PEM.into(),
            min_amount_kes: 10,
            max_amount_kes: 250_000,
            b2c_charge_cents: 3300,
            utility_balance: "10000000.00".into(),
            working_balance: "1000000.00".into(),
            charges_paid_balance: "0.00".into(),
            customers: vec![
                Customer {
                    msisdn: "254708374149".into(),
                    name: "John Doe".into(),
                    registered: true,
                    balance: "0.00".into(),
                    answers: PromptAnswer::Pays,
                },
                Customer {
                    msisdn: "254705912645".into(),
                    name: "NICHOLAS JOHN SONGOK".into(),
                    registered: true,
                    balance: "0.00".into(),
                    answers: PromptAnswer::Pays,
                },
                Customer {
                    msisdn: "254700000040".into(),
                    name: "UNREGISTERED".into(),
                    registered: false,
                    balance: "0.00".into(),
                    answers: PromptAnswer::Pays,
                },
            ]
            .into_iter()
            .chain(payers())
            .collect(),
            result_delay_ms: None,
            stk_shortcode: "174379".into(),
            stk_passkey: "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919".into(),
            c2b: crate::mpesa::C2bConfig::default(),
            late_answer_ms: None,
            checkout_merchant_id: "898945".into(),
            checkout_passkey: "corridor-sandbox-checkout-passkey".into(),
            broker: BrokerConfig::default(),
        }
    }
}

/// The payers of the pay-in tests: one per way of answering a prompt
/// (Daraja's sample payer 254722000000 pays), and one without funds.
fn payers() -> Vec<Customer> {
    [
        (
            "254722000000",
            "JANE PAYER",
            "100000.00",
            PromptAnswer::Pays,
        ),
        (
            "254700000101",
            "CANCELS",
            "100000.00",
            PromptAnswer::Cancels,
        ),
        (
            "254700000102",
            "TIMES OUT",
            "100000.00",
            PromptAnswer::TimesOut,
        ),
        (
            "254700000103",
            "WRONG PIN",
            "100000.00",
            PromptAnswer::WrongPin,
        ),
        ("254700000104", "NO FUNDS", "0.00", PromptAnswer::Pays),
        (
            "254700000105",
            "PAYS LATE",
            "100000.00",
            PromptAnswer::PaysLate,
        ),
    ]
    .into_iter()
    .map(|(msisdn, name, balance, answers)| Customer {
        msisdn: msisdn.into(),
        name: name.into(),
        registered: true,
        balance: balance.into(),
        answers,
    })
    .chain(demo_payers())
    .collect()
}

/// The demo's payers, 254722000100 to 254722000199: funded, and each pays
/// the prompts it gets. A phone takes one prompt at a time (a second push is
/// "Unable to lock subscriber"), so transfers in flight at once need payers
/// of their own.
fn demo_payers() -> impl Iterator<Item = Customer> {
    (100..200).map(|n| Customer {
        msisdn: format!("254722000{n:03}"),
        name: format!("DEMO PAYER {n}"),
        registered: true,
        balance: "10000000.00".into(),
        answers: PromptAnswer::Pays,
    })
}

/// The Centiglobe ledger.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// Latency of `register`; default 5000 ms (the thesis's emulation).
    pub register_latency_ms: Option<u64>,
    /// Latency of `check`; default 100 ms.
    pub check_latency_ms: Option<u64>,
}

/// FX rates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FxConfig {
    /// Rates as "FROM/TO" = "decimal": units of TO per unit of FROM.
    pub rates: BTreeMap<String, String>,
    /// How long a published rate is valid, seconds: `valid_until_ms` is now
    /// plus this. A connector never quotes past it, so it caps the payer's
    /// window to pay; the default (600) leaves a person following the README by
    /// hand the whole of the policy's `quote_ttl_s` (300). `valid_for_s` is
    /// its former name.
    #[serde(alias = "valid_for_s")]
    pub validity_s: u64,
}

impl Default for FxConfig {
    fn default() -> Self {
        // The thesis's day: 6.5943 CNY per USD, and its fixed factor of 100 KES
        // per USD, so the demo's balances compare with its section 5.3.
        // KES/UGX for the M-PESA → MoMo corridor: about what the market paid in 2026.
        let rates = [
            ("USD/KES", "100.00"),
            ("USD/CNY", "6.5943"),
            ("KES/UGX", "28.60"),
        ]
        .into_iter()
        .map(|(pair, rate)| (pair.to_string(), rate.to_string()))
        .collect();
        FxConfig {
            rates,
            validity_s: 600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_overrides_defaults_and_refuses_unknown_keys() {
        let folder = tempfile::tempdir().expect("temp dir");
        let good = folder.path().join("sandbox.toml");
        std::fs::write(
            &good,
            "profile = \"zero\"\nseed = 7\n[mpesa]\nb2c_charge_cents = 2240\n",
        )
        .expect("write");
        let config = SandboxConfig::load(&good).expect("valid");
        assert_eq!(
            (config.profile, config.seed, config.mpesa.b2c_charge_cents),
            (Profile::Zero, 7, 2240)
        );
        assert_eq!(
            config.mpesa.initiator_name, "testapi",
            "the rest keeps its defaults"
        );

        let bad = folder.path().join("typo.toml");
        std::fs::write(&bad, "[mpesa]\nb2c_charge = 1\n").expect("write");
        let message = SandboxConfig::load(&bad)
            .expect_err("unknown key")
            .to_string();
        assert!(
            message.contains("typo.toml") && message.contains("unknown field `b2c_charge`"),
            "{message}"
        );
    }

    #[test]
    fn the_rates_validity_setting_reaches_valid_until_ms() {
        let folder = tempfile::tempdir().expect("temp dir");
        let file = folder.path().join("sandbox.toml");
        std::fs::write(&file, "[fx]\nvalidity_s = 900\n").expect("write");
        let configured = SandboxConfig::load(&file).expect("valid");
        assert_eq!(SandboxConfig::default().fx.validity_s, 600);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let published = runtime.block_on(async {
            let sandbox = crate::Sandbox::start(configured).await.expect("starts");
            let answer = reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client")
                .get(format!("{}/v1/rates?base=USD", sandbox.fx_url))
                .send()
                .await
                .expect("rates")
                .text()
                .await
                .expect("text");
            serde_json::from_str::<serde_json::Value>(&answer).expect("json")
        });
        let (as_of, valid_until) = (
            published["as_of_ms"].as_u64().expect("as_of_ms"),
            published["valid_until_ms"]
                .as_u64()
                .expect("valid_until_ms"),
        );
        assert_eq!(valid_until - as_of, 900_000, "{published}");

        std::fs::write(&file, "[fx]\nvalid_for_s = 120\n").expect("write");
        let former_name = SandboxConfig::load(&file).expect("the former name still reads");
        assert_eq!(former_name.fx.validity_s, 120);
        let none = SandboxConfig {
            fx: FxConfig {
                validity_s: 0,
                ..FxConfig::default()
            },
            ..SandboxConfig::default()
        };
        let refused = runtime.block_on(crate::Sandbox::start(none));
        assert!(refused.is_err_and(|error| error.to_string().contains("fx.validity_s")));
    }

    #[test]
    fn the_sandbox_refuses_to_listen_beyond_loopback() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = SandboxConfig {
            bind: "0.0.0.0".into(),
            ..SandboxConfig::default()
        };
        let refused = runtime.block_on(crate::Sandbox::start(config));
        assert!(refused.is_err_and(|error| error.to_string().contains("loopback only")));
        let overflowing = SandboxConfig {
            port_base: Some(65_534),
            ..SandboxConfig::default()
        };
        let refused = runtime.block_on(crate::Sandbox::start(overflowing));
        assert!(refused.is_err_and(|error| error.to_string().contains("past 65535")));
    }
}
