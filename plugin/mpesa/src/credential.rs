//! `SecurityCredential`: the initiator password's bytes encrypted with the
//! public key of Daraja's X.509 certificate, RSA PKCS#1 v1.5, base64.
//! Randomised, so it never byte-matches an earlier one.

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};
use x509_cert::Certificate;
use x509_cert::der::{Decode, DecodePem};

use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::misconfigured;

/// The public key in a PEM certificate.
pub fn certificate_key(certificate_pem: &str) -> Result<RsaPublicKey, Failure> {
    let certificate = Certificate::from_pem(certificate_pem.trim().as_bytes())
        .or_else(|_| Certificate::from_der(certificate_pem.as_bytes()))
        .map_err(|error| {
            misconfigured(format!(
                "mpesa_certificate is not an X.509 certificate: {error}"
            ))
        })?;
    let key_bits = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    RsaPublicKey::from_pkcs1_der(key_bits).map_err(|error| {
        misconfigured(format!(
            "mpesa_certificate does not hold an RSA key: {error}"
        ))
    })
}

/// Encrypts `password` for `key`, with randomness from `rng`.
pub fn security_credential(
    password: &str,
    key: &RsaPublicKey,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<String, Failure> {
    let encrypted = key
        .encrypt(rng, Pkcs1v15Encrypt, password.as_bytes())
        .map_err(|error| {
            misconfigured(format!("cannot encrypt the initiator password: {error}"))
        })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(encrypted))
}
