//! Authenticated encryption of one value under one 256-bit key (ChaCha20-Poly1305
//! from `ring`). A sealed value is `nonce (12 bytes) || ciphertext || tag`; the
//! associated data binds it to where it is stored, so a sealed value moved to
//! another key or session does not open. Never panics on bad input.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

pub const KEY_LEN: usize = 32;
/// What sealing adds to a value: the nonce and the Poly1305 tag.
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// A 256-bit key; zeroed when dropped, so a forgotten key does not linger in memory.
pub struct Key([u8; KEY_LEN]);

impl Key {
    pub fn random() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        // The kernel's CSPRNG failing leaves nothing safe to do.
        SystemRandom::new().fill(&mut bytes).expect("the system random number generator failed");
        Self(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; KEY_LEN]>::try_from(bytes).ok().map(Self)
    }

    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn aead(&self) -> LessSafeKey {
        // Only fails for a key of the wrong length, which the type rules out.
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &self.0).expect("32-byte ChaCha20 key"))
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // Volatile writes so the compiler keeps the wipe.
        for b in self.0.iter_mut() {
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("sealed value does not open (wrong key, wrong place, or damaged)")]
pub struct OpenError;

pub fn seal(key: &Key, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).expect("the system random number generator failed");
    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .aead()
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut out[NONCE_LEN..])
        .expect("ChaCha20-Poly1305 seals any length a store value can have");
    out.extend_from_slice(tag.as_ref());
    out
}

pub fn open(key: &Key, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < OVERHEAD {
        return Err(OpenError);
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
    let mut buffer = rest.to_vec();
    let plain = key.aead().open_in_place(nonce, Aad::from(aad), &mut buffer).map_err(|_| OpenError)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_place() {
        let key = Key::random();
        let plain = b"\xFF\xD8\xFF jpeg";
        let sealed = seal(&key, b"evidence/vf_1/face", plain);
        assert_eq!(sealed.len(), plain.len() + OVERHEAD);
        assert!(!sealed.windows(3).any(|w| w == b"\xFF\xD8\xFF"));
        assert_eq!(open(&key, b"evidence/vf_1/face", &sealed).unwrap(), b"\xFF\xD8\xFF jpeg");
        assert_eq!(open(&key, b"evidence/vf_2/face", &sealed), Err(OpenError));
        assert_eq!(open(&Key::random(), b"evidence/vf_1/face", &sealed), Err(OpenError));
        let mut flipped = sealed.clone();
        flipped[15] ^= 1;
        assert_eq!(open(&key, b"evidence/vf_1/face", &flipped), Err(OpenError));
        assert_eq!(open(&key, b"x", &sealed[..5]), Err(OpenError));
    }
}
