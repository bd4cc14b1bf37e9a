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
//! Then the route, and whether the connector authenticated the body, decide
//! how far its events are believed ([`Trust`]): results of money going out
//! (pay-out and refund results and queue timeouts) are claims confirmed by
//! query before anything is refunded or finished; a pay-in report is the
//! provider's word only if the connector checked a signature, and is
//! otherwise confirmed by `query-pay-in` here, before it is applied; the
//! status routes carry the provider's answers to the host's own queries.
//! A connector's own routes (one URL for every transfer, such as the
//! confirmation URL of an account paid by hand) are in
//! [`super::connector_routes`].

use std::net::IpAddr;

use super::decide::{Input, Trust};
use super::secrets::{constant_time_eq, route_secret};
use super::{CallbackReply, Engine, EngineError, NoAnswer, routes};
use crate::model::Transfer;
use crate::runtime::exports;
use crate::wit::{CallbackOutcome, Event, InboundRequest, PayInStatus};
use corridor_runtime::StoreError;

/// Whether an event belongs on a route.
pub(crate) type Belongs = fn(&Event) -> bool;

/// A report of the payer's payment (not of its refund).
fn pay_in_report(event: &Event) -> bool {
    matches!(event, Event::PayInSucceeded(_) | Event::PayInFailed(_))
}

/// A pay-in's events (and a refund's, which returns it).
fn pay_in_event(event: &Event) -> bool {
    pay_in_report(event) || refund_event(event)
}

fn pay_out_event(event: &Event) -> bool {
    matches!(
        event,
        Event::PayOutSucceeded(_) | Event::PayOutFailed(_) | Event::PayOutUnknown(_)
    )
}

fn refund_event(event: &Event) -> bool {
    matches!(
        event,
        Event::RefundSucceeded(_) | Event::RefundFailed(_) | Event::RefundUnknown(_)
    )
}

/// How far a route's events are believed, and which events belong on it.
#[derive(Clone, Copy)]
pub(crate) struct RouteRules {
    /// The trust of an event the connector did not authenticate.
    trust: Trust,
    /// Whether an event the connector authenticated is the provider's word.
    authenticated_is_answer: bool,
    /// Which events belong.
    belongs: Belongs,
}

impl RouteRules {
    /// A connector's own notification route: pay-in events, believed once
    /// the connector authenticated them.
    pub(crate) const CONNECTOR: RouteRules = RouteRules {
        trust: Trust::Evidence,
        authenticated_is_answer: true,
        belongs: pay_in_report,
    };

    fn trust(&self, authenticated: bool) -> Trust {
        if authenticated && self.authenticated_is_answer {
            Trust::Answer
        } else {
            self.trust
        }
    }
}

