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
