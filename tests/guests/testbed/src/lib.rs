//! A test connector for the Corridor host.
//!
//! `describe` always answers at once without touching an import. `quote` does
//! what the policy's `behaviour` key says, so one component serves every runtime
//! test and the benchmark:
//!
//! | behaviour   | what `quote` does                                             |
//! |-------------|---------------------------------------------------------------|
//! | `echo`      | returns a quote built from the request, no imports            |
//! | `imports`   | uses each import once (http to `target_url`, storage, clock, config, log) |
//! | `loop`      | loops forever                                                 |
//! | `alloc`     | allocates without bound                                       |
//! | `recurse`   | recurses without bound                                        |
//! | `egress`    | calls `target_url` (outside its allow-list) and reports the error |
//! | `panic`     | panics                                                        |
//! | `increment` | adds one to the `counter` key with compare-and-swap; returns the new value |
//! | `log-secret`| logs the `secret` key's value                                 |
//! | `flood`     | prints 1 MiB to stdout                                        |
//! | `grow`      | grows its memory by 20 MiB, holds it for 500 ms, returns the MiB grown |
//! | `leak-secret`| prints the `secret` key's value to stdout and stderr, then sends to it as a URL host |
//! | `fail-secret`| fails with the `secret` key's value in its message          |
//! | `remember`  | stores the `secret` key's value under `token`                 |

#[cfg(target_arch = "wasm32")]
mod component {
    #![allow(unsafe_code)] // the generated canonical-ABI glue

    wit_bindgen::generate!({
        path: "../../../wit",
        world: "connector",
    });

    use corridor::connector::types::{
        AmountLimit, CallbackOutcome, Decimal, Descriptor, Failure, FailureKind, FxQuote,
        InboundRequest, Money, OfferAnswer, OfferReading, PayInInstruction, PayInQuery,
        PayInRequest, PayInStatus, PayOutQuery, PayOutRequest, PayOutStarted, PayOutStatus,
        PlanRefusal, QuoteRequest, RefundQuery, RefundRequest, RefundStarted, RefundStatus, Reply,
        Setting, TransferDraft, TransferPlan,
    };
    use corridor::connector::{clock, config, http, log, storage};
    use exports::connector::Guest;

    struct Testbed;

    fn failure(code: &str, message: String) -> Failure {
        Failure {
            kind: FailureKind::Failed,
            code: code.to_string(),
            message,
        }
    }

    fn quote_of(request: &QuoteRequest, value: i64) -> FxQuote {
        let money = |currency: &str| Money {
            amount_minor: value,
            currency: currency.to_string(),
        };
        FxQuote {
            send: request.send.clone(),
            pay_in: money(&request.send.currency),
            receive: money(&request.receive_currency),
            fee: money(&request.send.currency),
            rate: Decimal {
                digits: 1,
                scale: 0,
            },
            pay_in_rate: Decimal {
                digits: 1,
                scale: 0,
            },
            expires_at_ms: 0,
            rate_source: "testbed".to_string(),
        }
    }

    fn target_url() -> Result<String, Failure> {
        config::get("target_url").ok_or_else(|| failure("config", "no target_url granted".into()))
    }

    fn use_each_import() -> Result<i64, Failure> {
        let response = http::send(&http::Request {
            method: http::Method::Get,
            url: target_url()?,
            headers: vec![],
            body: vec![],
            timeout_ms: None,
        })
        .map_err(|error| failure("http", format!("{error:?}")))?;
        let stored =
            storage::get("probe").map_err(|error| failure("storage", format!("{error:?}")))?;
        let now_ms = clock::now_ms();
        log::write(
            log::Level::Debug,
            &format!("status {} at {now_ms}", response.status),
        );
        Ok(i64::from(response.status) + stored.map_or(0, |value| value.len() as i64))
    }

    fn increment() -> Result<i64, Failure> {
        loop {
            let current = storage::get("counter")
                .map_err(|error| failure("storage", format!("{error:?}")))?;
            let value = current.as_deref().map_or(0, |bytes| {
                i64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
            });
            let next = (value + 1).to_le_bytes().to_vec();
            let swapped = storage::compare_and_swap("counter", current.as_deref(), Some(&next))
                .map_err(|error| failure("storage", format!("{error:?}")))?;
            if swapped {
                return Ok(value + 1);
            }
        }
    }

    /// Holds `GROW_BYTES` of fresh memory for `HOLD_MS`, so that calls running
    /// at once hold their memory at the same time. Allocation failure aborts,
    /// as in any Rust program, which the host reports as its memory limit.
    fn grow() -> Result<i64, Failure> {
        const GROW_BYTES: usize = 20 << 20;
        const HOLD_MS: u64 = 500;
        let held = vec![1u8; GROW_BYTES];
        let until_ms = clock::now_ms() + HOLD_MS;
        while clock::now_ms() < until_ms {
            std::hint::black_box(&held);
        }
        Ok((held.len() >> 20) as i64)
    }

    fn leak_secret() -> Result<i64, Failure> {
        let secret = config::get("secret").unwrap_or_default();
        println!("the secret is {secret}");
        eprintln!("the secret is still {secret}");
        let request = http::Request {
            method: http::Method::Get,
            url: format!("http://{secret}/"),
            headers: vec![],
            body: vec![],
            timeout_ms: None,
        };
        match http::send(&request) {
            Ok(response) => Ok(i64::from(response.status)),
            Err(error) => Err(failure("http", format!("{error:?} for {secret}"))),
        }
    }