/// The rules of a per-transfer route. Results of money going out (pay-outs,
/// refunds) are always confirmed by query; answers to the host's own queries,
/// on routes only the queried provider is given, are believed.
fn route_rules(route: &str) -> Option<RouteRules> {
    let rules = |trust, authenticated_is_answer, belongs| {
        Some(RouteRules {
            trust,
            authenticated_is_answer,
            belongs,
        })
    };
    match route {
        routes::PAY_IN => rules(Trust::Evidence, true, pay_in_event),
        routes::PAY_IN_STATUS => rules(Trust::Answer, false, pay_in_report),
        routes::PAY_OUT | routes::PAY_OUT_TIMEOUT => rules(Trust::Evidence, false, pay_out_event),
        routes::PAY_OUT_STATUS => rules(Trust::Answer, false, pay_out_event),
        routes::REFUND | routes::REFUND_TIMEOUT => rules(Trust::Evidence, false, refund_event),
        routes::REFUND_STATUS => rules(Trust::Answer, false, refund_event),
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
        Event::RefundFailed(_) => "refund-failed",
        Event::RefundUnknown(_) => "refund-unknown",
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
        let Some(rules) = route_rules(&route) else {
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
        let connector = transfer.connector.clone();
        self.apply_callback(&connector, Some(transfer), &route, rules, outcome)
            .await
    }

    /// Applies what the connector read from a callback, then replies. On a
    /// per-transfer route every event is that transfer's; on a connector's
    /// own route each event names its transfer by reference.
    pub(crate) async fn apply_callback(
        &self,
        connector: &str,
        transfer: Option<Transfer>,
        route: &str,
        rules: RouteRules,
        outcome: CallbackOutcome,
    ) -> CallbackReply {
        let trust = rules.trust(outcome.authenticated);
        let mut summaries = Vec::new();
        if let Some(reason) = outcome.ignored {
            summaries.push(format!("ignored: {reason}"));
        }
        let mut logged_id = transfer.as_ref().map(|transfer| transfer.id.clone());
        for event in outcome.events {
            let name = event_name(&event);
            if !(rules.belongs)(&event) {
                tracing::warn!(
                    connector,
                    route,
                    event = name,
                    "an event that does not belong on this route was ignored"
                );
                summaries.push(format!("ignored: {name} does not belong on route {route}"));
                continue;
            }
            let target = match self.target_of(connector, transfer.as_ref(), &event).await {
                Ok(Some(target)) => target,
                Ok(None) => {
                    tracing::warn!(
                        connector,
                        route,
                        event = name,
                        "a callback's event names no transfer of the connector"
                    );
                    summaries.push(format!("ignored: {name} names no transfer"));
                    continue;
                }
                Err(error) => {
                    return self
                        .cannot_record(connector, logged_id.as_deref(), route, &error)
                        .await;
                }
            };
            logged_id.get_or_insert_with(|| target.id.clone());
            match self.apply_one(&target, route, trust, event).await {
                Ok(summary) => summaries.push(summary),
                Err(error) => {
                    return self
                        .cannot_record(connector, Some(&target.id), route, &error)
                        .await;
                }
            }
        }
        self.log_callback(
            connector,
            logged_id.as_deref().unwrap_or(""),
            route,
            summaries.join("; "),
        )
        .await;
        outcome.reply.into()
    }

    /// The transfer an event is about: the route's, or the one its reference names.
    async fn target_of(
        &self,
        connector: &str,
        transfer: Option<&Transfer>,
        event: &Event,
    ) -> Result<Option<Transfer>, String> {
        match transfer {
            Some(transfer) => Ok(Some(transfer.clone())),
            None => self
                .transfer_of(connector, event)
                .await
                .map_err(|error| error.to_string()),
        }
    }

    /// Applies one event, confirming an unauthenticated pay-in report first.
    async fn apply_one(
        &self,
        target: &Transfer,
        route: &str,
        trust: Trust,
        event: Event,
    ) -> Result<String, String> {
        if trust == Trust::Evidence && pay_in_report(&event) {
            return self.confirm_pay_in(target, event).await;
        }
        let source = format!("callback {route}");
        self.apply_event(&target.id, event, trust, &source)
            .await
            .map_err(|error| error.to_string())
    }

    /// A callback's event could not be recorded: have the provider send it again.
    async fn cannot_record(
        &self,
        connector: &str,
        id: Option<&str>,
        route: &str,
        error: &str,
    ) -> CallbackReply {
        tracing::error!(connector, transfer = ?id, route, %error, "cannot act on a callback's event");
        self.log_callback(
            connector,
            id.unwrap_or(""),
            route,
            format!("not recorded: {error}"),
        )
        .await;
        CallbackReply::plain(503, "try again later")
    }

    /// The transfer of `connector` an event names by its pay-in reference.
    async fn transfer_of(
        &self,
        connector: &str,
        event: &Event,
    ) -> Result<Option<Transfer>, StoreError> {
        let reference = match event {
            Event::PayInSucceeded(receipt) => receipt.reference.clone(),
            Event::PayInFailed(failure) => failure.reference.clone(),
            _ => return Ok(None),
        };
        self.by_pay_in_reference(connector, &reference).await
    }

    /// A pay-in report the connector could not authenticate: asks the
    /// provider (`query-pay-in`) and acts on its answer alone. An error means
    /// the provider could not be asked, and the report should come again.
    async fn confirm_pay_in(&self, transfer: &Transfer, event: Event) -> Result<String, String> {
        let named = match &event {
            Event::PayInSucceeded(receipt) => Some(receipt.provider_transaction_id.clone()),
            _ => None,
        };
        let query = self.pay_in_query(transfer, named);
        let source = "query-pay-in, confirming a report";
        let answer = match self.ask::<exports::QueryPayIn>(transfer, query).await {
            Ok(PayInStatus::Succeeded(receipt)) => Event::PayInSucceeded(receipt),
            Ok(PayInStatus::Failed(failure)) => Event::PayInFailed(crate::wit::PayInFailure {
                reference: transfer.pay_in.reference.clone(),
                failure,
            }),
            Ok(PayInStatus::Pending) => {
                return Ok("a pay-in reported: the provider confirms it later".into());
            }
            Ok(PayInStatus::AwaitingPayment | PayInStatus::NotFound) => {
                return Ok("ignored: a pay-in report the provider does not confirm".into());
            }
            Err(no_answer) => {
                return Err(format!(
                    "cannot confirm a pay-in report: {}",
                    short(&no_answer)
                ));
            }
        };
        self.apply_event(&transfer.id, answer, Trust::Answer, source)
            .await
            .map_err(|error| error.to_string())
    }

    pub(crate) async fn log_callback(
        &self,
        connector: &str,
        id: &str,
        route: &str,
        outcome: String,
    ) {
        let (connector, route, id, now_ms) = (
            connector.to_string(),
            route.to_string(),
            id.to_string(),
            self.now_ms(),
        );
        if let Err(error) = self
            .store
            .record_callback_async(&connector, &route, &id, now_ms, &outcome)
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
pub(crate) fn short(no_answer: &NoAnswer) -> String {
    let text = no_answer.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.chars().take(200).collect()
}
