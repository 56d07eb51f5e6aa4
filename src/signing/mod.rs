//! Stage 4, signing. Enters: a result payload (JSON). Leaves: a compact JWS
//! (RFC 7515) signed with the device's Ed25519 key (RFC 8037), verifiable by any
//! JOSE library against the JWKS. The private key never leaves `state_dir/keys`
//! and is never logged.

pub mod chain;
mod jws;
mod keys;

pub use jws::{JoseAlg, JwsError, Verified, sign_compact, header_of, sign_with_header, verify_compact, verify_with_key};
pub use keys::{DeviceKeys, Jwk, Jwks, KeyError, thumbprint};

/// The `typ` of every result: marks the JWS as an idverifd result, not any token.
pub const RESULT_TYP: &str = "idverif+jws";
