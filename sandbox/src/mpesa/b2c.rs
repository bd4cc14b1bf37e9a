//! B2C (v1 and v3): validation, the acknowledgement, settlement of the
//! balances, and the `Result` callback later.

use super::*;

/// A validated B2C request.
struct B2cRequest {
    originator_conversation_id: Option<String>,
    initiator: String,
    credential: String,
    party_a: String,
    party_b: String,
    amount_cents: i64,
    result_url: String,
    queue_timeout_url: String,
    raw: Value,
}

fn parse_b2c(body: &str, version: u8) -> Result<B2cRequest, String> {
    let body: Value =
        serde_json::from_str(body).map_err(|_| "Bad Request - Invalid Body".to_string())?;
    let invalid = |field: &str| format!("Bad Request - Invalid {field}");
    let required = |field: &str| {
        text(&body, field)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| invalid(field))
    };
    let originator_conversation_id = match version {
        3 => Some(required("OriginatorConversationID")?)
            .filter(|id| id.len() <= 100)
            .map(Some)
            .ok_or_else(|| invalid("OriginatorConversationID"))?,
        _ => None,
    };
    let initiator = required("InitiatorName")?;
    let credential = required("SecurityCredential")?;
    let command = required("CommandID")?;
    if !["SalaryPayment", "BusinessPayment", "PromotionPayment"].contains(&command.as_str()) {
        return Err(invalid("CommandID"));
    }
    let amount = required("Amount")?;
    let amount_cents = parse_minor(&amount)
        .filter(|cents| cents % 100 == 0)
        .ok_or_else(|| invalid("Amount"))?;
    let party_a = required("PartyA")?;
    if !(5..=7).contains(&party_a.len()) || !party_a.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("PartyA"));
    }
    let party_b = required("PartyB")?;
    if !is_msisdn(&party_b) {
        return Err(invalid("PartyB"));
    }
    let remarks = required("Remarks")?;
    if !(2..=100).contains(&remarks.chars().count()) {
        return Err(invalid("Remarks"));
    }
    let result_url = required("ResultURL").and_then(|url| {
        if is_url(&url) {
            Ok(url)
        } else {
            Err(invalid("ResultURL"))
        }
    })?;
    let queue_timeout_url = required("QueueTimeOutURL").and_then(|url| {
        if is_url(&url) {
            Ok(url)
        } else {
            Err(invalid("QueueTimeOutURL"))
        }
    })?;
    // Both spellings are in the wild: "Occassion" (v2/v3 pages) and "Occasion".
    let occasion = text(&body, "Occassion").or_else(|| text(&body, "Occasion"));
    if occasion.is_some_and(|occasion| occasion.chars().count() > 100) {
        return Err(invalid("Occassion"));
    }
    Ok(B2cRequest {
        originator_conversation_id,
        initiator,
        credential,
        party_a,
        party_b,
        amount_cents,
        result_url,
        queue_timeout_url,
        raw: body,
    })
}

pub(super) async fn b2c_v1(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    b2c(world, headers, body, 1).await
}

pub(super) async fn b2c_v3(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    b2c(world, headers, body, 3).await
}

async fn b2c(world: Arc<World>, headers: HeaderMap, body: String, version: u8) -> Response {
    let path = format!("POST /mpesa/b2c/v{version}/paymentrequest");
    world
        .journal
        .record("mpesa", Direction::Received, path, 0, body.clone());
    if let Some(fault) = world.gate("mpesa.b2c", Duration::ZERO).await {
        return injected(&world, fault);
    }
    if !world.mpesa.token_is_valid(&headers) {
        return error(&world, "404.001.03", "Invalid Access Token");
    }
    let request = match parse_b2c(&body, version) {
        Ok(request) => request,
        Err(message) => return error(&world, "400.002.02", &message),
    };
    let Some(payment) = record_payment(&world.mpesa, &request) else {
        return error(
            &world,
            "500.002.1001",
            "Duplicate OriginatorConversationID.",
        );
    };
    let acknowledgement = serde_json::json!({
        "ConversationID": payment.conversation_id,
        "OriginatorConversationID": payment.originator_conversation_id,
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    });
    tokio::spawn(deliver_b2c_result(
        world.clone(),
        request,
        payment.originator_conversation_id.clone(),
    ));
    Json(acknowledgement).into_response()
}

