//! The command line and policy files on disk.

use std::path::Path;

use clap::Parser;
use corridor_host::cli::{Cli, run};
use corridor_host::{LoadError, Policy};
use corridor_tests::{plugin_wasm, root};

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
            ["send", "--to", "12345", "--amount", "10.00"],
            "is not a Kenyan mobile number",
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
}

#[test]
fn demo_options_out_of_range_are_refused_by_the_parser() {
    for arguments in [
        ["demo", "--transfers", "0"],
        ["demo", "--concurrency", "0"],
        ["demo", "--profile", "fast"],
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
