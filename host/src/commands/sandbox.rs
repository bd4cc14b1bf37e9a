//! `corridor sandbox` and `serve --sandbox`: the provider simulators for a
//! newcomer's first transfer, and the sandbox buyer who pays.

use std::path::Path;

use anyhow::Context;

use crate::cli::{PayArgs, ServeArgs};

/// The sandbox's default buyer: `(login, payment password)`.
pub fn default_buyer() -> (String, String) {
    corridor_sandbox::config::AlipayConfig::default()
        .buyers
        .into_iter()
        .next()
        .map(|buyer| (buyer.login, buyer.pay_password))
        .unwrap_or_default()
}

/// Starts the sandboxes for `serve --sandbox` and prints what a newcomer
/// needs to pay: where each listens, and the sandbox buyer's credentials.
pub async fn start(args: &ServeArgs) -> anyhow::Result<corridor_sandbox::Sandbox> {
    let profile = if args.profile == "thesis" {
        corridor_sandbox::Profile::Thesis
    } else {
        corridor_sandbox::Profile::Zero
    };
    let config = corridor_sandbox::SandboxConfig {
        profile,
        port_base: args.port_base,
        ..corridor_sandbox::SandboxConfig::default()
    };
    let buyer = config.alipay.buyers.first().cloned();
    let sandbox = corridor_sandbox::Sandbox::start(config).await?;
    print!("corridor sandbox:\n{}", sandbox.describe());
    if let Some(buyer) = buyer {
        println!(
            "the sandbox payer: login {} payment password {} (POST {}/sandbox/pay)",
            buyer.login, buyer.pay_password, sandbox.alipay_url
        );
    }
    Ok(sandbox)
}

/// `policy` with every provider URL a shipped connector reads pointed at
/// `sandbox`'s simulators (a key a connector does not read is never asked for).
pub fn pointed_at(policy: crate::Policy, sandbox: &corridor_sandbox::Sandbox) -> crate::Policy {
    policy
        .with_setting(
            "alipay_gateway_url",
            &format!("{}/gateway.do", sandbox.alipay_url),
        )
        .with_setting("mpesa_base_url", &sandbox.mpesa_url)
        .with_setting("mpesa_broker_url", &sandbox.mpesa_url)
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

pub async fn run(
    config: Option<&Path>,
    profile: Option<&str>,
    seed: Option<u64>,
    port_base: Option<u16>,
) -> anyhow::Result<()> {
    let mut config = match config {
        Some(path) => corridor_sandbox::SandboxConfig::load(path)?,
        None => corridor_sandbox::SandboxConfig::default(),
    };
    if let Some(profile) = profile {
        config.profile = if profile == "zero" {
            corridor_sandbox::Profile::Zero
        } else {
            corridor_sandbox::Profile::Thesis
        };
    }
    if let Some(seed) = seed {
        config.seed = seed;
    }
    if port_base.is_some() {
        config.port_base = port_base;
    }
    let sandbox = corridor_sandbox::Sandbox::start(config).await?;
    println!(
        "corridor sandbox: listening (Ctrl-C stops)\n{}",
        sandbox.describe()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// `corridor sandbox pay`: one line when paid; an error (one line, non-zero
/// exit) when not.
pub async fn pay(args: PayArgs) -> anyhow::Result<()> {
    let payment_url = payment_url_of(&args.target, &args.host).await?;
    let paid = corridor_sandbox::payer::pay(&payment_url, &args.login, &args.password).await?;
    println!(
        "paid: trade_no {} for out_trade_no {} ({} by {})",
        paid.trade_no, paid.out_trade_no, paid.charged, args.login
    );
    Ok(())
}

/// The payment URL `target` names: itself if it is a URL, else the one the
/// host holds for the transfer id (`tr_…`) or `out_trade_no`.
async fn payment_url_of(target: &str, host: &str) -> anyhow::Result<String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return Ok(target.to_string());
    }
    let client = crate::client::Client::new(host);
    let transfer = if target.starts_with("tr_") {
        client.get(target).await?
    } else {
        client
            .list(1000)
            .await?
            .into_iter()
            .find(|transfer| transfer.pay_in.reference == target)
            .with_context(|| {
                format!("no transfer among the host's newest 1000 has out_trade_no {target}")
            })?
    };
    transfer.pay_in.payment_url.with_context(|| {
        format!(
            "transfer {} has no payment URL (state {})",
            transfer.id,
            transfer.state.name()
        )
    })
}
