//! Providers' callbacks, and the events they and query answers carry.
//!
//! A callback passes four gates before it changes anything:
//! 1. the route is one the host hands out, and the connector is loaded;
//! 2. the source address is on the connector's allow-list, when its policy
//!    has one (checked before the connector sees the body);
//! 3. the path's secret is this transfer's secret for this route;
//! 4. each event the connector reads from the body belongs on that route
//!    (pay-in events on the pay-in route, pay-out events on the pay-out ones).
//!
//! Then the route decides how far its events are believed ([`Trust`]): the
//! pay-out result and queue-timeout routes carry unsigned claims, which never
//! trigger a refund on their own; the pay-in route carries notifications the
//! connector verified, and the status route the provider's answer to the
//! host's own query.

use std::net::IpAddr;

use super::decide::{Input, Trust};
use super::secrets::{constant_time_eq, route_secret};
use super::{CallbackReply, Engine, EngineError, NoAnswer, routes};
use crate::runtime::exports;
use crate::wit::{CallbackOutcome, Event, InboundRequest};
use corridor_runtime::StoreError;

/// Whether an event belongs on a route.
type Belongs = fn(&Event) -> bool;

/// How far a route's events are believed, and which events belong on it.
fn route_rules(route: &str) -> Option<(Trust, Belongs)> {
    let pay_in: Belongs = |event| {
        matches!(
            event,
            Event::PayInSucceeded(_) | Event::PayInFailed(_) | Event::RefundSucceeded(_)
        )
    };
    let pay_out: Belongs = |event| {
        matches!(
            event,
            Event::PayOutSucceeded(_) | Event::PayOutFailed(_) | Event::PayOutUnknown(_)
        )
    };
    match route {
        routes::PAY_IN => Some((Trust::Answer, pay_in)),
        routes::PAY_OUT | routes::PAY_OUT_TIMEOUT => Some((Trust::Evidence, pay_out)),
        routes::PAY_OUT_STATUS => Some((Trust::Answer, pay_out)),
        _ => None,
    }
}

/// The event's name, for the callback log.
fn event_name(event: &Event) -> &'static str {
    match event {
        Event::PayInSucceeded(_) => "pay-in-succeeded",
        Event::PayInFailed(_) => "pay-in-failed",
        Event::PayOutSucceeded(_) => "pay-out-succeeded",
        Event::PayOutFailed(_) => "pay-out-failed",
        Event::PayOutUnknown(_) => "pay-out-unknown",
        Event::RefundSucceeded(_) => "refund-succeeded",
    }
}

/// Where a callback came in: `/callbacks/{connector}/{route}/{transfer}/{secret}`.
#[derive(Debug, Clone)]
pub struct CallbackPath {
    /// The connector id.
    pub connector: String,
    /// The transfer id.
    pub transfer: String,
    /// The secret in the path.
    pub secret: String,
    /// The source address of the connection, when the listener knows it.
    pub peer: Option<IpAddr>,
}

impl Engine {
    /// Applies one event to a transfer: what it did, in a line.
    pub(super) async fn apply_event(
        &self,
        id: &str,
        event: Event,
        trust: Trust,
        source: &str,
    ) -> Result<String, StoreError> {
        let decision = self
            .record(id, Input::Event { event, trust }, Some(source))
            .await?;
        Ok(decision.map_or_else(|| "no such transfer".into(), |decision| decision.summary))
    }

    /// [`Engine::apply_event`] for a provider's answer to the host's own
    /// request or query; a store failure is logged (the step runs again).
    pub(super) async fn apply_answer(&self, id: &str, event: Event, source: &str) {
        if let Err(error) = self.apply_event(id, event, Trust::Answer, source).await {
            tracing::error!(transfer = id, %error, "cannot record an answer; the step runs again when due");
        }
    }

    /// Handles a provider's callback, and counts it by connector, route and
    /// the status it was answered with. The path is the sender's to choose,
    /// so only a loaded connector and a known route become labels.
    pub async fn handle_callback(
        &self,
        path: CallbackPath,
        request: InboundRequest,
    ) -> CallbackReply {
        let connector = match self.connector(&path.connector) {
            Ok(_) => path.connector.clone(),
            Err(_) => "unknown".to_string(),
        };
        let route = match route_rules(&request.route) {
            Some(_) => request.route.clone(),
            None => "unknown".to_string(),
        };
        let reply = self.answer_callback(path, request).await;
        metrics::counter!(
            "corridor_callbacks_total",
            "connector" => connector,
            "route" => route,
            "status" => reply.status.to_string(),
        )
        .increment(1);
        reply
    }

