//! The command line and policy files on disk.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use corridor_host::api::view::TransferView;
use corridor_host::cli::{Cli, run};
use corridor_host::client::ClientError;
use corridor_host::commands::send::send;
use corridor_host::{Clock, LoadError, ManualClock, Policy, SystemClock};
use corridor_tests::{Corridor, Setup, plugin_wasm, root, testbed_wasm};

fn cli(arguments: &[&str]) -> Cli {
    Cli::parse_from(std::iter::once("corridor").chain(arguments.iter().copied()))
}

#[tokio::test]
async fn the_plugin_loads_under_its_policy_and_describes_itself() {
    let data = tempfile::tempdir().expect("temp dir");
    let policy = Policy::load(&root().join("policies/alipay-mpesa.toml"))
        .expect("the shipped policy is valid");
    let runtime = corridor_host::cli::open_runtime(data.path()).expect("runtime");
    let connector = runtime.load(&plugin_wasm(), policy).await.expect("loads");
    let descriptor = connector.descriptor();
    assert_eq!(descriptor.id, "alipay-mpesa");
    assert_eq!(descriptor.rails, ["alipay", "mpesa"]);
}

#[tokio::test]
async fn describe_and_invoke_run_from_the_command_line() {
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = data.path().to_str().expect("utf-8 path");
    let policies = root().join("policies");
    let policies = policies.to_str().expect("utf-8 path");
    let wasm = plugin_wasm();
    let wasm = wasm.to_str().expect("utf-8 path");
    run(cli(&[
        "--data-dir",
        data_dir,
        "--policy-dir",
        policies,
        "describe",
        wasm,
    ]))
    .await
    .expect("describe");
    run(cli(&[
        "--data-dir",
        data_dir,
        "--policy-dir",
        policies,
        "invoke",
        wasm,
        "describe",
    ]))
    .await
    .expect("invoke");
}

#[tokio::test]
async fn a_connector_without_a_policy_does_not_load() {
    let data = tempfile::tempdir().expect("temp dir");
    let empty = tempfile::tempdir().expect("temp dir");
    let arguments = [
        "--data-dir",
        data.path().to_str().expect("utf-8"),
        "--policy-dir",
        empty.path().to_str().expect("utf-8"),
        "describe",
        plugin_wasm().to_str().expect("utf-8"),
    ]
    .map(str::to_string);
    let error = run(Cli::parse_from(
        std::iter::once("corridor".to_string()).chain(arguments),
    ))
    .await
    .expect_err("no policy");
    let error = error.downcast::<LoadError>().expect("a load error");
    assert!(matches!(error, LoadError::NoPolicy { .. }), "{error}");
    assert!(
        !data.path().join("corridor.db").exists(),
        "nothing was created for a refused load"
    );
}

#[tokio::test]
async fn invoking_an_unknown_export_is_a_clear_error() {
    let error = run(cli(&["invoke", "x.wasm", "pay-everyone"]))
        .await
        .expect_err("unknown export");
    assert!(
        error
            .to_string()
            .contains("\"pay-everyone\" is not an export"),
        "{error}"
    );
}

#[tokio::test]
async fn input_that_is_not_json_is_a_clear_error() {
    let error = run(cli(&["invoke", "x.wasm", "quote", "--input", "{not json"]))
        .await
        .expect_err("bad input");
    assert!(
        error.to_string().contains("--input is not valid JSON"),
        "{error}"
    );
}

#[test]
fn a_policy_file_with_a_typo_fails_with_the_file_and_key() {
    let folder = tempfile::tempdir().expect("temp dir");
    let file = folder.path().join("alipay-mpesa.toml");
    std::fs::write(
        &file,
        "id = \"alipay-mpesa\"\n[http]\nalow = [\"http://127.0.0.1:1\"]\n",
    )
    .expect("write");
    let error = Policy::load(&file).expect_err("typo");
    let message = error.to_string();
    assert!(
        message.contains("alipay-mpesa.toml: http.alow: unknown field `alow`"),
        "{message}"
    );
}

#[test]
fn a_policy_file_with_a_malformed_host_pattern_names_it() {
    let folder = tempfile::tempdir().expect("temp dir");
    let file = folder.path().join("alipay-mpesa.toml");
    std::fs::write(
        &file,
        "id = \"alipay-mpesa\"\n[http]\nallow = [\"https://sandbox.*.co.ke\"]\n",
    )
    .expect("write");
    let error = Policy::load(&file).expect_err("bad pattern");
    assert_eq!(error.key, "http.allow[0]");
    assert!(error.to_string().contains("sandbox.*.co.ke"), "{error}");
    assert!(Path::new(&error.file).ends_with("alipay-mpesa.toml"));
}

