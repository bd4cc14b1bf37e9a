//! Notifications: the signed `trade_status_sync` POSTed to the merchant's
//! `notify_url` once a trade is paid, retried on Alipay's schedule until the
//! reply is exactly `success`, and `notify_verify`, which vouches for them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::Trade;
use crate::World;
use crate::faults::lock;
use crate::money::format_minor;

/// The notification for a paid trade, signed as the trade's request was.
fn notification(world: &World, trade: &Trade) -> BTreeMap<String, String> {
    let notify_id = {
        let mut state = lock(&world.alipay.state);
        let id: String = (0..34)
            .map(|_| char::from(b"abcdef0123456789"[state.random.gen_range(0..16)]))
            .collect();
        state.notify_ids.insert(id.clone(), trade.partner.clone());
        id
    };
    let amount = if trade.total_fee_minor > 0 {
        trade.total_fee_minor
    } else {
        trade.charged_cny_fen
    };
    let mut params: BTreeMap<String, String> = [
        ("notify_id", notify_id),
        (
            "notify_time",
            crate::clock::local_time(crate::now_ms(), 8, "yyyy-MM-dd HH:mm:ss"),
        ),
        ("notify_type", "trade_status_sync".to_string()),
        ("out_trade_no", trade.out_trade_no.clone()),
        ("trade_no", trade.trade_no.clone().unwrap_or_default()),
        ("trade_status", trade.trade_status.clone()),
        ("total_fee", format_minor(amount)),
        ("currency", trade.currency.clone()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect();
    let sign = world.alipay.sign(&trade.partner, trade.sign_type, &params);
    params.insert("sign".into(), sign);
    params.insert("sign_type".into(), trade.sign_type.name().into());
    params
}

/// Posts the notification until the merchant answers exactly `success`, on
/// Alipay's retry schedule (compressed by `time_compression`).
pub(super) async fn notify_until_acknowledged(world: Arc<World>, trade: Trade) {
    let compression = u64::from(world.config.time_compression.max(1));
    let first = world.config.delay(world.config.alipay.notify_delay_ms, 300);
    let waits = std::iter::once(first).chain(
        world
            .config
            .alipay
            .notify_retry_s
            .iter()
            .map(|seconds| Duration::from_millis(seconds * 1000 / compression)),
    );
    for wait in waits {
        let decision = world.faults.decide_callback("alipay", wait);
        tokio::time::sleep(decision.delay).await;
        if !decision.send {
            continue;
        }
        let body = serde_urlencoded::to_string(notification(&world, &trade)).unwrap_or_default();
        let mut acknowledged = false;
        for _ in 0..if decision.duplicate { 2 } else { 1 } {
            let reply = world
                .post_callback(
                    "alipay",
                    &trade.notify_url,
                    "application/x-www-form-urlencoded",
                    body.clone(),
                )
                .await;
            acknowledged |= reply.is_some_and(|(_, text)| text.trim() == "success");
        }
        if acknowledged {
            return;
        }
    }
    tracing::info!(
        out_trade_no = trade.out_trade_no,
        "notification never acknowledged; retries exhausted"
    );
}

pub(super) fn notify_verify(world: &World, params: &BTreeMap<String, String>) -> Response {
    let (Some(partner), Some(notify_id)) = (params.get("partner"), params.get("notify_id")) else {
        return "ILLEGAL_ARGUMENT".into_response();
    };
    let known = lock(&world.alipay.state).notify_ids.get(notify_id) == Some(partner);
    (if known { "true" } else { "false" }).into_response()
}
