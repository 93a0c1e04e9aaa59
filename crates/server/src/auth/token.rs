//! JSON Web Tokens: HS256 only (the algorithm is pinned, so `alg: none` and other algorithms
//! are refused), `exp` enforced. A token's signature and claims are a pure function of its text,
//! so each token is checked once and remembered; its `exp` is checked again on every use.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use tills_domain::{Id, Role};

use crate::error::ApiError;

/// What a token says. `storeId` is null for a platform admin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: Id,
    pub store_id: Option<String>,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    /// Set on a support token: the platform admin acting in the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_by: Option<Id>,
}

/// The signing secret, never printed.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Tokens whose signature and claims passed, by their text. Checking one (base64, HMAC,
    /// JSON) cost about a tenth of a hot scan's server CPU; a lookup costs a hash of the text.
    /// Only tokens this server signed get in, so the size bounds memory, not an attacker. A
    /// `quick_cache`, as the product entries (`cache/memory.rs`): a hit records nothing for later.
    verified: crate::cache::QuickCache<String, Arc<Claims>>,
    pub ttl: Duration,
}

/// Room for every terminal and back office of a thousand stores, several times over (an entry
/// is about half a kilobyte); the tokens used least recently make room for new ones.
const VERIFIED_TOKENS: u64 = 100_000;

impl TokenKeys {
    pub fn new(secret: &Secret, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.0.as_bytes()),
            decoding: DecodingKey::from_secret(secret.0.as_bytes()),
            validation,
            verified: crate::cache::counted(VERIFIED_TOKENS),
            ttl,
        }
    }

    /// Signs a token for `sub` lasting `ttl` (capped by the configured lifetime).
    pub fn issue(
        &self,
        sub: Id,
        store_id: Option<&str>,
        role: Role,
        ttl: Option<Duration>,
        support_by: Option<Id>,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), ApiError> {
        let now = chrono::Utc::now();
        let ttl = ttl.unwrap_or(self.ttl);
        let exp = now + chrono::Duration::from_std(ttl).map_err(|e| ApiError::Internal(e.to_string()))?;
        let claims = Claims {
            sub,
            store_id: store_id.map(str::to_owned),
            role,
            iat: now.timestamp(),
            exp: exp.timestamp(),
            support_by,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing a token: {e}")))?;
        let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or(exp);
        Ok((token, expires_at))
    }

    /// Verifies signature, algorithm and expiry (a token seen before: expiry only).
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, ApiError> {
        const REFUSED: ApiError = ApiError::Unauthorized("the token is missing, malformed, expired or wrongly signed");
        if let Some(claims) = self.verified.get(token) {
            // As jsonwebtoken checks it (leeway 0): valid through the second of `exp`.
            if claims.exp >= jsonwebtoken::get_current_timestamp() as i64 {
                return Ok(claims);
            }
            self.verified.remove(token);
            return Err(REFUSED);
        }
        let claims = Arc::new(decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| REFUSED)?.claims);
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> TokenKeys {
        TokenKeys::new(&Secret("s3cret-for-tests-only-0123456789".into()), Duration::from_secs(3600))
    }

    #[test]
    fn round_trip() {
        let k = keys();
        let id = tills_domain::new_id();
        let (t, _) = k.issue(id, Some("downtown-01"), Role::Cashier, None, None).unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!(c.sub, id);
        assert_eq!(c.store_id.as_deref(), Some("downtown-01"));
        assert_eq!(c.role, Role::Cashier);
    }

    #[test]
    fn refuses_other_secrets_expired_and_alg_none() {
        let k = keys();
        let other = TokenKeys::new(&Secret("another-secret-entirely-000000000".into()), Duration::from_secs(3600));
        let (t, _) = other.issue(tills_domain::new_id(), Some("x"), Role::Admin, None, None).unwrap();
        assert!(k.verify(&t).is_err(), "wrongly signed");

        let (t, _) = k.issue(tills_domain::new_id(), Some("x"), Role::Admin, None, None).unwrap();
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        parts[0] = header;
        assert!(k.verify(&format!("{}.{}.", parts[0], parts[1])).is_err(), "alg none");

        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        claims["storeId"] = "other".into();
        let tampered = format!(
            "{}.{}.{}",
            t.split('.').next().unwrap(),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            t.split('.').nth(2).unwrap()
        );
        assert!(k.verify(&tampered).is_err(), "tampered");

        let expired = encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: tills_domain::new_id(),
                store_id: Some("x".into()),
                role: Role::Admin,
                iat: 1,
                exp: 2,
                support_by: None,
            },
            &k.encoding,
        )
        .unwrap();
        assert!(k.verify(&expired).is_err(), "expired");
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires_and_a_refused_one_is_not_remembered() {
        let k = keys();
        let (t, _) =
            k.issue(tills_domain::new_id(), Some("x"), Role::Cashier, Some(Duration::from_secs(1)), None).unwrap();
        let first = k.verify(&t).unwrap();
        assert!(k.verified.get(&t).is_some(), "remembered");
        assert_eq!(k.verify(&t).unwrap().sub, first.sub);
        std::thread::sleep(Duration::from_millis(2100));
        assert!(k.verify(&t).is_err(), "expired while remembered");
        assert!(k.verified.get(&t).is_none(), "and forgotten");

        let other = TokenKeys::new(&Secret("another-secret-entirely-000000000".into()), Duration::from_secs(3600));
        let (foreign, _) = other.issue(tills_domain::new_id(), Some("x"), Role::Admin, None, None).unwrap();
        assert!(k.verify(&foreign).is_err());
        assert!(k.verify(&foreign).is_err(), "still refused the second time");
        assert!(k.verified.get(&foreign).is_none());
    }
}