#[tokio::test]
async fn send_refuses_bad_amounts_numbers_and_currencies_before_calling_anyone() {
    for (arguments, expected) in [
        (
            ["send", "--to", "254708374149", "--amount", "ten"],
            "is not a positive amount",
        ),
        (
            ["send", "--to", "254708374149", "--amount", "0"],
            "is not a positive amount",
        ),
        (
            ["send", "--to", "254708374149", "--amount", "1.234"],
            "at most 2 decimals",
        ),
        (
            // What a recipient is, the connector says (through the host);
            // only text no recipient can be is refused here.
            ["send", "--to", "0708\n374149", "--amount", "10.00"],
            "1 to 64 printable characters",
        ),
    ] {
        // The host URL is unreachable: the refusal must come first.
        let mut all = vec!["corridor"];
        all.extend(arguments);
        all.extend(["--host", "http://127.0.0.1:1"]);
        let error = run(Cli::parse_from(all)).await.expect_err("refused");
        assert!(
            error.to_string().contains(expected),
            "{arguments:?}: {error}"
        );
    }
    let error = run(cli(&[
        "send",
        "--to",
        "254708374149",
        "--amount",
        "10",
        "--currency",
        "usd",
        "--host",
        "http://127.0.0.1:1",
    ]))
    .await
    .expect_err("refused");
    assert!(
        error.to_string().contains("not an ISO 4217 code"),
        "{error}"
    );
    let error = run(cli(&[
        "send",
        "--to",
        "254708374149",
        "--amount",
        "10",
        "--receive-currency",
        "kes",
        "--host",
        "http://127.0.0.1:1",
    ]))
    .await
    .expect_err("refused");
    assert!(
        error.to_string().contains("--receive-currency")
            && error.to_string().contains("not an ISO 4217 code"),
        "{error}"
    );
}

#[test]
fn demo_options_out_of_range_are_refused_by_the_parser() {
    for arguments in [
        ["demo", "--transfers", "0"],
        ["demo", "--concurrency", "0"],
        ["demo", "--profile", "fast"],
        ["demo", "--corridor", "nowhere"],
        ["demo", "--pay-in", "sms"],
        ["demo", "--pay-out", "daraja-v2"],
    ] {
        let parsed = Cli::try_parse_from(std::iter::once("corridor").chain(arguments));
        assert!(parsed.is_err(), "{arguments:?}");
    }
}

#[tokio::test]
async fn serve_refuses_to_listen_beyond_loopback() {
    let data = tempfile::tempdir().expect("temp dir");
    let policies = root().join("policies");
    let error = run(cli(&[
        "--data-dir",
        data.path().to_str().expect("utf-8"),
        "--policy-dir",
        policies.to_str().expect("utf-8"),
        "serve",
        "--bind",
        "0.0.0.0:0",
        "--component",
        plugin_wasm().to_str().expect("utf-8"),
    ]))
    .await
    .expect_err("refused");
    assert!(error.to_string().contains("loopback only"), "{error}");
}

#[test]
fn a_setting_read_from_a_file_that_is_missing_names_the_key() {
    let folder = tempfile::tempdir().expect("temp dir");
    let file = folder.path().join("alipay-mpesa.toml");
    std::fs::write(
        &file,
        "id = \"alipay-mpesa\"\n[config]\nmpesa_certificate = { file = \"nowhere.cer\" }\n",
    )
    .expect("write");
    let error = Policy::load(&file).expect_err("missing file");
    assert_eq!(error.key, "config.mpesa_certificate");
    assert!(error.to_string().contains("nowhere.cer"), "{error}");
    std::fs::write(folder.path().join("here.cer"), "CERT").expect("write");
    std::fs::write(
        &file,
        "id = \"alipay-mpesa\"\n[config]\nmpesa_certificate = { file = \"here.cer\" }\n",
    )
    .expect("write");
    let policy = Policy::load(&file).expect("a file setting");
    assert_eq!(policy.config["mpesa_certificate"].expose(), "CERT");
}

