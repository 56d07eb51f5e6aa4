//! One CA for a whole fleet: the device key certified by the exam authority's own
//! X.509 CA. `csr` makes the PKCS#10 request for the signing key; `check_leaf`
//! accepts a chain only when its first certificate certifies that key; results
//! then carry the chain as `x5c`, and `verify_chain` walks it to a root the
//! verifier trusts (any algorithm the CA uses: Ed25519, ECDSA, RSA), so a server
//! trusts every appliance without a JWKS per box.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64_STD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use x509_parser::prelude::*;

/// Ed25519's algorithm identifier (RFC 8410).
const OID_ED25519: &str = "1.3.101.112";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("no certificate in the chain")]
    Empty,
    #[error("certificate {index} of the chain is not valid DER X.509: {reason}")]
    Unparsable { index: usize, reason: String },
    #[error("the chain's first certificate does not certify this device's current signing key")]
    WrongKey,
    #[error("the first certificate's key is not Ed25519")]
    NotEd25519,
    #[error("certificate {index} ({subject}) is not valid at {at} (valid {not_before} to {not_after})")]
    Expired { index: usize, subject: String, at: String, not_before: String, not_after: String },
    #[error("certificate {index} ({subject}) is not signed by the next one in the chain or by a trusted root")]
    BadSignature { index: usize, subject: String },
    #[error("certificate {index} ({subject}) signs others but is not a CA (basicConstraints CA:TRUE, keyCertSign)")]
    NotCa { index: usize, subject: String },
    #[error("the first certificate's key usage does not allow digital signatures")]
    NoSigningUsage,
    #[error("the chain does not end at a trusted root")]
    Untrusted,
    #[error("x5c entry {0} is not base64")]
    BadX5c(usize),
}

/// A PKCS#10 request (PEM) for the device's signing key, subject `CN=<common_name>`.
pub fn csr(key: &SigningKey, common_name: &str) -> Result<String, String> {
    let pkcs8 = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_bytes()).map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.serialize_request(&key_pair).and_then(|r| r.pem()).map_err(|e| e.to_string())
}

/// Checks that `chain[0]` (DER) certifies `key`: the chain may be installed for it.
pub fn check_leaf(chain: &[Vec<u8>], key: &SigningKey) -> Result<(), ChainError> {
    let leaf = chain.first().ok_or(ChainError::Empty)?;
    let public = leaf_ed25519_key(leaf)?;
    if public != key.verifying_key().to_bytes() {
        return Err(ChainError::WrongKey);
    }
    Ok(())
}

/// The Ed25519 public key of a DER certificate.
pub fn leaf_ed25519_key(der: &[u8]) -> Result<[u8; 32], ChainError> {
    let cert = parse(der, 0)?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm.to_id_string() != OID_ED25519 {
        return Err(ChainError::NotEd25519);
    }
    spki.subject_public_key.data.as_ref().try_into().map_err(|_| ChainError::NotEd25519)
}

/// The chain as a JWS `x5c` value: standard base64 of each DER, leaf first (RFC 7515 §4.1.6).
/// A self-signed root at the end is left out: the verifier holds it as its trust
/// anchor, and every byte of the header is carried by every result.
pub fn x5c(chain: &[Vec<u8>]) -> Vec<String> {
    let carried = match chain.split_last() {
        Some((last, rest)) if !rest.is_empty() && is_self_signed(last) => rest,
        _ => chain,
    };
    carried.iter().map(|der| B64_STD.encode(der)).collect()
}

fn is_self_signed(der: &[u8]) -> bool {
    parse(der, 0).is_ok_and(|c| c.subject() == c.issuer() && c.verify_signature(None).is_ok())
}

/// DER certificates from an `x5c` value.
pub fn from_x5c(x5c: &[String]) -> Result<Vec<Vec<u8>>, ChainError> {
    x5c.iter().enumerate().map(|(i, c)| B64_STD.decode(c).map_err(|_| ChainError::BadX5c(i))).collect()
}

/// Walks `chain` (leaf first) to one of `roots`: every certificate valid at
/// `at_unix`, each signed by the next (or by a root), every signer a CA, the
/// leaf allowed to sign. Returns the leaf's Ed25519 key.
pub fn verify_chain(chain: &[Vec<u8>], roots: &[Vec<u8>], at_unix: i64) -> Result<[u8; 32], ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    let certs = chain.iter().enumerate().map(|(i, der)| parse(der, i)).collect::<Result<Vec<_>, _>>()?;
    let roots = roots.iter().enumerate().map(|(i, der)| parse(der, i)).collect::<Result<Vec<_>, _>>()?;
    let at = ASN1Time::from_timestamp(at_unix).map_err(|_| ChainError::Untrusted)?;
    for (index, cert) in certs.iter().enumerate() {
        let validity = cert.validity();
        if !validity.is_valid_at(at) {
            return Err(ChainError::Expired {
                index,
                subject: cert.subject().to_string(),
                at: at.to_string(),
                not_before: validity.not_before.to_string(),
                not_after: validity.not_after.to_string(),
            });
        }
    }
    let leaf = &certs[0];
    if let Ok(Some(usage)) = leaf.key_usage() {
        if !usage.value.digital_signature() {
            return Err(ChainError::NoSigningUsage);
        }
    }
    for (index, cert) in certs.iter().enumerate() {
        let subject = cert.subject().to_string();
        // A root the verifier trusts ends the walk, whether or not the chain carries it.
        if roots.iter().any(|r| r.as_ref() == cert.as_ref()) {
            return leaf_ed25519_key(&chain[0]);
        }
        let trusted_issuer = roots.iter().find(|r| r.subject() == cert.issuer() && cert.verify_signature(Some(r.public_key())).is_ok());
        if let Some(root) = trusted_issuer {
            require_ca(root, index + 1)?;
            return leaf_ed25519_key(&chain[0]);
        }
        let Some(issuer) = certs.get(index + 1) else { return Err(ChainError::Untrusted) };
        if cert.verify_signature(Some(issuer.public_key())).is_err() {
            return Err(ChainError::BadSignature { index, subject });
        }
        require_ca(issuer, index + 1)?;
    }
    Err(ChainError::Untrusted)
}

