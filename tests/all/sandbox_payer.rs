//! The payer's side: the cashier page a payment URL opens, paid as a browser
//! pays it (read the form from the HTML, post its fields), and
//! `corridor sandbox pay`, which does the same from the command line.

use std::collections::BTreeMap;

use clap::Parser;
use corridor_host::api::view::TransferView;
use corridor_host::cli::{Cli, run};
use corridor_host::engine::model::TransferState;
use corridor_tests::{BUYER, Corridor, PARTNER, RECIPIENT, Setup};
use reqwest::Url;
use scraper::{Html, Selector};

fn select<'a>(document: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = Selector::parse(css).expect("a valid selector");
    document.select(&selector).collect()
}

fn text(document: &Html, css: &str) -> String {
    select(document, css)
        .first()
        .map(|element| element.text().collect::<String>().trim().to_string())
        .unwrap_or_default()
}

/// What a browser does with a form: its action resolved against the page,
/// and every named input with its value.
fn form(document: &Html, page: &Url) -> (Url, BTreeMap<String, (String, String)>) {
    let forms = select(document, "form");
    assert_eq!(forms.len(), 1, "one form on the cashier page");
    let form = forms[0].value();
    assert_eq!(
        form.attr("method").map(str::to_lowercase).as_deref(),
        Some("post")
    );
    let action = page
        .join(form.attr("action").expect("an action"))
        .expect("a URL");
    let fields = select(document, "form input[name]")
        .into_iter()
        .map(|input| {
            let input = input.value();
            (
                input.attr("name").unwrap_or_default().to_string(),
                (
                    input.attr("type").unwrap_or("text").to_string(),
                    input.attr("value").unwrap_or_default().to_string(),
                ),
            )
        })
        .collect();
    (action, fields)
}

async fn open(browser: &reqwest::Client, url: &str) -> (Url, Html) {
    let response = browser.get(url).send().await.expect("the page answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let url = response.url().clone();
    (
        url,
        Html::parse_document(&response.text().await.expect("text")),
    )
}

async fn submit(
    browser: &reqwest::Client,
    action: Url,
    fields: &BTreeMap<String, (String, String)>,
) -> Html {
    let body: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, (_, value))| (name.as_str(), value.as_str()))
        .collect();
    let response = browser
        .post(action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(body).expect("form"))
        .send()
        .await
        .expect("the wallet answers");
    Html::parse_document(&response.text().await.expect("text"))
}

