//! Password hashing (argon2id) and login tokens.
//!
//! Hashing is CPU-heavy (about 22 ms in release at the default cost), so it runs on the
//! blocking pool. Tokens are 32 random bytes; only their SHA-256 is stored.

use crate::config::HashCost;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

/// Prefix that makes a leaked labinn token easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "lbn_";

/// The name of the session cookie.
pub const COOKIE_NAME: &str = "labinn_session";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Hashes and verifies passwords at a configured cost.
#[derive(Clone, Debug)]
pub struct Hasher {
    cost: HashCost,
}

impl Hasher {
    pub fn new(cost: HashCost) -> Self {
        Self { cost }
    }

    fn argon2(&self) -> Result<Argon2<'static>, AuthError> {
        let params = Params::new(self.cost.memory_kib, self.cost.iterations, 1, None)
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// A PHC string (`$argon2id$v=19$…`) for `password`, with a fresh salt.
    ///
    /// # Errors
    /// [`AuthError`] when hashing fails.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        let argon = self.argon2()?;
        tokio::task::spawn_blocking(move || {
            argon.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| AuthError::Hash(e.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `phc`. Without a stored hash (unknown account) it still
    /// spends the time of one verification, so that timing does not reveal which e-mail
    /// addresses have accounts.
    ///
    /// # Errors
    /// [`AuthError`] when the blocking task fails.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, AuthError> {
        let argon = self.argon2()?;
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => {
                let Ok(parsed) = PasswordHash::new(&phc) else { return false };
                // Verify with the parameters stored in the hash, whatever the current cost.
                Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
            }
            None => {
                let _ = argon.hash_password(password.as_bytes());
                false
            }
        })
        .await
        .map_err(AuthError::from)
    }
}

/// `n` bytes from the operating system's random source.
///
/// # Errors
/// [`AuthError::Random`].
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(buf)
}

/// A fresh booking nonce: the check-in code's input and the short typed code (10 characters
/// of [`crate::domain::checkin::SHORT_ALPHABET`], about 50 bits).
///
/// # Errors
/// When the operating system's random source fails.
pub fn checkin_nonce() -> Result<String, AuthError> {
    Ok(crate::domain::checkin::short_code(&random_bytes()?))
}

pub fn to_hex(bytes: &[u8]) -> String {
    crate::domain::hex(bytes)
}

/// A new login token: `lbn_` and 64 hex digits (256 random bits).
///
/// # Errors
/// [`AuthError::Random`].
pub fn new_token() -> Result<String, AuthError> {
    Ok(format!("{TOKEN_PREFIX}{}", to_hex(&random_bytes::<32>()?)))
}

/// What is stored for a token: its SHA-256, hex. A database leak does not yield tokens.
pub fn token_hash(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Hasher {
        Hasher::new(HashCost { memory_kib: 64, iterations: 1 })
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let h = cheap();
        let phc = h.hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify("correct horse battery".into(), Some(phc.clone())).await.unwrap());
        assert!(!h.verify("wrong horse battery".into(), Some(phc)).await.unwrap());
        assert!(!h.verify("anything at all".into(), None).await.unwrap());
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
