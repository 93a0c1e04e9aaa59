//! Extractors for the caller of a request.
//!
//! [`StoreCaller`] is the only way a handler obtains a [`StoreId`]: it comes from the verified
//! token's `storeId` claim and nothing else. Before a request proceeds, the store must exist and
//! be active (`403` when suspended), and the user must still exist, be active and hold the
//! token's role (`401` otherwise); both are read through [`crate::state::AccessCache`].

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use tills_domain::{Id, Role, StoreId};
use tills_storage::{StoreRecord, StoreStatus};

use crate::error::ApiError;
use crate::services::Actor;
use crate::state::AppState;

/// A signed-in user of one store (or a platform admin acting there with a support token).
#[derive(Debug, Clone)]
pub struct StoreCaller {
    pub store: StoreId,
    pub user_id: Id,
    pub role: Role,
    /// The platform admin behind a support token.
    pub support_by: Option<Id>,
    /// The store's record as the access check read it (settings included; cached like its
    /// status, for at most `state::ACCESS_TTL`), so a handler need not look it up again.
    pub settings: Arc<StoreRecord>,
}

impl StoreCaller {
    /// The caller as the services see it.
    pub fn as_actor(&self) -> Actor<'_> {
        Actor {
            store: &self.store,
            user_id: self.user_id,
            role: self.role,
            support_by: self.support_by,
            approved_by: None,
        }
    }

    /// The store's timezone, for local days in `from`/`to`/`date` (UTC if the setting is unusable).
    pub fn timezone(&self) -> chrono_tz::Tz {
        crate::time::parse_timezone(&self.settings.timezone).unwrap_or(chrono_tz::UTC)
    }

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
            Ok(AnyCaller::Store(StoreCaller {
                store,
                user_id: claims.sub,
                role,
                support_by: claims.support_by,
                settings: record,
            }))
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
