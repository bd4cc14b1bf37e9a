//! The mapi gateway's XML replies: `<alipay><is_success>T|F</is_success>
//! <error>CODE</error><response>…</response><sign/><sign_type/></alipay>`.

use std::collections::BTreeMap;

use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::unknown;

/// A parsed gateway reply.
pub struct GatewayReply {
    /// `is_success` was `T`.
    pub success: bool,
    /// `error`, when `is_success` is `F`.
    pub error: Option<String>,
    /// The children of `<response><trade>` by name.
    pub trade: BTreeMap<String, String>,
    /// `sign`, if present.
    pub sign: Option<String>,
    /// `sign_type`, if present.
    pub sign_type: Option<String>,
}

/// Parses the gateway's XML. A body that is not such XML is `unknown`: the
/// gateway answered, but not in a way that says what happened.
pub fn parse(body: &[u8]) -> Result<GatewayReply, Failure> {
    let text = std::str::from_utf8(body)
        .map_err(|_| unknown("bad-response", "the gateway's reply is not UTF-8"))?;
    let document = roxmltree::Document::parse(text).map_err(|error| {
        unknown(
            "bad-response",
            format!("the gateway's reply is not XML: {error}"),
        )
    })?;
    let root = document.root_element();
    if root.tag_name().name() != "alipay" {
        return Err(unknown(
            "bad-response",
            "the gateway's reply is not <alipay>",
        ));
    }
    let child_text = |name: &str| {
        root.children()
            .find(|node| node.tag_name().name() == name)
            .map(|node| node.text().unwrap_or_default().trim().to_string())
    };
    let trade = root
        .children()
        .find(|node| node.tag_name().name() == "response")
        .and_then(|response| {
            response
                .children()
                .find(|node| node.tag_name().name() == "trade")
        })
        .map(|trade| {
            trade
                .children()
                .filter(roxmltree::Node::is_element)
                .map(|field| {
                    (
                        field.tag_name().name().to_string(),
                        field.text().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let success = match child_text("is_success").as_deref() {
        Some("T") => true,
        Some("F") => false,
        _ => {
            return Err(unknown(
                "bad-response",
                "the gateway's reply has no is_success",
            ));
        }
    };
    Ok(GatewayReply {
        success,
        error: child_text("error"),
        trade,
        sign: child_text("sign"),
        sign_type: child_text("sign_type"),
    })
}
