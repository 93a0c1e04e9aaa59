//! Password hashing: argon2id. Hashing is slow on purpose, so it runs on the blocking pool.
//!
//! Accounts imported from the legacy system keep their bcrypt hashes (`$2a$`/`$2b$`): they are
//! accepted at login, and [`needs_upgrade`] tells the caller to rehash with argon2id.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::ApiError;

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

/// Checks `password` against a stored hash. `None` (no such account) still costs one
/// verification, so a wrong email takes as long as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    const DUMMY: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jm5ZKf3gCuXeGE4qzq1bUjYyBZEc8dqtk0mb3G7iUx8";
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY.to_owned());
    let ok = tokio::task::spawn_blocking(move || {
        if is_bcrypt(&stored) {
            bcrypt::verify(password.as_bytes(), &stored).unwrap_or(false)
        } else {
            Argon2::default().verify_password(password.as_bytes(), stored.as_str()).is_ok()
        }
    })
    .await
    .unwrap_or(false);
    ok && known
}

fn is_bcrypt(hash: &str) -> bool {
    hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")
}

/// A hash from the legacy system, to be replaced by argon2id after the next successful login.
pub fn needs_upgrade(hash: &str) -> bool {
    is_bcrypt(hash)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = super::hash("correct horse".into()).await.unwrap();
        let b = super::hash("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(super::verify("correct horse".into(), Some(a.clone())).await);
        assert!(!super::verify("wrong horse".into(), Some(a)).await);
        assert!(!super::verify("anything".into(), None).await);
    }

    #[tokio::test]
    async fn legacy_bcrypt_hashes_verify_and_ask_for_an_upgrade() {
        let legacy = bcrypt::hash("legacy pass", 4).unwrap().replacen("$2b$", "$2a$", 1);
        assert!(super::needs_upgrade(&legacy));
        assert!(super::verify("legacy pass".into(), Some(legacy.clone())).await);
        assert!(!super::verify("wrong".into(), Some(legacy)).await);
        assert!(!super::needs_upgrade(&super::hash("x".repeat(12)).await.unwrap()));
    }
}