fn require_ca(cert: &X509Certificate<'_>, index: usize) -> Result<(), ChainError> {
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let may_sign_certs = !matches!(cert.key_usage(), Ok(Some(ku)) if !ku.value.key_cert_sign());
    if is_ca && may_sign_certs { Ok(()) } else { Err(ChainError::NotCa { index, subject: cert.subject().to_string() }) }
}

fn parse(der: &[u8], index: usize) -> Result<X509Certificate<'_>, ChainError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| ChainError::Unparsable { index, reason: e.to_string() })
}

/// Verifies a result by its own `x5c` chain against trusted roots (PEM), with no
/// JWKS: the chain walked to a root at `at_unix`, then the signature with the leaf.
pub fn verify_by_chain(jws: &str, roots_pem: &[u8], at_unix: i64) -> Result<super::Verified, String> {
    let roots = certs_from_pem(roots_pem)?;
    let header = super::header_of(jws).map_err(|e| e.to_string())?;
    let x5c: Vec<String> = header
        .get("x5c")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or("the result carries no x5c chain (the device had no CA certificate when it signed): verify it with --jwks")?;
    let chain = from_x5c(&x5c).map_err(|e| e.to_string())?;
    let leaf = verify_chain(&chain, &roots, at_unix).map_err(|e| e.to_string())?;
    super::verify_with_key(jws, &leaf).map_err(|e| e.to_string())
}

/// DER certificates from PEM text (`-----BEGIN CERTIFICATE-----` blocks, in order).
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .map(|c| c.map(|c| c.as_ref().to_vec()).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() { Err("no PEM certificate found".into()) } else { Ok(certs) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA made with rcgen, and a device certificate it issues for `device`'s key from its CSR.
    fn issue(device: &SigningKey, ca_is_ca: bool) -> (Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Exam authority root");
        if ca_is_ca {
            ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        }
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let request = rcgen::CertificateSigningRequestParams::from_pem(&csr(device, "device-1").unwrap()).unwrap();
        let leaf = request.signed_by(&ca, &ca_key).unwrap();
        (leaf.der().to_vec(), ca.der().to_vec())
    }

    fn now() -> i64 {
        crate::unix_now() as i64
    }

    #[test]
    fn a_chain_from_the_csr_verifies_to_its_root_and_only_to_it() {
        let device = SigningKey::from_bytes(&[9u8; 32]);
        let (leaf, root) = issue(&device, true);
        check_leaf(std::slice::from_ref(&leaf), &device).unwrap();
        let key = verify_chain(&[leaf.clone(), root.clone()], std::slice::from_ref(&root), now()).unwrap();
        assert_eq!(key, device.verifying_key().to_bytes());
        // The chain need not carry the root the verifier holds.
        verify_chain(std::slice::from_ref(&leaf), std::slice::from_ref(&root), now()).unwrap();

        let (_, other_root) = issue(&device, true);
        assert_eq!(verify_chain(std::slice::from_ref(&leaf), &[other_root], now()), Err(ChainError::Untrusted));
        // rcgen's certificates start in 1975: at the epoch they are not yet valid.
        assert!(matches!(verify_chain(std::slice::from_ref(&leaf), &[root], 0), Err(ChainError::Expired { .. })));
    }

    #[test]
    fn a_chain_for_another_key_is_refused_at_install() {
        let (leaf, _) = issue(&SigningKey::from_bytes(&[1u8; 32]), true);
        assert_eq!(check_leaf(&[leaf], &SigningKey::from_bytes(&[2u8; 32])), Err(ChainError::WrongKey));
        assert_eq!(check_leaf(&[], &SigningKey::from_bytes(&[2u8; 32])), Err(ChainError::Empty));
    }

    #[test]
    fn an_issuer_that_is_not_a_ca_does_not_make_a_chain() {
        let device = SigningKey::from_bytes(&[3u8; 32]);
        let (leaf, not_ca) = issue(&device, false);
        assert!(matches!(verify_chain(&[leaf], &[not_ca], now()), Err(ChainError::NotCa { .. })));
    }

    #[test]
    fn x5c_round_trips_and_leaves_the_root_to_the_verifier() {
        let chain = vec![vec![1u8, 2, 3], vec![4u8, 5]];
        assert_eq!(from_x5c(&x5c(&chain)).unwrap(), chain);
        let (leaf, root) = issue(&SigningKey::from_bytes(&[4u8; 32]), true);
        assert_eq!(from_x5c(&x5c(&[leaf.clone(), root])).unwrap(), vec![leaf]);
        assert_eq!(from_x5c(&["%%".into()]), Err(ChainError::BadX5c(0)));
    }
}