/// Records an accepted request as a pending payment with fresh Daraja ids,
/// or `None` if its `OriginatorConversationID` is already taken.
fn record_payment(daraja: &Daraja, request: &B2cRequest) -> Option<Payment> {
    let mut state = lock(&daraja.state);
    let originator = originator_for(&mut state, request.originator_conversation_id.as_deref())?;
    state.sequence += 1;
    let conversation_id = format!(
        "AG_{}_{:020x}",
        eat_date(crate::now_ms()),
        state.random.r#gen::<u128>() >> 48
    );
    let transaction_id = receipt(&mut state.random);
    let payment = Payment {
        originator_conversation_id: originator,
        conversation_id,
        transaction_id,
        party_b: request.party_b.clone(),
        amount_cents: request.amount_cents,
        result_code: -1,
        result_desc: String::new(),
        initiated_ms: crate::now_ms(),
        finalised_ms: None,
        status: "Pending",
    };
    state.payments.push(payment.clone());
    Some(payment)
}

/// The payment's `OriginatorConversationID`: the client's own (v3), unless a
/// payment already has it, or one Daraja makes up (v1).
fn originator_for(state: &mut State_, requested: Option<&str>) -> Option<String> {
    match requested {
        Some(id)
            if state
                .payments
                .iter()
                .any(|payment| payment.originator_conversation_id == id) =>
        {
            None
        }
        Some(id) => Some(id.to_string()),
        None => Some(format!(
            "{}-{}-1",
            state.random.gen_range(10000..99999),
            state.random.gen_range(10_000_000..99_999_999)
        )),
    }
}

/// What settling a payment needs to know of its request, whichever API
/// (Daraja B2C or the G2 broker) carried it: both move the same balances.
pub(super) struct Order<'a> {
    pub initiator: &'a str,
    pub credential: &'a str,
    pub party_a: &'a str,
    pub party_b: &'a str,
    pub amount_cents: i64,
}

impl B2cRequest {
    fn order(&self) -> Order<'_> {
        Order {
            initiator: &self.initiator,
            credential: &self.credential,
            party_a: &self.party_a,
            party_b: &self.party_b,
            amount_cents: self.amount_cents,
        }
    }
}

/// Marks a request that timed out in the queue: not processed, nothing moved.
pub(super) fn expire(daraja: &Daraja, originator: &str) {
    let mut state = lock(&daraja.state);
    if let Some(payment) = state
        .payments
        .iter_mut()
        .find(|payment| payment.originator_conversation_id == originator)
    {
        assert_eq!(payment.status, "Pending", "a payment is settled once");
        payment.status = "Expired";
        payment.result_code = 1037;
        payment.result_desc = "The request timed out in the queue.".into();
        payment.finalised_ms = Some(crate::now_ms());
    }
}

/// Decides a B2C's result code (Daraja's codes) and moves the money, once.
pub(super) fn settle(daraja: &Daraja, request: &Order<'_>, originator: &str) -> Payment {
    // The RSA decryption runs before the lock is taken: it is the slow part, and
    // every other Daraja request waits on that lock.
    let credential_matches = daraja.credential_matches(request.initiator, request.credential);
    let mut guard = lock(&daraja.state);
    let state = &mut *guard;
    let (code, desc) = match check_credential(state, credential_matches) {
        Err(refusal) => refusal,
        Ok(()) => decide(&daraja.config, state, request),
    };
    if code == 0 {
        pay_out(state, request, daraja.config.b2c_charge_cents);
    }
    let payment = state
        .payments
        .iter_mut()
        .find(|payment| payment.originator_conversation_id == originator)
        .expect("the payment was recorded before it was settled");
    assert_eq!(payment.status, "Pending", "a payment is settled once");
    payment.result_code = code;
    payment.result_desc = desc.to_string();
    payment.finalised_ms = Some(crate::now_ms());
    payment.status = if code == 0 { "Completed" } else { "Declined" };
    payment.clone()
}

