//! Component-level tests: the real `.wasm` components, the real host, real
//! servers on loopback. One binary, a module per area.

mod admin;
mod api;
mod broker;
mod cache;
mod callbacks;
mod capabilities;
mod cli;
mod demo;
mod forgeries;
mod limits;
mod listeners;
mod metrics;
mod mpesa_momo;
mod new_connector;
mod recovery;
mod sandbox_alipay;
mod sandbox_faults;
mod sandbox_mpesa;
mod sandbox_payer;
mod second_corridor;
mod storage;
mod transfers;
mod versions;
mod versions_admin;

use corridor_host::wit::{Money, QuoteRequest};
use corridor_host::{Call, CallOutput, Connector, InvokeError};

/// A quote call; the testbed's behaviour runs inside it.
pub fn quote_call() -> Call {
    Call::Quote(QuoteRequest {
        send: Money {
            amount_minor: 1000,
            currency: "USD".into(),
        },
        receive_currency: "KES".into(),
    })
}

/// Calls the testbed's `quote` and returns the value its behaviour produced.
pub async fn quote_value(connector: &Connector) -> Result<Result<i64, String>, InvokeError> {
    match connector.invoke(quote_call()).await? {
        CallOutput::Quote(Ok(quote)) => Ok(Ok(quote.receive.amount_minor)),
        CallOutput::Quote(Err(failure)) => {
            Ok(Err(format!("{}: {}", failure.code, failure.message)))
        }
        other => panic!("quote returned {other:?}"),
    }
}

/// The host still serves: the same connector answers `describe` in a fresh
/// instance, and a well-behaved connector in the same runtime answers `quote`.
/// The echo connector asks for one instance, so it loads under any memory
/// budget a test sets.
pub async fn assert_host_still_serves(runtime: &corridor_host::Runtime, connector: &Connector) {
    let descriptor = connector
        .describe()
        .await
        .expect("describe after a failed call");
    assert_eq!(descriptor.id, "testbed");
    let echo = corridor_tests::testbed(runtime, "echo", "[limits]\nmax_concurrent = 1\n").await;
    assert_eq!(quote_value(&echo).await.expect("echo runs"), Ok(1000));
}