fn payment_url(transfer: &TransferView) -> String {
    transfer.pay_in.payment_url.clone().expect("a payment URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cashier_page_is_a_form_a_browser_submits_and_it_pays_the_trade() {
    let corridor = Corridor::start(Setup::default()).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    let browser = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let (page, cashier) = open(&browser, &payment_url(&transfer)).await;
    assert_eq!(text(&cashier, "#amount"), "10.00 USD");
    assert_eq!(text(&cashier, "#cny"), "65.94 CNY", "US$10 at 6.5943");
    assert!(text(&cashier, "#merchant").contains(PARTNER));
    assert_eq!(text(&cashier, "#out-trade-no"), transfer.pay_in.reference);
    let hint = text(&cashier, "#hint");
    assert!(hint.contains(BUYER) && hint.contains("111111"), "{hint}");

    let (action, mut fields) = form(&cashier, &page);
    assert_eq!(fields["login"].0, "text");
    assert_eq!(fields["pay_password"].0, "password");
    fields.insert("login".into(), ("text".into(), BUYER.into()));
    fields.insert("pay_password".into(), ("password".into(), "000000".into()));
    let refused = submit(&browser, action.clone(), &fields).await;
    assert_eq!(text(&refused, "#error"), "wrong payment password");
    let (again, fields_again) = form(&refused, &page);
    assert_eq!(
        (again, fields_again.keys().collect::<Vec<_>>()),
        (action.clone(), fields.keys().collect::<Vec<_>>()),
        "the cashier again, to try once more"
    );

    let before = corridor.buyer_balance();
    fields.insert("pay_password".into(), ("password".into(), "111111".into()));
    let receipt = submit(&browser, action, &fields).await;
    assert_eq!(text(&receipt, "#result-status"), "9000");
    let trade_no = text(&receipt, "#trade-no");
    assert!(!trade_no.is_empty(), "the receipt names the trade");
    assert_eq!(before - corridor.buyer_balance(), 6594);

    let paid = corridor
        .wait_for(&transfer.id, "the notification", |transfer| {
            transfer.pay_in.provider_transaction_id.as_deref() == Some(trade_no.as_str())
        })
        .await;
    assert_ne!(paid.state, TransferState::AwaitingPayIn);
    // The sandbox journals a notification once the host has answered it, a
    // moment after the host recorded what it said.
    let notified = || {
        corridor
            .sandbox
            .journal(Some("alipay"))
            .iter()
            .any(|entry| entry.target.contains("/callbacks/") && entry.body.contains(&trade_no))
    };
    for _ in 0..250 {
        if notified() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(notified(), "Alipay sent the notification to the host");
}

fn cli(arguments: &[&str]) -> Cli {
    Cli::parse_from(std::iter::once("corridor").chain(arguments.iter().copied()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corridor_sandbox_pay_pays_by_transfer_id_or_out_trade_no_and_refuses_in_one_line() {
    let corridor = Corridor::start(Setup::default()).await;
    let by_id = corridor.send("10.00", RECIPIENT).await;
    let by_reference = corridor.send("12.00", RECIPIENT).await;
    let host = corridor.url.as_str();

    let wrong = run(cli(&[
        "sandbox",
        "pay",
        &by_id.id,
        "--host",
        host,
        "--password",
        "000000",
    ]))
    .await
    .expect_err("a wrong password does not pay");
    let message = format!("{wrong:#}");
    assert_eq!(
        message, "the wallet refused the payment: wrong payment password",
        "one line that says why"
    );

    run(cli(&["sandbox", "pay", &by_id.id, "--host", host]))
        .await
        .expect("paid by transfer id, as the default sandbox buyer");
    let out_trade_no = by_reference.pay_in.reference.as_str();
    run(cli(&["sandbox", "pay", out_trade_no, "--host", host]))
        .await
        .expect("paid by out_trade_no");
    for transfer in [&by_id, &by_reference] {
        corridor
            .wait_for(&transfer.id, "paid in", |seen| {
                seen.pay_in.provider_transaction_id.is_some()
            })
            .await;
    }

    let twice = run(cli(&["sandbox", "pay", &payment_url(&by_id)]))
        .await
        .expect_err("a paid order is not paid twice");
    assert_eq!(
        format!("{twice:#}"),
        "the wallet refused the payment: the trade is not awaiting payment"
    );
    let unknown = run(cli(&["sandbox", "pay", "COR-unknown", "--host", host]))
        .await
        .expect_err("no such transfer");
    assert!(
        format!("{unknown:#}").contains("COR-unknown") && !format!("{unknown:#}").contains('\n'),
        "{unknown:#}"
    );
    let paid: Vec<_> = corridor
        .sandbox
        .alipay_trades()
        .into_iter()
        .filter(|trade| trade.trade_status == "TRADE_FINISHED")
        .collect();
    assert_eq!(paid.len(), 2, "each order paid once");
}

#[test]
fn corridor_sandbox_alone_still_runs_the_simulators_with_its_options() {
    let parsed = Cli::try_parse_from([
        "corridor",
        "sandbox",
        "--port-base",
        "18080",
        "--profile",
        "zero",
    ])
    .expect("the old invocation parses");
    let corridor_host::cli::Command::Sandbox(args) = parsed.command else {
        panic!("not the sandbox command");
    };
    assert!(args.command.is_none(), "no subcommand: run the simulators");
    assert_eq!(
        (args.port_base, args.profile.as_deref()),
        (Some(18080), Some("zero"))
    );
    let pay = Cli::try_parse_from(["corridor", "sandbox", "pay", "tr_1"]).expect("pay parses");
    let corridor_host::cli::Command::Sandbox(corridor_host::cli::SandboxArgs {
        command: Some(corridor_host::cli::SandboxCommand::Pay(args)),
        ..
    }) = pay.command
    else {
        panic!("not sandbox pay");
    };
    assert_eq!(
        (
            args.target.as_str(),
            args.login.as_str(),
            args.password.as_str()
        ),
        ("tr_1", BUYER, "111111"),
        "the sandbox buyer by default"
    );
}

async fn quote_window_ms(setup: Setup) -> u64 {
    let corridor = Corridor::start(setup).await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .unwrap_or_else(|error| panic!("a quote: {error:?}"));
    quote.expires_at_ms - quote.created_at_ms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rates_validity_setting_reaches_the_payers_window() {
    let default = quote_window_ms(Setup::default()).await;
    assert!(
        (290_000..=300_000).contains(&default),
        "600 s rates leave the policy's 300 s quote whole: {default} ms"
    );
    let mut setup = Setup::default();
    setup.sandbox.fx.validity_s = 120;
    let short = quote_window_ms(setup).await;
    assert!(
        (110_000..=120_000).contains(&short),
        "120 s rates cap the quote: {short} ms"
    );
}