/// A B2C result code and its description, as Daraja words them.
type Outcome = (i64, &'static str);

/// Counts a credential attempt towards the lock-out (a locked credential
/// counts nothing more), and refuses a locked or wrong one.
fn check_credential(state: &mut State_, credential_matches: bool) -> Result<(), Outcome> {
    if state.failed_credentials >= LOCK_AFTER_FAILURES {
        return Err((8006, "The security credential is locked."));
    }
    state.failed_credentials = if credential_matches {
        0
    } else {
        state.failed_credentials + 1
    };
    if credential_matches {
        Ok(())
    } else {
        Err((2001, "The initiator information is invalid."))
    }
}

/// The outcome of an authorised payment: the first rule it breaks, in
/// Daraja's order, or success.
fn decide(config: &MpesaConfig, state: &State_, request: &Order<'_>) -> Outcome {
    let charge = config.b2c_charge_cents;
    let customer = state.customers.get(request.party_b);
    if request.party_a != config.shortcode {
        (
            2028,
            "The request is not permitted according to product assignment.",
        )
    } else if !(request.party_b.starts_with("2547") || request.party_b.starts_with("2541")) {
        (-2, "Operator does not exist.")
    } else if customer.is_some_and(|customer| !customer.registered) {
        (
            2040,
            "Credit Party customer type (Unregistered or Registered Customer) can't be supported by the service.",
        )
    } else if request.amount_cents < config.min_amount_kes * 100 {
        (
            2,
            "Declined due to limit rule: less than the smallest transaction amount.",
        )
    } else if request.amount_cents > config.max_amount_kes * 100 {
        (
            3,
            "Declined due to limit rule: greater than the maximum transaction amount.",
        )
    } else if state.balances.utility_cents < request.amount_cents + charge {
        (1, "The balance is insufficient for the transaction.")
    } else {
        (0, "The service request is processed successfully.")
    }
}

/// Moves a successful payment: amount and charge out of the utility account,
/// the amount to the customer, who exists from then on.
fn pay_out(state: &mut State_, request: &Order<'_>, charge: i64) {
    state.balances.utility_cents -= request.amount_cents + charge;
    state.balances.charges_paid_cents -= charge;
    *state
        .balances
        .customers
        .entry(request.party_b.to_string())
        .or_insert(0) += request.amount_cents;
    state
        .customers
        .entry(request.party_b.to_string())
        .or_insert(CustomerRecord {
            name: "SANDBOX CUSTOMER".into(),
            registered: true,
        });
}

/// Marks a decimal that must reach the wire exactly as formatted (`-33.00`,
/// not `-33.0`): `serde_json::Value` holds numbers as f64, so the body carries
/// a marker string that [`to_wire`] replaces with the bare number.
fn raw_number(minor: i64) -> Value {
    Value::String(format!("{RAW_NUMBER_MARKER}{}", format_minor(minor)))
}

const RAW_NUMBER_MARKER: &str = "\u{1}raw-number:";

/// Serialises a body, turning [`raw_number`] markers into bare JSON numbers.
fn to_wire(body: &Value) -> String {
    let text = body.to_string();
    let marker = serde_json::to_string(RAW_NUMBER_MARKER).expect("a string serialises");
    let opening = &marker[..marker.len() - 1];
    let mut wire = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(opening) {
        wire.push_str(&rest[..start]);
        let after = &rest[start + opening.len()..];
        let end = after.find('"').expect("a marker ends with its string");
        wire.push_str(&after[..end]);
        rest = &after[end + 1..];
    }
    wire.push_str(rest);
    wire
}

fn b2c_result_body(daraja: &Daraja, payment: &Payment) -> Value {
    let state = lock(&daraja.state);
    let code = if payment.result_code == -2 {
        Value::from("SFC_IC0003")
    } else {
        Value::from(payment.result_code)
    };
    let mut result = serde_json::json!({
        "ResultType": 0,
        "ResultCode": code,
        "ResultDesc": payment.result_desc,
        "OriginatorConversationID": payment.originator_conversation_id,
        "ConversationID": payment.conversation_id,
        "TransactionID": payment.transaction_id,
        "ReferenceData": { "ReferenceItem": { "Key": "QueueTimeoutURL", "Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit" } },
    });
    if payment.result_code == 0 {
        let name = state
            .customers
            .get(&payment.party_b)
            .map_or("SANDBOX CUSTOMER", |customer| customer.name.as_str());
        let completed = eat_datetime(
            payment.finalised_ms.unwrap_or(payment.initiated_ms),
            "dd.MM.yyyy HH:mm:ss",
        );
        let whole_kes = payment.amount_cents / 100;
        result["ResultParameters"] = serde_json::json!({ "ResultParameter": [
            { "Key": "TransactionAmount", "Value": whole_kes },
            { "Key": "TransactionReceipt", "Value": payment.transaction_id },
            { "Key": "ReceiverPartyPublicName", "Value": format!("{} - {name}", payment.party_b) },
            { "Key": "TransactionCompletedDateTime", "Value": completed },
            { "Key": "B2CUtilityAccountAvailableFunds", "Value": raw_number(state.balances.utility_cents) },
            { "Key": "B2CWorkingAccountAvailableFunds", "Value": raw_number(state.balances.working_cents) },
            { "Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y" },
            { "Key": "B2CChargesPaidAccountAvailableFunds", "Value": raw_number(state.balances.charges_paid_cents) },
        ]});
    }
    serde_json::json!({ "Result": result })
}

async fn deliver_b2c_result(world: Arc<World>, request: B2cRequest, originator: String) {
    let base_delay = world.config.delay(world.config.mpesa.result_delay_ms, 2500);
    let decision = world.faults.decide_callback("mpesa", base_delay);
    tokio::time::sleep(decision.delay).await;
    if decision.queue_timeout {
        expire(&world.mpesa, &originator);
        // Daraja does not document this body; integrations model it as an
        // echo of the original request.
        world
            .post_callback(
                "mpesa",
                &request.queue_timeout_url,
                "application/json",
                request.raw.to_string(),
            )
            .await;
        return;
    }
    let payment = settle(&world.mpesa, &request.order(), &originator);
    if !decision.send {
        tracing::info!(originator, "b2c result dropped by the fault plan");
        return;
    }
    let body = to_wire(&b2c_result_body(&world.mpesa, &payment));
    let copies = if decision.duplicate { 2 } else { 1 };
    for _ in 0..copies {
        world
            .post_callback(
                "mpesa",
                &request.result_url,
                "application/json",
                body.clone(),
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_numbers_reach_the_wire_with_their_exact_digits() {
        let body = serde_json::json!({ "a": raw_number(-3300), "b": [raw_number(896_926_960)], "c": "text" });
        assert_eq!(
            to_wire(&body),
            r#"{"a":-33.00,"b":[8969269.60],"c":"text"}"#
        );
    }

    #[test]
    fn b2c_fields_are_validated_with_darajas_messages() {
        let valid = serde_json::json!({
            "OriginatorConversationID": "x-1", "InitiatorName": "testapi", "SecurityCredential": "abc",
            "CommandID": "BusinessPayment", "Amount": "10", "PartyA": "600992", "PartyB": "254708374149",
            "Remarks": "ok", "QueueTimeOutURL": "http://127.0.0.1:1/t", "ResultURL": "http://127.0.0.1:1/r", "Occasion": "x",
        });
        assert!(parse_b2c(&valid.to_string(), 3).is_ok());
        for (field, value, message) in [
            ("PartyB", "0708374149", "Bad Request - Invalid PartyB"),
            ("Remarks", "x", "Bad Request - Invalid Remarks"),
            ("Amount", "10.50", "Bad Request - Invalid Amount"),
            ("CommandID", "Pay", "Bad Request - Invalid CommandID"),
            ("ResultURL", "not a url", "Bad Request - Invalid ResultURL"),
        ] {
            let mut body = valid.clone();
            body[field] = Value::from(value);
            assert_eq!(
                parse_b2c(&body.to_string(), 3).err().as_deref(),
                Some(message)
            );
        }
        let mut v1 = valid.clone();
        v1.as_object_mut()
            .expect("object")
            .remove("OriginatorConversationID");
        assert!(
            parse_b2c(&v1.to_string(), 1).is_ok(),
            "v1 has no OriginatorConversationID"
        );
        assert!(parse_b2c(&v1.to_string(), 3).is_err(), "v3 requires it");
    }
}
