//! A connector's own callback routes: one URL per route for every transfer,
//! which a connector registers once with its provider (the validation and
//! confirmation URLs of an account customers pay by hand), at
//! `/callbacks/{connector}/{route}/{secret}`.
//!
//! The gates are those of per-transfer routes: the route is one the
//! connector's descriptor declares, the source address is on the policy's
//! allow-list, and the secret is the route's, derived from the connector's
//! stored root. Then a `notification` route's events find their transfers by
//! reference (and an unauthenticated pay-in report is confirmed by query
//! first), and an `offer` route asks the host to accept or refuse a payment
//! before the provider completes it: `read-offer`, the host's verdict, and
//! `answer-offer` for the reply.

use std::net::IpAddr;

use super::callbacks::{RouteRules, short};
use super::secrets::{constant_time_eq, route_secret};
use super::{CallbackReply, Engine, NoAnswer, random_hex};
use crate::model::Transfer;
use crate::runtime::exports;
use crate::versions::Loaded;
use crate::wit::{InboundKind, InboundRequest, OfferAnswer, OfferReading, RouteUrl};
use corridor_runtime::StoreError;
use std::sync::Arc;

/// Where a callback on a connector's own route came in.
#[derive(Debug, Clone)]
pub struct ConnectorCallbackPath {
    /// The connector id.
    pub connector: String,
    /// The secret in the path.
    pub secret: String,
    /// The source address of the connection, when the listener knows it.
    pub peer: Option<IpAddr>,
}

impl Engine {
    /// The connector's route root, made on first use.
    async fn route_root(&self, connector: &str) -> Result<String, StoreError> {
        let (connector, candidate) = (connector.to_string(), random_hex(16));
        self.db(move |store| store.connector_route_root(&connector, &candidate))
            .await
    }

    /// The URLs of the own routes of the version `transfer` is pinned to.
    pub(super) async fn connector_route_urls(
        &self,
        transfer: &Transfer,
    ) -> Result<Vec<RouteUrl>, StoreError> {
        let Some(version) = self.pinned_version(transfer) else {
            return Ok(Vec::new());
        };
        let routes = &version.connector.descriptor().inbound_routes;
        if routes.is_empty() {
            return Ok(Vec::new());
        }
        let root = self.route_root(&transfer.connector).await?;
        Ok(routes
            .iter()
            .map(|route| RouteUrl {
                route: route.name.clone(),
                url: format!(
                    "{}/callbacks/{}/{}/{}",
                    self.public_url,
                    transfer.connector,
                    route.name,
                    route_secret(&root, &route.name)
                ),
            })
            .collect())
    }

    /// Handles a callback on one of a connector's own routes, counted like
    /// the per-transfer ones.
    pub async fn handle_connector_callback(
        &self,
        path: ConnectorCallbackPath,
        request: InboundRequest,
    ) -> CallbackReply {
        let (connector, route) = (path.connector.clone(), request.route.clone());
        let (reply, known) = self.answer_connector_callback(path, request).await;
        let (connector, route) = match known {
            true => (connector, route),
            false => ("unknown".to_string(), "unknown".to_string()),
        };
        metrics::counter!(
            "corridor_callbacks_total",
            "connector" => connector,
            "route" => route,
            "status" => reply.status.to_string(),
        )
        .increment(1);
        reply
    }

