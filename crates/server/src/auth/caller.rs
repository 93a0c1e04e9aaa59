//! Extractors for the caller of a request.
//!
//! [`StoreCaller`] is the only way a handler obtains a [`StoreId`]: it comes from the verified
//! token's `storeId` claim and nothing else. Before a request proceeds, the store must exist and
//! be active (`403` when suspended), and the user must still exist, be active and hold the
//! token's role (`401` otherwise); both are read through [`crate::state::AccessCache`].

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use tills_domain::{Id, Role, StoreId};
use tills_storage::StoreStatus;

use crate::error::ApiError;
use crate::state::AppState;

/// A signed-in user of one store (or a platform admin acting there with a support token).
#[derive(Debug, Clone)]
pub struct StoreCaller {
    pub store: StoreId,
    pub user_id: Id,
    pub role: Role,
    /// The platform admin behind a support token.
    pub support_by: Option<Id>,
}

impl StoreCaller {
    pub fn require_manager(&self) -> Result<(), ApiError> {
        if self.role.is_manager_or_above() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this needs a manager or an admin"))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin { Ok(()) } else { Err(ApiError::Forbidden("this needs a store admin")) }
    }

    /// The acting user's id for audit entries (a user, or the platform admin behind support).
    pub fn actor(&self) -> Option<Id> {
        Some(self.support_by.unwrap_or(self.user_id))
    }
}

/// A platform admin.
#[derive(Debug, Clone)]
pub struct PlatformCaller {
    pub admin_id: Id,
}

/// Any signed-in caller.
#[derive(Debug, Clone)]
pub enum AnyCaller {
    Store(StoreCaller),
    Platform(PlatformCaller),
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized("sign in first: the Authorization header is missing"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'"))?;
    Ok(token.trim())
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<AnyCaller, ApiError> {
    let claims = state.tokens.verify(bearer(parts)?)?;
    match (claims.role, claims.store_id.as_deref()) {
        (Role::PlatformAdmin, None) => {
            if !state.access.platform_admin_exists(&state.store, claims.sub).await? {
                return Err(ApiError::Unauthorized("this account no longer exists"));
            }
            Ok(AnyCaller::Platform(PlatformCaller { admin_id: claims.sub }))
        }
        (Role::PlatformAdmin, Some(_)) | (_, None) => Err(ApiError::Unauthorized("the token is malformed")),
        (role, Some(store)) => {
            let store = StoreId::parse(store).map_err(|_| ApiError::Unauthorized("the token is malformed"))?;
            let record = state
                .access
                .store(&state.store, &store)
                .await?
                .ok_or(ApiError::Unauthorized("this store no longer exists"))?;
            if record.status == StoreStatus::Suspended {
                return Err(ApiError::Forbidden("this store is suspended"));
            }
            match claims.support_by {
                Some(admin) => {
                    if role != Role::Admin
                        || admin != claims.sub
                        || !state.access.platform_admin_exists(&state.store, admin).await?
                    {
                        return Err(ApiError::Unauthorized("this support token is no longer valid"));
                    }
                }
                None => match state.access.user(&state.store, &store, claims.sub).await? {
                    Some((current, true)) if current == role => {}
                    Some((_, true)) => return Err(ApiError::Unauthorized("your role has changed: sign in again")),
                    _ => return Err(ApiError::Unauthorized("this account is no longer active")),
                },
            }
            Ok(AnyCaller::Store(StoreCaller { store, user_id: claims.sub, role, support_by: claims.support_by }))
        }
    }
}

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        resolve(parts, state).await
    }
}

impl FromRequestParts<AppState> for StoreCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match resolve(parts, state).await? {
            AnyCaller::Store(c) => Ok(c),
            AnyCaller::Platform(_) => {
                Err(ApiError::Forbidden("platform admins act in a store through a support token"))
            }
        }
    }
}

impl FromRequestParts<AppState> for PlatformCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match resolve(parts, state).await? {
            AnyCaller::Platform(c) => Ok(c),
            AnyCaller::Store(_) => Err(ApiError::Forbidden("this needs a platform admin")),
        }
    }
}
