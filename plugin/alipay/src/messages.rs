//! mapi's messages as types, named after the services they belong to. The
//! signature covers the raw parameters, so a message is read into its type
//! only after [`crate::sign`] has checked them; what is not understood
//! (a `trade_status` Alipay added later) is kept as `Unknown`, never guessed.

use std::collections::BTreeMap;

/// Where a trade stands (`trade_status`), in a notification or a query reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeStatus {
    /// Created, not paid yet.
    WaitBuyerPay,
    /// Paid, and refundable.
    TradeSuccess,
    /// Paid, and final.
    TradeFinished,
    /// Closed unpaid (timed out or cancelled).
    TradeClosed,
    /// Not understood: establishes nothing.
    Unknown(String),
}

impl TradeStatus {
    /// Reads Alipay's word for it.
    pub fn parse(text: &str) -> TradeStatus {
        match text {
            "WAIT_BUYER_PAY" => TradeStatus::WaitBuyerPay,
            "TRADE_SUCCESS" => TradeStatus::TradeSuccess,
            "TRADE_FINISHED" => TradeStatus::TradeFinished,
            "TRADE_CLOSED" => TradeStatus::TradeClosed,
            other => TradeStatus::Unknown(other.to_string()),
        }
    }
}

/// The asynchronous notification of a `create_forex_trade_wap` trade, whose
/// signature is Alipay's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForexTradeNotification {
    /// For `notify_verify`.
    pub notify_id: String,
    /// The merchant's reference.
    pub out_trade_no: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// Where the trade stands.
    pub trade_status: TradeStatus,
    /// `total_fee` in `currency`, minor units.
    pub total_fee_minor: i64,
    /// The settlement currency.
    pub currency: String,
    /// The payer's masked Alipay account, when Alipay sends it.
    pub buyer_logon_id: Option<String>,
}

/// The `<response><trade>` of a signed `single_trade_query` reply, its money
/// fields as sent: they are only read when the status says the trade is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleTradeQueryResponse {
    /// The merchant's reference.
    pub out_trade_no: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// Where the trade stands.
    pub trade_status: TradeStatus,
    /// What the trade is for, in `currency` (`"10.00"`).
    pub total_fee: String,
    /// The settlement currency.
    pub currency: String,
    /// What the buyer was charged in CNY, when Alipay says.
    pub rmb_fee: Option<String>,
    /// The payer's masked Alipay account, when Alipay says.
    pub buyer_logon_id: Option<String>,
}

impl SingleTradeQueryResponse {
    /// Reads the trade's fields by name.
    pub fn from_fields(trade: &BTreeMap<String, String>) -> SingleTradeQueryResponse {
        let field = |name: &str| trade.get(name).cloned().unwrap_or_default();
        SingleTradeQueryResponse {
            out_trade_no: field("out_trade_no"),
            trade_no: field("trade_no"),
            trade_status: TradeStatus::parse(&field("trade_status")),
            total_fee: field("total_fee"),
            currency: field("currency"),
            rmb_fee: trade.get("rmb_fee").cloned(),
            buyer_logon_id: trade.get("buyer_logon_id").cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_trade_status_is_understood_and_others_are_kept() {
        for (text, status) in [
            ("WAIT_BUYER_PAY", TradeStatus::WaitBuyerPay),
            ("TRADE_SUCCESS", TradeStatus::TradeSuccess),
            ("TRADE_FINISHED", TradeStatus::TradeFinished),
            ("TRADE_CLOSED", TradeStatus::TradeClosed),
        ] {
            assert_eq!(TradeStatus::parse(text), status);
        }
        assert_eq!(
            TradeStatus::parse("TRADE_PENDING"),
            TradeStatus::Unknown("TRADE_PENDING".into())
        );
    }
}
