//! The imports: HTTP under the allow-list, config under the grant, the rest.

use std::time::Duration;

use corridor_host::InvokeErrorKind;
use corridor_tests::{ok_server, runtime, testbed};

use crate::{assert_host_still_serves, quote_value};

#[tokio::test]
async fn an_off_list_http_call_is_denied_and_no_connection_is_made() {
    let runtime = runtime();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let forbidden = format!("http://{}/steal", listener.local_addr().expect("address"));
    let allowed = ok_server().await;
    let extra = format!("target_url = \"{forbidden}\"\n[http]\nallow = [\"{allowed}\"]\n");
    let connector = testbed(&runtime, "egress", &extra).await;

    let error = quote_value(&connector)
        .await
        .expect_err("the host reports the denial");
    match &error.kind {
        InvokeErrorKind::PolicyDenied(message) => {
            assert!(
                message.contains("[http] allow"),
                "the denial names the policy line: {message}"
            );
        }
        other => panic!("expected a policy denial, got {other:?}"),
    }
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(
        accepted.is_err(),
        "a connection reached the forbidden listener"
    );
    assert_host_still_serves(&runtime, &connector).await;
}

#[tokio::test]
async fn a_guest_uses_each_import_once() {
    let runtime = runtime();
    let base = ok_server().await;
    let extra = format!("target_url = \"{base}/\"\n[http]\nallow = [\"{base}\"]\n");
    let connector = testbed(&runtime, "imports", &extra).await;
    // 200 from the server, plus the length of the (absent) stored probe.
    assert_eq!(quote_value(&connector).await.expect("runs"), Ok(200));
}

#[tokio::test]
async fn a_refused_connection_reaches_the_guest_as_a_value() {
    let runtime = runtime();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let extra =
        format!("target_url = \"http://{closed}/\"\n[http]\nallow = [\"http://127.0.0.1:*\"]\n");
    let connector = testbed(&runtime, "imports", &extra).await;
    let failure = quote_value(&connector)
        .await
        .expect("no trap")
        .expect_err("the guest sees the failure");
    assert!(failure.contains("ConnectFailed"), "{failure}");
}

#[tokio::test]
async fn config_holds_only_what_the_policy_grants() {
    let runtime = runtime();
    // The egress behaviour needs target_url; without the grant, the guest sees none.
    let connector = testbed(&runtime, "egress", "").await;
    let failure = quote_value(&connector)
        .await
        .expect("no trap")
        .expect_err("no target_url");
    assert!(failure.starts_with("config:"), "{failure}");
}

#[tokio::test]
async fn a_secret_reaches_the_guest_but_not_the_log() {
    let runtime = runtime();
    let connector = runtime
        .load(
            &corridor_tests::testbed_wasm(),
            corridor_tests::policy("testbed", "[config]\nbehaviour = \"log-secret\"\n[secrets]\nsecret = { env = \"TESTBED_SECRET\" }\n"),
        )
        .await
        .expect("loads");
    assert_eq!(quote_value(&connector).await.expect("runs"), Ok(0));
    assert!(!format!("{:?}", connector.policy()).contains("hunter2"));
}

/// Everything the host logs while it is alive, as text: a tracing subscriber
/// for the current thread, which is where a test's invocations log.
struct CapturedLog {
    sink: corridor_tests::LogSink,
    _guard: tracing::subscriber::DefaultGuard,
}

impl CapturedLog {
    fn start() -> CapturedLog {
        let sink = corridor_tests::LogSink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        CapturedLog {
            sink,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        self.sink.text()
    }
}

#[tokio::test]
async fn a_secret_printed_or_used_as_a_url_host_reaches_neither_the_log_nor_the_error() {
    let log = CapturedLog::start();
    let runtime = runtime();
    let connector = runtime
        .load(
            &corridor_tests::testbed_wasm(),
            corridor_tests::policy("testbed", "[config]\nbehaviour = \"leak-secret\"\n[secrets]\nsecret = { env = \"TESTBED_SECRET\" }\n"),
        )
        .await
        .expect("loads");
    let error = quote_value(&connector)
        .await
        .expect_err("the host reports the denied destination");
    match &error.kind {
        InvokeErrorKind::PolicyDenied(message) => assert!(
            message.contains("http://[redacted]:80"),
            "the denial still names the destination, redacted: {message}"
        ),
        other => panic!("expected a policy denial, got {other:?}"),
    }
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(
            !shown.contains("hunter2"),
            "the error leaks the secret: {shown}"
        );
    }
    let logged = log.text();
    assert!(
        logged.contains("egress denied") && logged.contains("the secret is [redacted]"),
        "the denial and the guest's output were logged: {logged}"
    );
    assert!(
        logged.contains("the secret is still [redacted]"),
        "stderr was logged too: {logged}"
    );
    assert!(
        !logged.contains("hunter2"),
        "the log leaks the secret: {logged}"
    );
}

#[tokio::test]
async fn a_secret_in_a_failure_the_guest_returns_is_scrubbed() {
    let runtime = runtime();
    let connector = runtime
        .load(
            &corridor_tests::testbed_wasm(),
            corridor_tests::policy("testbed", "[config]\nbehaviour = \"fail-secret\"\n[secrets]\nsecret = { env = \"TESTBED_SECRET\" }\n"),
        )
        .await
        .expect("loads");
    let failure = quote_value(&connector)
        .await
        .expect("no trap")
        .expect_err("the guest fails");
    assert_eq!(failure, "leak: the secret is [redacted]");
}
