//! Opaque patient ids: the CPR number encrypted with AES-256-GCM-SIV under the gateway's key.
//! The same person always gets the same id (the nonce is fixed, which SIV tolerates: it only
//! shows that two ids are the same person, which an id is for), every process with the key
//! turns it back into the CPR number, and a forged or altered id fails authentication. Used
//! where a person must be named without the CPR number: federation keys and client caches.

use crate::domain::Cpr;
use aes_gcm_siv::aead::{Aead, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};

const PREFIX: &str = "p1_";

#[derive(Clone)]
pub struct PatientIds {
    cipher: Aes256GcmSiv,
}

#[derive(Debug, thiserror::Error)]
#[error("access.patient_id_key: must be 64 hexadecimal digits (32 bytes)")]
pub struct BadKey;

impl PatientIds {
    pub fn new(hex_key: &str) -> Result<Self, BadKey> {
        let bytes = hex::decode(hex_key)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or(BadKey)?;
        let cipher = Aes256GcmSiv::new_from_slice(&bytes).map_err(|_| BadKey)?;
        Ok(Self { cipher })
    }

    pub fn encode(&self, cpr: &Cpr) -> String {
        let sealed = self
            .cipher
            .encrypt(&Nonce::default(), cpr.as_str().as_bytes())
            // Encryption of a 10-byte message cannot fail; the fallback keeps ids opaque anyway.
            .unwrap_or_default();
        let hex = hex::encode(sealed);
        format!("{PREFIX}{hex}")
    }

    /// None for anything this key did not produce.
    pub fn decode(&self, id: &str) -> Option<Cpr> {
        let sealed = hex::decode(id.strip_prefix(PREFIX)?).ok()?;
        let plain = self
            .cipher
            .decrypt(&Nonce::default(), sealed.as_slice())
            .ok()?;
        Cpr::parse(std::str::from_utf8(&plain).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn ids_are_stable_opaque_and_unforgeable() {
        let ids = PatientIds::new(KEY).expect("key");
        let cpr = Cpr::parse("2709400129").expect("cpr");
        let id = ids.encode(&cpr);
        assert_eq!(id, ids.encode(&cpr), "stable");
        assert!(!id.contains("2709400129") && !id.contains("270940"), "{id}");
        assert_eq!(ids.decode(&id), Some(cpr.clone()));
        // Any change, another key, or garbage: nothing.
        let mut flipped = id.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(ids.decode(&String::from_utf8(flipped).expect("utf8")), None);
        let other = PatientIds::new(&KEY.replace("00", "ff")).expect("key");
        assert_eq!(other.decode(&id), None);
        for junk in ["", "p1_", "p1_zz", "2709400129", "p1_0"] {
            assert_eq!(ids.decode(junk), None, "{junk}");
        }
        assert!(PatientIds::new("abc").is_err());
    }
}