    async fn answer_callback(&self, path: CallbackPath, request: InboundRequest) -> CallbackReply {
        let route = request.route.clone();
        let Some((trust, belongs)) = route_rules(&route) else {
            tracing::warn!(connector = %path.connector, %route, "callback on an unknown route refused");
            return CallbackReply::plain(404, "not found");
        };
        let Ok(connector) = self.connector(&path.connector) else {
            tracing::warn!(connector = %path.connector, "callback for an unknown connector refused");
            return CallbackReply::plain(404, "not found");
        };
        if !connector.policy().callbacks.admits(path.peer) {
            tracing::warn!(connector = %path.connector, %route, peer = ?path.peer, "callback from an address off the allow-list refused");
            return CallbackReply::plain(403, "forbidden");
        }
        let transfer = match self.get(&path.transfer).await {
            Ok(transfer)
                if transfer.connector == path.connector
                    && constant_time_eq(
                        &route_secret(&transfer.callback_token, &route),
                        &path.secret,
                    ) =>
            {
                transfer
            }
            Ok(_) | Err(EngineError::TransferNotFound(_)) => {
                tracing::warn!(connector = %path.connector, transfer = %path.transfer, %route, "callback on an unknown path refused");
                return CallbackReply::plain(404, "not found");
            }
            Err(error) => {
                tracing::error!(%error, "cannot load the transfer of a callback");
                return CallbackReply::plain(503, "try again later");
            }
        };
        let outcome = match self
            .ask::<exports::HandleCallback>(&transfer, request)
            .await
        {
            Ok(outcome) => outcome,
            Err(no_answer) => {
                tracing::warn!(transfer = %transfer.id, %route, detail = %no_answer, "a connector gave no answer to a callback");
                let summary = format!("no answer: {}", short(&no_answer));
                self.log_callback(&transfer.connector, &transfer.id, &route, summary)
                    .await;
                return CallbackReply::plain(503, "try again later");
            }
        };
        self.apply_callback(
            &transfer.connector,
            &transfer.id,
            &route,
            trust,
            belongs,
            outcome,
        )
        .await
    }

    /// Applies what the connector read from a callback, then replies.
    async fn apply_callback(
        &self,
        connector: &str,
        id: &str,
        route: &str,
        trust: Trust,
        belongs: Belongs,
        outcome: CallbackOutcome,
    ) -> CallbackReply {
        let CallbackOutcome {
            reply,
            events,
            ignored,
        } = outcome;
        let mut summaries = Vec::new();
        if let Some(reason) = ignored {
            summaries.push(format!("ignored: {reason}"));
        }
        for event in events {
            if !belongs(&event) {
                let name = event_name(&event);
                tracing::warn!(
                    transfer = id,
                    route,
                    event = name,
                    "an event that does not belong on this route was ignored"
                );
                summaries.push(format!("ignored: {name} does not belong on route {route}"));
                continue;
            }
            match self
                .apply_event(id, event, trust, &format!("callback {route}"))
                .await
            {
                Ok(summary) => summaries.push(summary),
                Err(error) => {
                    tracing::error!(transfer = id, %error, "cannot record a callback's event");
                    let summary = format!("store failure: {error}");
                    self.log_callback(connector, id, route, summary).await;
                    // Not recorded: have the provider send it again.
                    return CallbackReply::plain(503, "try again later");
                }
            }
        }
        self.log_callback(connector, id, route, summaries.join("; "))
            .await;
        CallbackReply {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        }
    }

    async fn log_callback(&self, connector: &str, id: &str, route: &str, outcome: String) {
        let (connector, route, id, now_ms) = (
            connector.to_string(),
            route.to_string(),
            id.to_string(),
            self.now_ms(),
        );
        if let Err(error) = self
            .db(move |store| store.record_callback(&connector, &route, &id, now_ms, &outcome))
            .await
        {
            tracing::error!(%error, "cannot record a callback");
        }
    }

    /// The URL the host hands a provider for `route` of transfer `id`. For
    /// operators and tests in the same process: never served over an API,
    /// because the secret in it is what keeps everyone else off the route.
    pub async fn callback_url_for(&self, id: &str, route: &str) -> Result<String, EngineError> {
        let transfer = self.get(id).await?;
        Ok(self.callback_url(&transfer, route))
    }

    /// The callbacks a transfer received: `(route, at_ms, outcome)`.
    pub async fn callbacks(&self, id: &str) -> Result<Vec<(String, u64, String)>, EngineError> {
        let key = id.to_string();
        Ok(self.db(move |store| store.callbacks(&key)).await?)
    }
}

/// The first line of why a connector gave no answer: the detail (a wasm
/// backtrace) stays in the host's log.
fn short(no_answer: &NoAnswer) -> String {
    let text = no_answer.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.chars().take(200).collect()
}
