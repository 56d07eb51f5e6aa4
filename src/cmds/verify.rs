//! `idverifd verify`: checks a signed result against a JWKS or, with `--ca` alone,
//! against the fleet CA through the result's own `x5c` chain.

use std::io::Read;
use std::path::PathBuf;

use idverifd::signing::{Jwks, verify_compact};
use serde_json::json;

use super::{Failure, print_json};

/// `idverifd verify`'s arguments.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[arg(long)]
    pub json: bool,
    /// The device's JWKS (file or https URL). Without it, the result's own x5c
    /// chain is verified to the root(s) in --ca.
    #[arg(long, required_unless_present = "ca")]
    pub jwks: Option<String>,
    /// With --jwks: the certificate (PEM) to trust for an https JWKS URL.
    /// Without: the fleet CA's root certificate(s) the result's chain must reach.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The compact JWS file, or - for standard input.
    pub result: String,
}

pub fn run(args: VerifyArgs) -> Result<u8, Failure> {
    verify(args.json, args.jwks.as_deref(), args.ca, &args.result)
}

fn verify(json: bool, jwks_source: Option<&str>, ca: Option<PathBuf>, result: &str) -> Result<u8, Failure> {
    let jws = if result == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| Failure(2, format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(result).map_err(|e| Failure(2, format!("{result}: {e}")))?
    };
    let Some(jwks_source) = jwks_source else {
        let ca = ca.expect("clap requires --ca without --jwks");
        let roots = std::fs::read(&ca).map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
        return Ok(report_verification(json, idverifd::signing::chain::verify_by_chain(&jws, &roots, idverifd::unix_now() as i64)));
    };
    let jwks_text = if jwks_source.starts_with("https://") || jwks_source.starts_with("http://") {
        fetch_jwks(jwks_source, ca.as_deref())?
    } else {
        std::fs::read_to_string(jwks_source).map_err(|e| Failure(2, format!("{jwks_source}: {e}")))?
    };
    let jwks: Jwks = serde_json::from_str(&jwks_text).map_err(|e| Failure(2, format!("{jwks_source}: not a JWKS: {e}")))?;
    Ok(report_verification(json, verify_compact(&jws, &jwks).map_err(|e| e.to_string())))
}

/// Prints a verification's outcome; exit 0 if valid, 1 if not.
fn report_verification(json: bool, outcome: Result<idverifd::signing::Verified, String>) -> u8 {
    match outcome {
        Ok(v) => {
            if json {
                print_json(&json!({"valid": true, "kid": v.kid, "header": v.header, "payload": v.payload}));
            } else {
                eprintln!("signature valid (kid {})", v.kid);
            }
            0
        }
        Err(e) => {
            if json {
                print_json(&json!({"valid": false, "error": e.to_string()}));
            }
            eprintln!("idverifd: verification failed: {e}");
            1
        }
    }
}

fn fetch_jwks(url: &str, ca: Option<&std::path::Path>) -> Result<String, Failure> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
            roots.add(cert).map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
        }
    } else {
        return Err(Failure(2, "--ca FILE is needed to trust the device's certificate for an https JWKS".into()));
    }
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let agent = ureq::AgentBuilder::new().tls_config(std::sync::Arc::new(tls)).build();
    let response = agent.get(url).call().map_err(|e| Failure(2, format!("{url}: {e}")))?;
    response.into_string().map_err(|e| Failure(2, format!("{url}: {e}")))
}
