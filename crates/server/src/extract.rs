//! Request extractors that answer in API.md's terms: `400 malformed_json`, `400 invalid_input`
//! with the `field` that failed, `413 payload_too_large`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::isolation::note_store_id_in_body;

/// A JSON body, parsed into `T`; a value that fails `T`'s own checks names its field
/// (`lines[2].quantity`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A request body as bytes, for handlers that parse it themselves; over 1 MiB is
/// `413 payload_too_large` like everywhere else.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state).await.map(JsonBytes).map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson(format!("the request body could not be read: {rejection}"))
            }
        })
    }
}

/// Parses a JSON body, classifying errors as API.md does: text that is not JSON at all is
/// `malformed_json`; JSON that does not fit `T` is `invalid_input` naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    from_value(parse_value(bytes)?)
}

/// Parses a JSON body as it is, for handlers that also hash it: text that is not JSON at all is
/// `malformed_json`.
pub fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    note_store_id_in_body(bytes);
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))?;
    // Every body is an object: serde would otherwise read a struct from an array (`[null]`).
    if !value.is_object() {
        return Err(ApiError::InvalidInput { field: None, message: "the body is a JSON object".into() });
    }
    Ok(value)
}

/// Deserializes an already parsed JSON value, with the same error classification.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(invalid_input)
}

/// The same, leaving the value to its owner (no copy of it first).
pub fn from_value_ref<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(invalid_input)
}

fn invalid_input(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let message = strip_position(&err.into_inner().to_string());
    ApiError::InvalidInput { field: field_of(&path, &message), message }
}

/// The field an error names: its path, and for a missing field the field itself
/// (`lines[0]` + "missing field `quantity`" → `lines[0].quantity`).
fn field_of(path: &str, message: &str) -> Option<String> {
    let missing = message.strip_prefix("missing field `").and_then(|m| m.split('`').next());
    match (path, missing) {
        (".", Some(name)) => Some(name.to_owned()),
        (".", None) => None,
        (p, Some(name)) => Some(format!("{p}.{name}")),
        (p, None) => Some(p.to_owned()),
    }
}

/// serde_json appends " at line 1 column 42" to data errors; the field says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters, parsed into `T`; a bad value is `400 invalid_input` naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|err| {
            let path = err.path().to_string();
            ApiError::InvalidInput { field: (path != ".").then_some(path), message: err.into_inner().to_string() }
        })
    }
}

/// A path id that must be a UUID; anything else is simply not found.
pub fn parse_id(raw: &str) -> Result<tills_domain::Id, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// The `X-Approval` header: the id of a manager's approval for the one action this request
/// makes (`POST /api/v1/approvals`). Not a UUID: `400 invalid_input`.
pub struct ApprovalHeader(pub Option<tills_domain::Id>);

impl<S: Send + Sync> FromRequestParts<S> for ApprovalHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("x-approval") {
            None => Ok(ApprovalHeader(None)),
            Some(v) => {
                v.to_str().ok().and_then(|v| v.trim().parse().ok()).map(|id| ApprovalHeader(Some(id))).ok_or_else(
                    || ApiError::invalid("X-Approval", "an approval is the id a manager's approval answered"),
                )
            }
        }
    }
}