    #[allow(unconditional_recursion)]
    fn recurse(depth: u64) -> u64 {
        // black_box keeps the call from becoming a loop.
        std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
    }

    fn behave(request: &QuoteRequest) -> Result<i64, Failure> {
        let behaviour = config::get("behaviour").unwrap_or_else(|| "echo".to_string());
        match behaviour.as_str() {
            "echo" => Ok(request.send.amount_minor),
            "imports" => use_each_import(),
            "loop" => loop {
                std::hint::black_box(0);
            },
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => Ok(recurse(0) as i64),
            "egress" => {
                let request = http::Request {
                    method: http::Method::Post,
                    url: target_url()?,
                    headers: vec![],
                    body: b"exfiltrate".to_vec(),
                    timeout_ms: None,
                };
                match http::send(&request) {
                    Ok(response) => Ok(i64::from(response.status)),
                    Err(http::HttpError::Denied(message)) => Err(failure("denied", message)),
                    Err(other) => Err(failure("http", format!("{other:?}"))),
                }
            }
            "panic" => panic!("the testbed panics on purpose"),
            "increment" => increment(),
            "log-secret" => {
                let secret = config::get("secret").unwrap_or_default();
                log::write(log::Level::Info, &format!("the secret is {secret}"));
                Ok(0)
            }
            "grow" => grow(),
            "leak-secret" => leak_secret(),
            "fail-secret" => {
                let secret = config::get("secret").unwrap_or_default();
                Err(failure("leak", format!("the secret is {secret}")))
            }
            "remember" => {
                let secret = config::get("secret").unwrap_or_default();
                storage::set("token", secret.as_bytes())
                    .map_err(|error| failure("storage", format!("{error:?}")))?;
                Ok(secret.len() as i64)
            }
            "flood" => {
                let line = "x".repeat(1023);
                for _ in 0..1024 {
                    println!("{line}");
                }
                Ok(0)
            }
            other => Err(failure("behaviour", format!("unknown behaviour {other:?}"))),
        }
    }

    fn not_supported() -> Failure {
        failure(
            "not-supported",
            "the testbed implements describe and quote".into(),
        )
    }

    impl Guest for Testbed {
        fn describe() -> Descriptor {
            let usd = |amount_minor| Money {
                amount_minor,
                currency: "USD".to_string(),
            };
            Descriptor {
                id: "testbed".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                rails: vec!["test".to_string()],
                send_currencies: vec!["USD".to_string()],
                pay_in_currencies: vec!["USD".to_string()],
                pay_out_currencies: vec!["USD".to_string()],
                limits: vec![AmountLimit {
                    min: usd(1),
                    max: usd(1_000_000),
                }],
                settings: [
                    (
                        "behaviour",
                        false,
                        "what quote does: echo (default), spin, grow, …",
                    ),
                    ("target_url", false, "where the http behaviours send"),
                    ("secret", true, "a secret the leak behaviours try to reveal"),
                ]
                .into_iter()
                .map(|(name, secret, description)| Setting {
                    name: name.to_string(),
                    secret,
                    required: false,
                    description: description.to_string(),
                })
                .collect(),
                inbound_routes: vec![],
            }
        }

        fn quote(request: QuoteRequest) -> Result<FxQuote, Failure> {
            behave(&request).map(|value| quote_of(&request, value))
        }

        /// Takes any recipient as given; the references are the id's.
        fn plan_transfer(draft: TransferDraft) -> Result<TransferPlan, PlanRefusal> {
            let id = &draft.transfer_id;
            Ok(TransferPlan {
                recipient: draft.recipient.clone(),
                payer: draft.payer.clone(),
                pay_in_reference: format!("{id}-in"),
                pay_out_reference: format!("{id}-out"),
                refund_reference: format!("{id}-refund"),
                pay_in_details: vec![],
                pay_out_details: vec![],
            })
        }

        fn begin_pay_in(_: PayInRequest) -> Result<PayInInstruction, Failure> {
            Err(not_supported())
        }

        fn handle_callback(_: InboundRequest) -> Result<CallbackOutcome, Failure> {
            Err(not_supported())
        }

        fn begin_pay_out(_: PayOutRequest) -> Result<PayOutStarted, Failure> {
            Err(not_supported())
        }

        fn query_pay_out(_: PayOutQuery) -> Result<PayOutStatus, Failure> {
            Err(not_supported())
        }

        fn query_pay_in(_: PayInQuery) -> Result<PayInStatus, Failure> {
            Err(not_supported())
        }

        fn refund_pay_in(_: RefundRequest) -> Result<RefundStarted, Failure> {
            Err(not_supported())
        }

        fn query_refund(_: RefundQuery) -> Result<RefundStatus, Failure> {
            Err(not_supported())
        }

        fn read_offer(_: InboundRequest) -> Result<OfferReading, Failure> {
            Err(not_supported())
        }

        fn answer_offer(_: OfferAnswer) -> Result<Reply, Failure> {
            Err(not_supported())
        }
    }

    export!(Testbed);
}