    /// The reply, and whether the connector and route were known.
    async fn answer_connector_callback(
        &self,
        path: ConnectorCallbackPath,
        request: InboundRequest,
    ) -> (CallbackReply, bool) {
        let route = request.route.clone();
        let Some(version) = self.registry.active(&path.connector) else {
            tracing::warn!(connector = %path.connector, "callback for an unknown connector refused");
            return (CallbackReply::plain(404, "not found"), false);
        };
        let kind = version
            .connector
            .descriptor()
            .inbound_routes
            .iter()
            .find(|declared| declared.name == route)
            .map(|declared| declared.kind);
        let Some(kind) = kind else {
            tracing::warn!(connector = %path.connector, %route, "callback on an unknown route refused");
            return (CallbackReply::plain(404, "not found"), false);
        };
        if !version.connector.policy().callbacks.admits(path.peer) {
            tracing::warn!(connector = %path.connector, %route, peer = ?path.peer, "callback from an address off the allow-list refused");
            return (CallbackReply::plain(403, "forbidden"), true);
        }
        let root = match self.route_root(&path.connector).await {
            Ok(root) => root,
            Err(error) => {
                tracing::error!(%error, "cannot read a connector's route root");
                return (CallbackReply::plain(503, "try again later"), true);
            }
        };
        if !constant_time_eq(&route_secret(&root, &route), &path.secret) {
            tracing::warn!(connector = %path.connector, %route, "callback on an unknown path refused");
            return (CallbackReply::plain(404, "not found"), false);
        }
        let reply = match kind {
            InboundKind::Notification => self.notification(&version, request).await,
            InboundKind::Offer => self.offer(&version, request).await,
        };
        (reply, true)
    }

    async fn notification(&self, version: &Arc<Loaded>, request: InboundRequest) -> CallbackReply {
        let (connector, route) = (version.row.connector.clone(), request.route.clone());
        match self
            .ask_on::<exports::HandleCallback>(version, request)
            .await
        {
            Ok(outcome) => {
                self.apply_callback(&connector, None, &route, RouteRules::CONNECTOR, outcome)
                    .await
            }
            Err(no_answer) => self.no_answer(&connector, &route, &no_answer).await,
        }
    }

    /// An offer: read it, decide, and let the connector word the reply.
    async fn offer(&self, version: &Arc<Loaded>, request: InboundRequest) -> CallbackReply {
        let (connector, route) = (version.row.connector.clone(), request.route.clone());
        let offer = match self
            .ask_on::<exports::ReadOffer>(version, request.clone())
            .await
        {
            Ok(OfferReading::Offer(offer)) => offer,
            Ok(OfferReading::Unreadable(unreadable)) => {
                let summary = format!("ignored: {}", unreadable.reason);
                self.log_callback(&connector, "", &route, summary).await;
                return unreadable.reply.into();
            }
            Err(no_answer) => return self.no_answer(&connector, &route, &no_answer).await,
        };
        let transfer = match self.by_pay_in_reference(&connector, &offer.reference).await {
            Ok(transfer) => transfer,
            Err(error) => {
                tracing::error!(%error, "cannot look up an offer's transfer");
                return CallbackReply::plain(503, "try again later");
            }
        };
        let verdict = crate::offers::verdict(transfer.as_ref(), &offer, self.now_ms());
        let summary = format!(
            "offer of {} {}: {}",
            offer.amount.amount_minor,
            offer.amount.currency,
            crate::offers::verdict_name(&verdict)
        );
        let id = transfer.map(|transfer| transfer.id).unwrap_or_default();
        let answer = OfferAnswer {
            request,
            offer,
            verdict,
        };
        match self.ask_on::<exports::AnswerOffer>(version, answer).await {
            Ok(reply) => {
                self.log_callback(&connector, &id, &route, summary).await;
                reply.into()
            }
            Err(no_answer) => self.no_answer(&connector, &route, &no_answer).await,
        }
    }

    /// The transfer of `connector` whose pay-in reference is `reference`.
    pub(super) async fn by_pay_in_reference(
        &self,
        connector: &str,
        reference: &str,
    ) -> Result<Option<Transfer>, StoreError> {
        let (connector, reference) = (connector.to_string(), reference.to_string());
        self.db(move |store| store.by_pay_in_reference(&connector, &reference))
            .await
    }

    async fn no_answer(&self, connector: &str, route: &str, no_answer: &NoAnswer) -> CallbackReply {
        tracing::warn!(connector, route, detail = %no_answer, "a connector gave no answer to a callback on its own route");
        self.log_callback(
            connector,
            "",
            route,
            format!("no answer: {}", short(no_answer)),
        )
        .await;
        CallbackReply::plain(503, "try again later")
    }
}
