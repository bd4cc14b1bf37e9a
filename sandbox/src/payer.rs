//! The sandbox payer: pays a signed Alipay order the way a person does in a
//! browser. It opens the payment URL (which creates the trade, as the real
//! `create_forex_trade_wap` does), reads the cashier's form, fills in the
//! buyer's login and payment password, submits it, and reads the result page.
//!
//! It knows the page only as a browser does: the form's action and fields,
//! and the ids the result page marks its values with. Nothing is posted that
//! the page did not ask for.

use std::time::Duration;

use reqwest::Url;
use scraper::{ElementRef, Html, Selector};

/// How long one page may take; the cashier is local.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A paid order, as the wallet's result page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    /// Alipay's trade number.
    pub trade_no: String,
    /// The merchant's reference.
    pub out_trade_no: String,
    /// What the buyer was charged, as shown: `65.94 CNY`.
    pub charged: String,
}

/// Why the payer could not pay; each says what to do in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    /// The payment URL is not an http(s) URL.
    #[error("{url:?} is not an http(s) payment URL")]
    NotAUrl {
        /// What was given.
        url: String,
    },
    /// The cashier did not answer.
    #[error("cannot reach the cashier at {url}: {reason}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The gateway refused the order itself (a mapi error: a bad signature,
    /// `DUPLICATE_OUT_TRADE_NO`, …).
    #[error("the Alipay gateway refused the order: {code}")]
    OrderRefused {
        /// mapi's error code.
        code: String,
    },
    /// The page has no payment form with a login and password field.
    #[error("the page at {url} has no payment form")]
    NoForm {
        /// Where.
        url: String,
    },
    /// The wallet refused the payment (a wrong password, a trade paid already, …).
    #[error("the wallet refused the payment: {reason}")]
    Refused {
        /// The wallet's reason, as the page shows it.
        reason: String,
    },
    /// The result page says neither paid nor refused.
    #[error("the wallet's answer is not a result page (HTTP {status})")]
    NoResult {
        /// Its HTTP status.
        status: u16,
    },
}

/// A form as a browser submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// Where it is posted, resolved against the page's URL.
    pub action: Url,
    /// Its named fields, in document order, with their values.
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The first POST form of `html` that has `login` and `pay_password` fields.
    pub fn payment_form(html: &str, page_url: &Url) -> Option<Form> {
        let document = Html::parse_document(html);
        document
            .select(&selector("form"))
            .filter(|form| {
                form.value()
                    .attr("method")
                    .is_some_and(|method| method.eq_ignore_ascii_case("post"))
            })
            .filter_map(|form| Form::read(form, page_url))
            .find(|form| form.has("login") && form.has("pay_password"))
    }

    fn read(form: ElementRef<'_>, page_url: &Url) -> Option<Form> {
        let action = page_url
            .join(form.value().attr("action").unwrap_or_default())
            .ok()?;
        let fields = form
            .select(&selector("input[name]"))
            .filter(|input| {
                !matches!(
                    input.value().attr("type"),
                    Some("submit" | "button" | "image" | "reset")
                )
            })
            .filter_map(|input| {
                let name = input.value().attr("name")?;
                let value = input.value().attr("value").unwrap_or_default();
                Some((name.to_string(), value.to_string()))
            })
            .collect();
        Some(Form { action, fields })
    }

    fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(field, _)| field == name)
    }

    /// Types `value` into the field `name`.
    pub fn fill(&mut self, name: &str, value: &str) {
        for (field, current) in &mut self.fields {
            if field == name {
                *current = value.to_string();
            }
        }
    }
}

/// Opens `payment_url`, logs in as `login` with `password`, and pays.
pub async fn pay(payment_url: &str, login: &str, password: &str) -> Result<Paid, PayError> {
    let url = Url::parse(payment_url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or_else(|| PayError::NotAUrl {
            url: payment_url.to_string(),
        })?;
    let browser = reqwest::Client::builder()
        .no_proxy()
        .timeout(PAGE_TIMEOUT)
        .build()
        .map_err(|error| unreachable(&url, &error))?;
    let cashier = browser
        .get(url.clone())
        .send()
        .await
        .map_err(|error| unreachable(&url, &error))?;
    let page_url = cashier.url().clone();
    let page = cashier
        .text()
        .await
        .map_err(|error| unreachable(&url, &error))?;
    let Some(mut form) = Form::payment_form(&page, &page_url) else {
        return Err(no_form(&page, &page_url));
    };
    form.fill("login", login);
    form.fill("pay_password", password);
    let answer = browser
        .post(form.action.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form.fields).unwrap_or_default())
        .send()
        .await
        .map_err(|error| unreachable(&form.action, &error))?;
    let status = answer.status().as_u16();
    let result = answer
        .text()
        .await
        .map_err(|error| unreachable(&form.action, &error))?;
    read_result(&result, status)
}