#[test]
fn the_shipped_policy_grants_every_setting_the_connector_reads() {
    let policy = Policy::load(&root().join("policies/alipay-mpesa.toml")).expect("valid");
    for key in [
        "alipay_gateway_url",
        "alipay_partner",
        "alipay_sign_type",
        "alipay_md5_key",
        "alipay_merchant_private_key",
        "alipay_public_key",
        "mpesa_base_url",
        "mpesa_consumer_key",
        "mpesa_consumer_secret",
        "mpesa_shortcode",
        "mpesa_initiator_name",
        "mpesa_initiator_password",
        "mpesa_certificate",
        "fx_rates_url",
    ] {
        assert!(policy.config.contains_key(key), "{key}");
    }
    assert!(matches!(
        policy.config["mpesa_initiator_password"],
        corridor_host::policy::ConfigValue::Secret(_)
    ));
    assert!(
        format!("{policy:?}").contains("Secret(***)")
            && !format!("{policy:?}").contains("Safaricom999")
    );
}

#[tokio::test]
async fn serve_refuses_a_ledger_or_public_url_that_is_not_an_http_url() {
    let data = tempfile::tempdir().expect("temp dir");
    let policies = root().join("policies");
    for (flag, value, expected) in [
        ("--ledger-url", "ledger.local:18082", "ledger_url"),
        ("--ledger-url", "ftp://127.0.0.1:1", "ledger_url"),
        ("--public-url", "not a url", "public_url"),
    ] {
        let error = run(cli(&[
            "--data-dir",
            data.path().to_str().expect("utf-8"),
            "--policy-dir",
            policies.to_str().expect("utf-8"),
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--component",
            plugin_wasm().to_str().expect("utf-8"),
            flag,
            value,
        ]))
        .await
        .expect_err("refused");
        assert!(
            error.to_string().contains(expected),
            "{flag} {value}: {error}"
        );
    }
}

fn send_arguments(host: &str, key: &str) -> corridor_host::commands::send::SendArgs {
    corridor_host::commands::send::SendArgs {
        to: "0708374149".into(),
        amount: "10.00".into(),
        currency: "USD".into(),
        receive_currency: None,
        host: host.into(),
        idempotency_key: Some(key.into()),
        json: false,
    }
}

