//! The Standard Webhooks asymmetric signature: `v1a,` and the base64 Ed25519
//! signature of `{webhook-id}.{webhook-timestamp}.{body}`, made with the device
//! signing key, so a receiver checks it with the same JWKS as the results.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};

/// The `webhook-signature` header's value.
pub fn sign(key: &SigningKey, id: &str, timestamp: u64, body: &[u8]) -> String {
    format!("v1a,{}", STANDARD.encode(key.sign(&signed_content(id, timestamp, body)).to_bytes()))
}

/// What is signed.
pub fn signed_content(id: &str, timestamp: u64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier};

    #[test]
    fn the_signature_verifies_over_id_timestamp_and_body_and_nothing_else() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let header = sign(&key, "msg_1", 1_700_000_000, b"{\"type\":\"verification.decided\"}");
        let raw = STANDARD.decode(header.strip_prefix("v1a,").unwrap()).unwrap();
        let signature = Signature::from_slice(&raw).unwrap();
        let public = key.verifying_key();
        assert!(public.verify(b"msg_1.1700000000.{\"type\":\"verification.decided\"}", &signature).is_ok());
        assert!(public.verify(b"msg_2.1700000000.{\"type\":\"verification.decided\"}", &signature).is_err());
        assert!(public.verify(b"msg_1.1700000001.{\"type\":\"verification.decided\"}", &signature).is_err());
    }
}
