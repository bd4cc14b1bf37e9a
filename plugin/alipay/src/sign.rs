//! mapi signatures: every parameter but `sign`, `sign_type` and empty values,
//! sorted by key, joined as `k=v&…` with raw values; then MD5 with the key
//! appended, or SHA1withRSA (`RSA`) / SHA256withRSA (`RSA2`), base64.

use std::collections::BTreeMap;

use base64::Engine as _;
use md5::{Digest, Md5};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use sha1::Sha1;
use sha2::Sha256;

use super::{AlipaySettings, Keys};
use corridor_connector_kit::bindings::corridor::connector::types::Failure;

/// A mapi signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    /// `lowercase_hex(md5(content + key))`.
    Md5,
    /// SHA1withRSA.
    Rsa,
    /// SHA256withRSA.
    Rsa2,
}

impl SignType {
    /// From the wire name.
    pub fn parse(text: &str) -> Option<SignType> {
        match text {
            "MD5" => Some(SignType::Md5),
            "RSA" => Some(SignType::Rsa),
            "RSA2" => Some(SignType::Rsa2),
            _ => None,
        }
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::Rsa => "RSA",
            SignType::Rsa2 => "RSA2",
        }
    }
}

/// The string that is signed.
pub fn signing_content(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(key, value)| {
            key.as_str() != "sign" && key.as_str() != "sign_type" && !value.is_empty()
        })
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

impl AlipaySettings {
    /// The sign type this merchant uses.
    pub fn sign_type(&self) -> SignType {
        match &self.keys {
            Keys::Md5 { .. } => SignType::Md5,
            Keys::Rsa { sign_type, .. } => *sign_type,
        }
    }
}

/// Signs `params` as the merchant.
pub fn sign(settings: &AlipaySettings, params: &BTreeMap<String, String>) -> String {
    let content = signing_content(params);
    let base64 = |bytes: Box<[u8]>| base64::engine::general_purpose::STANDARD.encode(bytes);
    match &settings.keys {
        Keys::Md5 { key } => hex::encode(Md5::digest(format!("{content}{key}"))),
        Keys::Rsa {
            sign_type: SignType::Rsa,
            merchant,
            ..
        } => base64(
            SigningKey::<Sha1>::new((**merchant).clone())
                .sign(content.as_bytes())
                .to_bytes(),
        ),
        Keys::Rsa { merchant, .. } => base64(
            SigningKey::<Sha256>::new((**merchant).clone())
                .sign(content.as_bytes())
                .to_bytes(),
        ),
    }
}

/// `params` with `sign` and `sign_type` added.
pub fn signed(
    settings: &AlipaySettings,
    mut params: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Failure> {
    params.remove("sign");
    params.remove("sign_type");
    let signature = sign(settings, &params);
    params.insert("sign".into(), signature);
    params.insert("sign_type".into(), settings.sign_type().name().into());
    Ok(params)
}

/// Whether `sign` over `params` is Alipay's: the MD5 key, or Alipay's public
/// key. A message signed with another algorithm than ours is refused.
pub fn is_alipays(
    settings: &AlipaySettings,
    params: &BTreeMap<String, String>,
    sign_type: &str,
    sign: &str,
) -> bool {
    if SignType::parse(sign_type) != Some(settings.sign_type()) || sign.is_empty() {
        return false;
    }
    let content = signing_content(params);
    match &settings.keys {
        Keys::Md5 { key } => {
            let expected = hex::encode(Md5::digest(format!("{content}{key}")));
            constant_time_eq(expected.as_bytes(), sign.to_ascii_lowercase().as_bytes())
        }
        Keys::Rsa {
            sign_type, alipay, ..
        } => {
            let Some(signature) = base64::engine::general_purpose::STANDARD
                .decode(sign)
                .ok()
                .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok())
            else {
                return false;
            };
            match sign_type {
                SignType::Rsa => VerifyingKey::<Sha1>::new((**alipay).clone())
                    .verify(content.as_bytes(), &signature)
                    .is_ok(),
                _ => VerifyingKey::<Sha256>::new((**alipay).clone())
                    .verify(content.as_bytes(), &signature)
                    .is_ok(),
            }
        }
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::md5_settings;

    #[test]
    fn the_signing_string_drops_sign_sign_type_and_empty_values_and_sorts() {
        let params = super::super::params(&[
            ("total_fee", "10.00".into()),
            ("sign", "x".into()),
            ("sign_type", "MD5".into()),
            ("body", String::new()),
            ("currency", "USD".into()),
        ]);
        assert_eq!(signing_content(&params), "currency=USD&total_fee=10.00");
    }

    #[test]
    fn md5_signatures_verify_and_a_changed_value_does_not() {
        let settings = md5_settings();
        let mut params =
            super::super::params(&[("out_trade_no", "T1".into()), ("total_fee", "10.00".into())]);
        let signature = sign(&settings, &params);
        assert_eq!(signature.len(), 32);
        assert!(is_alipays(&settings, &params, "MD5", &signature));
        assert!(
            !is_alipays(&settings, &params, "RSA", &signature),
            "another sign type is refused"
        );
        params.insert("total_fee".into(), "1000.00".into());
        assert!(!is_alipays(&settings, &params, "MD5", &signature));
    }
}