/// Why a page has no form: mapi's XML error, the cashier's own (a paid
/// order), or neither.
fn no_form(page: &str, page_url: &Url) -> PayError {
    if let Some(reason) = text_of(page, "#error") {
        return PayError::Refused { reason };
    }
    match text_of(page, "alipay > error") {
        Some(code) => PayError::OrderRefused { code },
        None => PayError::NoForm {
            url: page_url.to_string(),
        },
    }
}

/// The result page: a receipt with `result-status` 9000, or the `error` shown.
fn read_result(html: &str, status: u16) -> Result<Paid, PayError> {
    if text_of(html, "#result-status").as_deref() == Some("9000") {
        let field = |css: &str| text_of(html, css).unwrap_or_default();
        return Ok(Paid {
            trade_no: field("#trade-no"),
            out_trade_no: field("#out-trade-no"),
            charged: field("#cny"),
        });
    }
    match text_of(html, "#error") {
        Some(reason) => Err(PayError::Refused { reason }),
        None => Err(PayError::NoResult { status }),
    }
}

/// The trimmed text of the first element `css` selects.
fn text_of(html: &str, css: &str) -> Option<String> {
    let document = Html::parse_document(html);
    let element = document.select(&selector(css)).next()?;
    let text = element.text().collect::<String>().trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn selector(css: &str) -> Selector {
    // The selectors are this module's own constants and ids: always valid.
    Selector::parse(css).unwrap_or_else(|error| panic!("selector {css:?}: {error}"))
}

fn unreachable(url: &Url, error: &reqwest::Error) -> PayError {
    PayError::Unreachable {
        url: url.to_string(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> Url {
        Url::parse("http://127.0.0.1:18080/gateway.do?service=x").expect("url")
    }

    #[test]
    fn the_payment_form_is_read_as_a_browser_submits_it() {
        let html = "<form method=get action=/search><input name=q></form>\
            <form method=POST action=\"/sandbox/pay\"><input type=hidden name=partner value=2088>\
            <input name=login placeholder=someone><input type=password name=pay_password>\
            <button type=submit>Pay</button><input type=submit name=go value=Go></form>";
        let mut form = Form::payment_form(html, &page_url()).expect("a payment form");
        assert_eq!(form.action.as_str(), "http://127.0.0.1:18080/sandbox/pay");
        form.fill("login", "buyer@example.com");
        assert_eq!(
            form.fields,
            [
                ("partner".to_string(), "2088".to_string()),
                ("login".to_string(), "buyer@example.com".to_string()),
                ("pay_password".to_string(), String::new()),
            ]
        );
        assert_eq!(
            Form::payment_form("<form method=post><input name=q></form>", &page_url()),
            None,
            "a form without login and password is not the payment form"
        );
    }

    #[test]
    fn a_result_page_reads_as_paid_or_as_the_reason_it_was_refused() {
        let paid = "<p><span id=result-status>9000</span></p><dd id=trade-no> 2026 </dd>\
                    <dd id=out-trade-no>COR-1</dd><dd id=cny>65.94 CNY</dd>";
        assert_eq!(
            read_result(paid, 200),
            Ok(Paid {
                trade_no: "2026".into(),
                out_trade_no: "COR-1".into(),
                charged: "65.94 CNY".into(),
            })
        );
        assert_eq!(
            read_result("<p id=error>wrong payment password</p><form></form>", 200),
            Err(PayError::Refused {
                reason: "wrong payment password".into()
            })
        );
        assert_eq!(
            read_result("<html>gateway timeout</html>", 504),
            Err(PayError::NoResult { status: 504 })
        );
        assert_eq!(
            no_form(
                "<?xml version=\"1.0\"?><alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>",
                &page_url()
            ),
            PayError::OrderRefused {
                code: "ILLEGAL_SIGN".into()
            },
            "mapi's XML error names the code"
        );
        assert_eq!(
            no_form(
                "<p id=error>the trade is not awaiting payment</p>",
                &page_url()
            ),
            PayError::Refused {
                reason: "the trade is not awaiting payment".into()
            }
        );
        assert!(matches!(
            no_form("<p>hello</p>", &page_url()),
            PayError::NoForm { .. }
        ));
    }
}
