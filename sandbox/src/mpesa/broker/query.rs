//! `queryTransaction` (spec §4.4): the messages the broker exchanged for a
//! request, each a raw HTTP message in base64. A result that the fault plan
//! dropped on its way to the caller is here all the same: the broker posted
//! it, the network lost it.

use super::*;
use wire::{QueryResponse, QueryResponseBody, QueryResponseEnvelope, QueryResult};

fn query_answer(code: &str, description: &str, exchanges: &[Exchange]) -> Response {
    let encode = |text: &String| base64::engine::general_purpose::STANDARD.encode(text);
    let envelope = QueryResponseEnvelope {
        soapenv: wire::SOAP_ENVELOPE,
        body: QueryResponseBody {
            response: QueryResponse {
                ns1: wire::QUERY_NAMESPACE,
                result: QueryResult {
                    response_code: code.into(),
                    response_desc: description.into(),
                },
                requests: exchanges.iter().map(|e| encode(&e.request)).collect(),
                responses: exchanges.iter().map(|e| encode(&e.response)).collect(),
                results: exchanges
                    .iter()
                    .filter_map(|e| e.result.as_ref())
                    .map(encode)
                    .collect(),
                queue_timeouts: exchanges
                    .iter()
                    .filter_map(|e| e.queue_timeout.as_ref())
                    .map(encode)
                    .collect(),
            },
        },
    };
    xml(StatusCode::OK, wire::to_xml(&envelope))
}

/// `POST /queryTransactionService/services/transaction`.
pub(crate) async fn query(State(world): State<Arc<World>>, body: String) -> Response {
    let path = "POST /queryTransactionService/services/transaction";
    world
        .journal
        .record("mpesa", Direction::Received, path.into(), 0, body.clone());
    if let Some(fault_kind) = world.gate("mpesa.broker-query", Duration::ZERO).await {
        return match fault_kind {
            InjectedError::Busy => query_answer("100000002", "Throttling error", &[]),
            InjectedError::ServerError => fault("Server", "Internal Server Error"),
        };
    }
    let Some(envelope) = wire::parse::<Envelope>(&body) else {
        return fault("Client", "The message is not a SOAP envelope");
    };
    let Some(originator) = envelope
        .body
        .as_ref()
        .and_then(|body| body.query.as_ref())
        .map(|query| query.originator_conversation_id.trim().to_string())
    else {
        return fault("Client", "The SOAP body has no queryTransaction");
    };
    let config = &world.config.mpesa.broker;
    if !authenticated(config, envelope.header.as_ref().and_then(|h| h.sp.as_ref())) {
        return query_answer("100000007", "Authentication failed", &[]);
    }
    if originator.is_empty() {
        return query_answer(
            "100000014",
            "Missing mandatory parameter:originatorConversationID",
            &[],
        );
    }
    let exchanges: Vec<Exchange> = lock(&world.mpesa.broker.exchanges)
        .iter()
        .filter(|exchange| exchange.originator == originator)
        .cloned()
        .collect();
    query_answer("000000000", "Success", &exchanges)
}