async fn transfers_on(corridor: &Corridor) -> Vec<serde_json::Value> {
    let listing: serde_json::Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{}/v1/transfers?limit=100", corridor.url))
        .send()
        .await
        .expect("the host answers")
        .json()
        .await
        .expect("json");
    listing["transfers"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn sending_twice_with_one_idempotency_key_makes_one_transfer() {
    let corridor = Corridor::start(Setup::default()).await;
    for _ in 0..2 {
        run(cli(&[
            "send",
            "--to",
            "0708374149",
            "--amount",
            "10.00",
            "--host",
            &corridor.url,
            "--idempotency-key",
            "order-42",
        ]))
        .await
        .expect("send");
    }
    let transfers = transfers_on(&corridor).await;
    assert_eq!(transfers.len(), 1, "{transfers:#?}");
    let again = send(&send_arguments(&corridor.url, "order-42"), "order-42")
        .await
        .expect("a third send");
    assert_eq!(Some(again.id.as_str()), transfers[0]["id"].as_str());
    let other = send(&send_arguments(&corridor.url, "order-43"), "order-43")
        .await
        .expect("another key");
    assert_ne!(other.id, again.id, "another key is another transfer");
}

#[tokio::test]
async fn a_send_retried_after_its_quote_lapsed_gets_the_same_transfer() {
    let clock = ManualClock::new(SystemClock.now_ms());
    let corridor = Corridor::start(Setup {
        clock: Arc::new(clock.clone()),
        ..Setup::default()
    })
    .await;
    let arguments = send_arguments(&corridor.url, "late-retry");
    let first = send(&arguments, "late-retry").await.expect("send");
    clock.advance(Duration::from_secs(24 * 60 * 60));
    let retried = send(&arguments, "late-retry").await.expect("the retry");
    assert_eq!(retried.id, first.id);
    assert_eq!(retried.quote_id, first.quote_id);
    assert_eq!(transfers_on(&corridor).await.len(), 1);
}

#[tokio::test]
async fn a_quote_key_reused_with_another_body_is_refused_and_the_same_body_replays() {
    let corridor = Corridor::start(Setup::default()).await;
    let client = &corridor.client;
    let first = client
        .quote_with_key("10.00", "USD", Some("KES"), Some("q-key"))
        .await
        .expect("a quote");
    let replay = client
        .quote_with_key("10.00", "USD", Some("KES"), Some("q-key"))
        .await
        .expect("the same quote");
    assert_eq!(replay.id, first.id);
    assert_eq!(replay.receive, first.receive);
    let error = client
        .quote_with_key("11.00", "USD", Some("KES"), Some("q-key"))
        .await
        .expect_err("another body");
    assert!(
        matches!(&error, ClientError::Refused { status: 409, code, .. } if code == "idempotency-key-reused"),
        "{error}"
    );
    let unkeyed = client.quote("10.00", "USD", "KES").await.expect("a quote");
    assert_ne!(unkeyed.id, first.id, "no key, a new quote");
}

#[tokio::test]
async fn send_json_prints_the_full_record_and_the_summary_masks_the_recipient() {
    use corridor_host::commands::send::render;
    let corridor = Corridor::start(Setup::default()).await;
    let transfer = send(&send_arguments(&corridor.url, "json-1"), "json-1")
        .await
        .expect("send");
    let now_ms = SystemClock.now_ms();
    let json = render(&transfer, true, now_ms).expect("json");
    let record: TransferView = serde_json::from_str(&json).expect("the full record");
    assert_eq!(record.id, transfer.id);
    assert_eq!(record.pay_out.recipient, "254708374149");
    assert_eq!(record.pay_in.payment_url, transfer.pay_in.payment_url);
    let summary = render(&transfer, false, now_ms).expect("summary");
    let url = transfer.pay_in.payment_url.clone().expect("a payment URL");
    for expected in [
        transfer.id.as_str(),
        "awaiting-pay-in",
        "*********149 receives 1000.00 KES",
        "the payer pays 10.00 USD",
        url.as_str(),
        "pay within ",
        "UTC)",
    ] {
        assert!(summary.contains(expected), "{expected:?} in {summary}");
    }
    // The signed order names the recipient for the payer; nothing else does.
    assert!(
        !summary.replace(&url, "").contains("254708374149"),
        "{summary}"
    );
}

fn testbed_policy_file(folder: &Path, behaviour: &str) -> String {
    let file = folder.join("testbed.toml");
    std::fs::write(
        &file,
        format!("id = \"testbed\"\n[config]\nbehaviour = \"{behaviour}\"\n"),
    )
    .expect("write");
    file.to_str().expect("utf-8").to_string()
}

#[tokio::test]
async fn invoke_fails_when_the_call_fails_or_answers_a_failure() {
    use corridor_host::commands::invoke::InvokeFailed;
    let data = tempfile::tempdir().expect("temp dir");
    let input = r#"{"send": {"amount_minor": 1000, "currency": "USD"}, "receive_currency": "KES"}"#;
    let wasm = testbed_wasm();
    for (behaviour, expected) in [("panic", "trap"), ("imports", "failure config")] {
        let policy = testbed_policy_file(data.path(), behaviour);
        let error = run(cli(&[
            "--data-dir",
            data.path().to_str().expect("utf-8"),
            "invoke",
            wasm.to_str().expect("utf-8"),
            "quote",
            "--input",
            input,
            "--policy",
            &policy,
        ]))
        .await
        .expect_err("a failed call is a failed command");
        let error = error.downcast::<InvokeFailed>().expect("an invoke failure");
        let message = error.to_string();
        assert!(message.contains(expected), "{behaviour}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    let policy = testbed_policy_file(data.path(), "echo");
    run(cli(&[
        "--data-dir",
        data.path().to_str().expect("utf-8"),
        "invoke",
        wasm.to_str().expect("utf-8"),
        "quote",
        "--input",
        input,
        "--policy",
        &policy,
    ]))
    .await
    .expect("a call that succeeds is a command that succeeds");
}

#[tokio::test]
async fn check_policy_lists_every_problem_of_every_file() {
    use corridor_host::commands::check_policy::check_file;
    let folder = tempfile::tempdir().expect("temp dir");
    let first = folder.path().join("first.toml");
    std::fs::write(
        &first,
        "id = \"first\"\n[limits]\ndeadline_ms = 0\nmemry_bytes = 5\n[http]\n\
         allow = [\"http://ok.example\", \"https://a.*.b\", \"ftp://x\"]\n",
    )
    .expect("write");
    let second = folder.path().join("second.toml");
    std::fs::write(
        &second,
        "id = \"second\"\n[storage]\nmax_keys = \"many\"\n[secrets]\ntoken = { env = \"CORRIDOR_TEST_UNSET_VARIABLE\" }\n",
    )
    .expect("write");
    let good = folder.path().join("good.toml");
    std::fs::write(&good, "id = \"good\"\n").expect("write");
    let report = check_file(&first);
    let keys = [
        "limits.memry_bytes",
        "limits.deadline_ms",
        "http.allow[1]",
        "http.allow[2]",
    ];
    for key in keys {
        assert!(
            report
                .problems
                .iter()
                .any(|problem| problem.contains(&format!("first.toml: {key}: "))),
            "{key} in {:#?}",
            report.problems
        );
    }
    assert_eq!(report.problems.len(), keys.len(), "{:#?}", report.problems);
    let report = check_file(&second);
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);
    assert!(check_file(&good).problems.is_empty());
    let paths = [&first, &second, &good].map(|path| path.to_str().expect("utf-8").to_string());
    let error = run(cli(&["check-policy", &paths[0], &paths[1], &paths[2]]))
        .await
        .expect_err("two files have problems");
    let error = error
        .downcast::<corridor_host::cli::PoliciesInvalid>()
        .expect("a policy report");
    assert_eq!((error.problems, error.files, error.checked), (6, 2, 3));
}

#[tokio::test]
async fn check_policy_with_a_component_names_the_settings_the_policy_lacks() {
    let folder = tempfile::tempdir().expect("temp dir");
    // Only the compile cache goes there: shared, so the component compiles once.
    let data = root().join("target/corridor-test-check-policy");
    let file = folder.path().join("alipay-mpesa.toml");
    std::fs::write(
        &file,
        "id = \"alipay-mpesa\"\n[config]\nalipay_partner = \"2088101122136241\"\n",
    )
    .expect("write");
    let policy = Policy::load(&file).expect("a valid, if incomplete, policy");
    let problems =
        corridor_host::commands::check_policy::settings_problems(&plugin_wasm(), policy, &data)
            .await;
    for missing in ["mpesa_base_url", "fx_rates_url", "mpesa_initiator_password"] {
        assert!(
            problems.iter().any(|problem| problem.contains(missing)),
            "{missing} in {problems:#?}"
        );
    }
    assert!(
        !problems
            .iter()
            .any(|problem| problem.contains("\"alipay_partner\""))
    );
    let error = run(cli(&[
        "--data-dir",
        data.to_str().expect("utf-8"),
        "check-policy",
        file.to_str().expect("utf-8"),
        "--component",
        plugin_wasm().to_str().expect("utf-8"),
    ]))
    .await
    .expect_err("settings are missing");
    assert!(
        error.to_string().contains("problem(s) in 1 of 1"),
        "{error}"
    );
    let shipped = root().join("policies/alipay-mpesa.toml");
    run(cli(&[
        "--data-dir",
        data.to_str().expect("utf-8"),
        "check-policy",
        shipped.to_str().expect("utf-8"),
        "--component",
        plugin_wasm().to_str().expect("utf-8"),
    ]))
    .await
    .expect("the shipped policy grants everything");
}

#[test]
fn log_format_json_prints_one_json_object_per_line() {
    use corridor_host::logging::{LogFormat, filter_text, subscriber};
    let parsed = Cli::try_parse_from(["corridor", "--log-format", "json", "describe", "x.wasm"])
        .expect("parses");
    assert_eq!(parsed.log_format, LogFormat::Json);
    let captured = corridor_tests::LogSink::default();
    let sink = captured.clone();
    let subscriber = subscriber(
        filter_text(&parsed.log, Some("info".into())),
        parsed.log_format,
        true,
        move || sink.clone(),
    )
    .expect("a subscriber");
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(recipient = %corridor_host::redact::account("254708374149"), "transfer created");
        tracing::warn!(attempt = 2, "retrying");
        tracing::debug!("filtered out");
    });
    let text = captured.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "transfer created");
    assert_eq!(lines[0]["fields"]["recipient"], "*********149");
    assert_eq!(lines[1]["fields"]["attempt"], 2);
    assert!(!text.contains('\u{1b}'), "no colour codes in JSON: {text}");
}

/// The benchmark runs on the shipped components and policy (a few calls: this
/// checks that it runs, not how fast).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_on_the_shipped_components_and_policy() {
    let args = corridor_host::bench::BenchArgs {
        trivial: plugin_wasm(),
        testbed: testbed_wasm(),
        iterations: 10,
        deadline_runs: 1,
    };
    corridor_host::bench::run(args, &root().join("policies"))
        .await
        .expect("the benchmark runs");
}
