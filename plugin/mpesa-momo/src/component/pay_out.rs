//! The pay-out: one MoMo Disbursement transfer per transfer, its status,
//! and its callback (unsigned, so evidence the host confirms by query).

use super::{ignored, send, settings};
use crate::events;
use corridor_connector_kit::bindings::corridor::connector::clock;
use corridor_connector_kit::bindings::corridor::connector::http::{Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    CallbackOutcome, Failure, InboundRequest, PayOutQuery, PayOutRequest, PayOutStarted,
    PayOutStatus, Reply,
};
use corridor_connector_kit::failure::{read_only, retryable};
use corridor_connector_kit::token::TokenCache;
use corridor_rail_momo::status::Answer;
use corridor_rail_momo::{self as momo, MomoSettings, Rejection};

fn momo_token(momo: &MomoSettings, rejected: Option<&str>) -> Result<String, Failure> {
    let cache = TokenCache {
        key: "momo/token",
        margin_ms: momo::token::REFRESH_MARGIN_MS,
    };
    cache.get(rejected, || {
        let response = send(&momo::token::request(momo)).map_err(read_only)?;
        momo::token::parse(&response, clock::now_ms())
    })
}

/// Sends a MoMo request built for a token, once more with a new token if
/// MoMo refused the first (a refused token means nothing was processed).
fn with_momo<T>(
    momo: &MomoSettings,
    build: impl Fn(&str) -> Result<Request, Failure>,
    parse: impl Fn(&Response) -> Result<T, Rejection>,
) -> Result<T, Failure> {
    let mut rejected: Option<String> = None;
    for _ in 0..2 {
        let token = momo_token(momo, rejected.as_deref())?;
        match parse(&send(&build(&token)?)?) {
            Ok(value) => return Ok(value),
            Err(Rejection::Failed(failure)) => return Err(failure),
            Err(Rejection::TokenRejected) => {
                super::warn("MoMo refused the access token; refreshing it");
                rejected = Some(token);
            }
        }
    }
    Err(retryable("401", "MoMo refused two fresh access tokens"))
}

/// One transfer. Its `X-Reference-Id` is the pay-out reference, so a retry
/// after a lost answer gets 409 (`unknown`: the host queries, never resends).
pub(super) fn begin(request: &PayOutRequest) -> Result<PayOutStarted, Failure> {
    let momo = MomoSettings::from_settings(&settings())?;
    with_momo(
        &momo,
        |token| momo::transfer::request(&momo, token, request),
        |response| momo::transfer::parse(response, request),
    )
}

/// The transfer's status, answered at once (nothing comes on `pay-out-status`).
pub(super) fn query(request: &PayOutQuery) -> Result<PayOutStatus, Failure> {
    let momo = MomoSettings::from_settings(&settings())?;
    let answer = with_momo(
        &momo,
        |token| Ok(momo::status::request(&momo, token, &request.reference)),
        momo::status::parse,
    )
    .map_err(read_only)?;
    Ok(match answer {
        Answer::Found(result) => momo::status::to_pay_out_status(&result, &request.reference),
        Answer::NotFound => PayOutStatus::NotFound,
    })
}

/// MoMo's callback on the transfer's `X-Callback-Url`. It is unsigned, and
/// MoMo's status answers at once, so the claim is checked against the status
/// query here and only MoMo's own answer is reported: a forged success names
/// nothing MoMo has paid. One that names another pay-out (its `externalId`)
/// is not about this one.
pub(super) fn callback(request: &InboundRequest) -> CallbackOutcome {
    let reply = Reply {
        status: momo::callback::REPLY_STATUS,
        headers: vec![],
        body: vec![],
    };
    let Some(reference) = events::transfer_id_of(&request.path).map(crate::plan::pay_out_reference)
    else {
        return ignored(reply, "no transfer in the path".into());
    };
    let evidence = match momo::callback::parse(&request.body) {
        Ok(evidence) => evidence,
        Err(failure) => return ignored(reply, failure.message),
    };
    if !evidence.names(&reference) {
        return ignored(reply, "a MoMo callback about another pay-out".into());
    }
    let confirmed = MomoSettings::from_settings(&settings()).and_then(|momo| {
        with_momo(
            &momo,
            |token| Ok(momo::status::request(&momo, token, &reference)),
            momo::status::parse,
        )
    });
    let answer = match confirmed {
        Ok(Answer::Found(answer)) => answer,
        Ok(Answer::NotFound) => {
            return ignored(
                reply,
                "a MoMo callback for a transfer MoMo does not have".into(),
            );
        }
        Err(failure) => {
            return ignored(
                reply,
                format!(
                    "the callback could not be checked ({}); the host's query will tell",
                    failure.message
                ),
            );
        }
    };
    let events = events::momo_events(&reference, &momo::callback::Evidence { claimed: *answer });
    if events.is_empty() {
        return ignored(
            reply,
            "MoMo's status does not confirm the callback yet".into(),
        );
    }
    CallbackOutcome {
        reply,
        events,
        ignored: None,
        // MoMo's answer, but the route stays evidence for the host.
        authenticated: false,
    }
}
