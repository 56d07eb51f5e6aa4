//! Compact JWS with EdDSA: `b64url(header).b64url(payload).b64url(signature)`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Value, json};

use super::keys::Jwks;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwsError {
    #[error("not a compact JWS (expected three base64url parts separated by dots)")]
    Malformed,
    #[error("the JWS header is not valid JSON")]
    BadHeader,
    #[error("the JWS payload is not valid JSON")]
    BadPayload,
    #[error("unsupported algorithm {0:?}: only EdDSA and Ed25519 are accepted")]
    Algorithm(String),
    #[error("no key with kid {0:?} in the JWKS")]
    UnknownKid(String),
    #[error("the JWK for kid {0:?} is not an Ed25519 public key")]
    BadKey(String),
    #[error("signature does not verify")]
    BadSignature,
}

pub fn sign_compact(key: &SigningKey, kid: &str, typ: &str, payload: &Value) -> String {
    sign_with_header(key, &json!({"alg": "EdDSA", "kid": kid, "typ": typ}), payload)
}

/// The JOSE name written in `alg` for an Ed25519 signature. RFC 9864 deprecates
/// the polymorphic `EdDSA` for the fully specified `Ed25519`; `EdDSA` stays the
/// default while PyJWT accepts only it (joserfc ≥ 1.5 and jose ≥ 5.10 take both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum JoseAlg {
    #[default]
    EdDSA,
    Ed25519,
}

impl JoseAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            JoseAlg::EdDSA => "EdDSA",
            JoseAlg::Ed25519 => "Ed25519",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [JoseAlg::EdDSA, JoseAlg::Ed25519].into_iter().find(|a| a.as_str() == name)
    }
}

/// Signs with a header of the caller's making (its `alg` must be a [`JoseAlg`]).
pub fn sign_with_header(key: &SigningKey, header: &Value, payload: &Value) -> String {
    let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload.to_string()));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(signature.to_bytes()))
}

#[derive(Debug, Clone)]
pub struct Verified {
    pub header: Value,
    pub payload: Value,
    pub kid: String,
}

/// A compact JWS split and decoded, its signature not yet checked.
struct Parsed {
    header: Value,
    signing_input: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn parse(jws: &str) -> Result<Parsed, JwsError> {
    let parts: Vec<&str> = jws.trim().split('.').collect();
    let [h, p, s] = parts.as_slice() else { return Err(JwsError::Malformed) };
    let header_bytes = B64.decode(h).map_err(|_| JwsError::Malformed)?;
    let payload = B64.decode(p).map_err(|_| JwsError::Malformed)?;
    let signature = B64.decode(s).map_err(|_| JwsError::Malformed)?;
    let header: Value = serde_json::from_slice(&header_bytes).map_err(|_| JwsError::BadHeader)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    if JoseAlg::from_name(alg).is_none() {
        return Err(JwsError::Algorithm(alg.to_string()));
    }
    Ok(Parsed { header, signing_input: format!("{h}.{p}"), payload, signature })
}

/// The protected header of a compact JWS, unverified (to find its `x5c`).
pub fn header_of(jws: &str) -> Result<Value, JwsError> {
    parse(jws).map(|p| p.header)
}

pub fn verify_compact(jws: &str, jwks: &Jwks) -> Result<Verified, JwsError> {
    let parsed = parse(jws)?;
    let kid = parsed.header.get("kid").and_then(Value::as_str).unwrap_or_default().to_string();
    let jwk = jwks.keys.iter().find(|k| k.kid.as_deref() == Some(&kid)).ok_or_else(|| JwsError::UnknownKid(kid.clone()))?;
    let x: [u8; 32] = B64
        .decode(&jwk.x)
        .ok()
        .and_then(|b| b.try_into().ok())
        .filter(|_| jwk.kty == "OKP" && jwk.crv == "Ed25519")
        .ok_or_else(|| JwsError::BadKey(kid.clone()))?;
    check(parsed, &x, kid)
}

/// Verifies with a known Ed25519 public key (the leaf of a verified `x5c` chain).
pub fn verify_with_key(jws: &str, public: &[u8; 32]) -> Result<Verified, JwsError> {
    let parsed = parse(jws)?;
    let kid = parsed.header.get("kid").and_then(Value::as_str).unwrap_or_default().to_string();
    check(parsed, public, kid)
}

fn check(parsed: Parsed, public: &[u8; 32], kid: String) -> Result<Verified, JwsError> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| JwsError::BadKey(kid.clone()))?;
    let signature = Signature::from_slice(&parsed.signature).map_err(|_| JwsError::BadSignature)?;
    key.verify_strict(parsed.signing_input.as_bytes(), &signature).map_err(|_| JwsError::BadSignature)?;
    let payload = serde_json::from_slice(&parsed.payload).map_err(|_| JwsError::BadPayload)?;
    Ok(Verified { header: parsed.header, payload, kid })
}

#[cfg(test)]
mod tests {
    use super::super::keys::Jwk;
    use super::*;

    #[test]
    fn rfc8037_example_signature_is_reproduced() {
        // RFC 8037 appendix A.4: Ed25519 is deterministic, so the example must match.
        let d: [u8; 32] = B64.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").unwrap().try_into().unwrap();
        let key = SigningKey::from_bytes(&d);
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let sig = B64.encode(key.sign(input.as_bytes()).to_bytes());
        assert_eq!(sig, "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
    }

    #[test]
    fn round_trip_and_every_tampering_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let jwk = Jwk::ed25519(key.verifying_key().as_bytes());
        let kid = jwk.kid.clone().unwrap();
        let jwks = Jwks { keys: vec![jwk] };
        let jws = sign_compact(&key, &kid, "idverif+jws", &json!({"nonce": "n-1", "decision": "verified"}));
        let ok = verify_compact(&jws, &jwks).unwrap();
        assert_eq!(ok.payload["nonce"], "n-1");
        assert_eq!(ok.header["typ"], "idverif+jws");

        let [h, _, s]: [&str; 3] = jws.split('.').collect::<Vec<_>>().try_into().unwrap();
        let forged = format!("{h}.{}.{s}", B64.encode(json!({"nonce": "n-1", "decision": "rejected"}).to_string()));
        assert_eq!(verify_compact(&forged, &jwks).unwrap_err(), JwsError::BadSignature);
        let none_alg = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), jws.split('.').nth(1).unwrap());
        assert!(matches!(verify_compact(&none_alg, &jwks), Err(JwsError::Algorithm(_))));
        assert!(matches!(verify_compact(&jws, &Jwks::default()), Err(JwsError::UnknownKid(_))));
        assert_eq!(verify_compact("abc", &jwks).unwrap_err(), JwsError::Malformed);

        // The fully specified name (RFC 9864) verifies the same way.
        let header = json!({"alg": "Ed25519", "kid": kid, "typ": "idverif+jws"});
        let fully_specified = sign_with_header(&key, &header, &json!({"nonce": "n-2"}));
        assert_eq!(verify_compact(&fully_specified, &jwks).unwrap().payload["nonce"], "n-2");
    }
}
