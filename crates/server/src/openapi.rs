//! The OpenAPI 3.1 document's shared parts: its description, the bearer scheme, the error body
//! and the error answers operations share, and the schemas of the domain types.
//!
//! The paths come from the handlers themselves: each carries a `#[utoipa::path]` annotation, and
//! `http::routes` registers it with `utoipa_axum::routes!`, so one declaration makes both the
//! route and its document (`http::document`). This module is a leaf: it names no handler.
//! Domain types live in `tills-domain`, which knows nothing of OpenAPI, so fields name the
//! stand-ins below with `#[schema(value_type = ...)]`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

pub use crate::error::{ErrorBody, ErrorCode, ErrorDetail};

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearerAuth";

/// The document without its paths: `http::document` adds every routed operation to it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tills API",
        version = "1",
        description = "Point-of-sale API. Base path `/api/v1`; JSON in and out, field names in camelCase. \
            Money is an integer in the store's minor currency unit, quantities are numbers with at most \
            3 decimals, tax rates are basis points, timestamps are RFC 3339 in UTC. The store a request \
            acts on is the token's `storeId` claim and nothing else. Lists take `limit` (default 50, \
            max 200) and `cursor` and answer `{\"items\": [...], \"nextCursor\": ...}`."
    ),
    // What only error answers and query parameters name (the operations' bodies bring their own).
    components(schemas(ErrorBody, ErrorDetail, ErrorCode, ProductSort)),
    modifiers(&BearerScheme),
    security(("bearerAuth" = [])),
    tags(
        (name = "auth", description = "Sign in, the signed-in account, passwords"),
        (name = "platform", description = "Stores and support tokens (platform_admin)"),
        (name = "store", description = "The caller's store and its settings"),
        (name = "users", description = "A store's users (admin)"),
        (name = "audit", description = "Who did what and when (admin)"),
        (name = "categories", description = "Catalog: categories (read: every role; write: manager, admin)"),
        (name = "brands", description = "Catalog: brands (read: every role; write: manager, admin)"),
        (name = "units", description = "Catalog: units (read: every role; write: manager, admin)"),
        (name = "products", description = "Catalog: products, stock and the barcode scan"),
        (name = "customers", description = "Customers (every role reads and creates; manager and admin change)"),
        (name = "sales", description = "Sales, quotes, voids, refunds, payments and the CSV export"),
        (name = "shifts", description = "Cash-drawer shifts: float, pay-ins and pay-outs, X and Z reports"),
        (name = "reports", description = "Reports (manager, admin)"),
        (name = "journal", description = "The tamper-evident journal: verification, export, closures, its public key"),
        (name = "ops", description = "Operations: liveness, readiness, metrics"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// `Authorization: Bearer <JWT>`, required by every operation that does not say otherwise.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A token from `POST /api/v1/auth/login` (or a support token)"))
                    .build(),
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The error answers operations share, named in their `responses(...)`: each is a
// `utoipa::IntoResponses` of one or more statuses with the shared [`ErrorBody`]. An operation
// lists its own tuples after them to say more of a status (a tuple of the same status replaces
// the shared one).

/// One error answer: a description and the shared body.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(RefOr::<Schema>::Ref(Ref::from_schema_name("ErrorBody")))).build(),
        )
        .build()
        .into()
}

macro_rules! error_responses {
    ($( $(#[$doc:meta])* $name:ident { $($status:literal => $description:expr),+ $(,)? } )*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$( ($status.to_string(), error_response($description)) ),+])
            }
        }
    )*};
}

const UNAUTHORIZED: &str = "`unauthorized`: no token, or a token that is not (or no longer) valid";
const UNAVAILABLE: &str = "`unavailable`: the database did not answer in time; retry";

error_responses! {
    /// Any operation of a store's user: a bad token, a suspended store, the database down.
    StoreRead {
        401 => UNAUTHORIZED,
        403 => "`forbidden`: the store is suspended",
        503 => UNAVAILABLE,
    }
    /// An operation for managers and admins.
    ManagerOnly {
        401 => UNAUTHORIZED,
        403 => "`forbidden`: not a manager or admin, or the store is suspended",
        503 => UNAVAILABLE,
    }
    /// An operation for a store's admins.
    AdminOnly {
        401 => UNAUTHORIZED,
        403 => "`forbidden`: not an admin, or the store is suspended",
        503 => UNAVAILABLE,
    }
    /// An operation of the platform admin.
    PlatformOnly {
        401 => UNAUTHORIZED,
        403 => "`forbidden`: not a platform admin",
        503 => UNAVAILABLE,
    }
    /// An operation whose `403` the operation describes itself.
    Authenticated {
        401 => UNAUTHORIZED,
        503 => UNAVAILABLE,
    }
    /// A JSON body: not JSON, a field that does not fit, or over 1 MiB.
    BadBody {
        400 => "`malformed_json`, `invalid_input` (with `field`)",
        413 => "`payload_too_large`",
    }
    /// A body over 1 MiB.
    TooLarge {
        413 => "`payload_too_large`",
    }
    /// The `X-Approval` header of an operation without a body: not an approval's id.
    BadApproval {
        400 => "`invalid_input` (`field`: `X-Approval`): the header is not an approval's id (a UUID)",
    }
    /// A list's `limit` or `cursor`.
    BadPage {
        400 => "`invalid_input`: a bad `limit` or `cursor`",
    }
    /// An id of nothing in the caller's store: another store's ids answer the same.
    NotFound {
        404 => "`not_found` (also for another store's ids)",
    }
}

// ---------------------------------------------------------------------------------------------
// Stand-ins for the domain types (`tills_domain`), named by `#[schema(value_type = ...)]`.

/// Implements `ToSchema` for a stand-in whose schema is built by hand.
macro_rules! hand_made_schema {
    ($name:ident, $schema:expr) => {
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

/// An amount of money: a whole number of the store's minor currency unit (cents for USD, yen
/// for JPY; the store's `currencyDecimals` says which), never negative, never a float.
pub struct Money;
hand_made_schema!(
    Money,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .maximum(Some(10_000_000_000_000_i64))
        .description(Some("A whole number of the store's minor currency unit (150 is 1.50 USD); never a float"))
        .examples([150])
        .into()
);

/// A quantity: a number with at most 3 decimals (`0.535` kg), stored exactly.
pub struct Quantity;
hand_made_schema!(
    Quantity,
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .multiple_of(Some(0.001))
        .minimum(Some(-1_000_000_000))
        .maximum(Some(1_000_000_000))
        .description(Some("A number with at most 3 decimals (0.535 kg); stored exactly"))
        .examples([0.535])
        .into()
);

/// A tax rate in basis points: 1900 is 19 %.
pub struct TaxRate;
hand_made_schema!(
    TaxRate,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(0))
        .maximum(Some(10_000))
        .description(Some("Basis points: 1900 is 19 %"))
        .examples([1900])
        .into()
);

/// A barcode: 1-64 printable ASCII characters, no spaces.
pub struct Barcode;
hand_made_schema!(
    Barcode,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(64))
        .pattern(Some("^[!-~]{1,64}$"))
        .description(Some("1-64 printable ASCII characters, no spaces"))
        .examples(["5449000000996"])
        .into()
);

/// What a signed-in account may do.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    Admin,
    Manager,
    Cashier,
}

/// The roles a store's user may have.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum StoreRole {
    Admin,
    Manager,
    Cashier,
}

/// One of a store's in-store barcode formats for weighed or priced items: an EAN-13 made of
/// `prefix`, `itemDigits` digits naming the item, a value of `12 − len(prefix) − itemDigits`
/// digits and a check digit.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ScaleFormat {
    /// Digits, e.g. `"21"`.
    pub prefix: String,
    pub item_digits: u8,
    pub kind: ScaleKind,
    /// Decimals of the embedded value (kg for a weight; at most the currency's for a price).
    pub decimals: u8,
}

/// Whether a scale label carries the item's weight or its price.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ScaleKind {
    Weight,
    Price,
}

/// What a scanned scale label carries: `{"kind": "weight", "quantity": 0.535}` or
/// `{"kind": "price", "price": 1234}`.
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Embedded {
    Weight { quantity: Quantity },
    Price { price: Money },
}

/// The order of `GET /products`: by name (the default) or newest first.
#[derive(ToSchema)]
pub enum ProductSort {
    #[schema(rename = "name")]
    Name,
    #[schema(rename = "-createdAt")]
    NewestFirst,
}

/// A suspended store's tokens get `403`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum StoreStatus {
    Active,
    Suspended,
}

// ---------------------------------------------------------------------------------------------
// Operations.

/// `{"status": "ok"}`
#[derive(ToSchema)]
pub struct Health {
    #[schema(examples("ok"))]
    pub status: String,
}

/// Whether the database answers, and how the product cache is.
#[derive(ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(examples("ready"))]
    pub status: String,
    pub database: ReadinessDatabase,
    pub cache: ReadinessCache,
}

#[derive(ToSchema)]
pub struct ReadinessDatabase {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub up: bool,
}

#[derive(ToSchema)]
pub struct ReadinessCache {
    /// `memory` (in-process only) or `redis`.
    pub kind: String,
    pub up: bool,
}

// ---------------------------------------------------------------------------------------------
// The rules the server enforces on text, written into the served document.
//
// utoipa derives types and shapes from the code; the rules below are what the domain parsers
// (`tills_domain::Name::parse`, `Email::parse`, `Phone::parse`, ...) check beyond the type, said
// once here and applied to every request field of that kind by [`tighten`], so the document is
// as strict as the server and no stricter (schemathesis' positive and negative checks hold it to
// both). A new request field of a known kind gets its rule by naming it in [`FIELD_RULES`].

use serde_json::{Value, json};

/// Unicode `White_Space` (what Rust's `str::trim` removes), as a regex class body.
const WS: &str = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/// Control characters (`char::is_control`: Unicode Cc), as a regex class body.
const CC: &str = "\\x00-\\x1f\\x7f-\\x9f";

/// A canonical UUID (what the server issues; the hyphenated form).
pub const UUID_PATTERN: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// A text that is trimmed, then 1-`max` characters without control characters.
fn trimmed_text(max: usize, description: &str) -> Value {
    let ws = format!("[{WS}]*");
    let inner = format!("[^{CC}]");
    let edge = format!("[^{CC}{WS}]");
    json!({
        "type": "string",
        "pattern": format!("^{ws}{edge}(?:{inner}{{0,{}}}{edge})?{ws}$", max - 2),
        "description": description,
    })
}

/// What each kind of request field must be.
fn rule(kind: &str) -> Value {
    match kind {
        "name" => trimmed_text(200, "1-200 characters after trimming, no control characters"),
        "terminal" => trimmed_text(40, "The terminal's name: 1-40 characters after trimming, no control characters"),
        "email" => {
            let e = format!("[^@{CC}{WS}]");
            let d = format!("[^@.{CC}{WS}]");
            json!({
                "type": "string",
                "maxLength": 254,
                "pattern": format!("^[{WS}]*{e}+@{d}(?:{e}*{d})?[{WS}]*$"),
                "description": "An email address (trimmed and lower-cased; at most 254 bytes)",
            })
        }
        "phone" => json!({
            "type": "string",
            "pattern": format!("^[{WS}]*\\+?[ ().\\/-]*(?:[0-9][ ().\\/-]*){{3,20}}[{WS}]*$"),
            "description": "3-20 digits, an optional leading '+', spaces, dashes, dots, slashes and brackets",
        }),
        "newPassword" => json!({
            "type": "string", "minLength": 10, "maxLength": 200,
            "description": "10-200 characters",
        }),
        "pin" => json!({"type": "string", "pattern": "^[0-9]{4,8}$", "description": "4-8 digits"}),
        "clientRef" => json!({
            "type": "string",
            "pattern": format!("^[{WS}]*[!-~]{{1,100}}[{WS}]*$"),
            "description": "1-100 printable ASCII characters (a UUID the terminal made); the same value again answers the first result",
        }),
        "dayOrInstant" => json!({
            "description": "A local day of the store (`YYYY-MM-DD`, inclusive) or an RFC 3339 instant",
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
        }),
        "date" => json!({"type": "string", "format": "date", "description": "A local day of the store, `YYYY-MM-DD`"}),
        "invoicePrefix" => json!({
            "type": "string",
            "pattern": format!("^[{WS}]*[^{CC}{WS}]{{0,20}}[{WS}]*$"),
            "description": "At most 20 characters without spaces (trimmed), e.g. `INV-`",
        }),
        "currency" => json!({
            "type": "string",
            "enum": tills_domain::Currency::codes(),
            "description": "An ISO 4217 code with minor units, such as USD, EUR or JPY",
        }),
        "timezone" => json!({
            "type": "string",
            "enum": chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect::<Vec<_>>(),
            "description": "An IANA timezone name such as `Europe/Berlin`",
        }),
        "optionalEmail" => {
            let Value::Object(mut email) = rule("email") else { return json!({}) };
            let pattern = email["pattern"].as_str().unwrap_or_default().to_owned();
            email.insert("pattern".into(), json!(format!("^[{WS}]*$|{pattern}")));
            email.insert("description".into(), json!("An email address (trimmed and lower-cased); empty: none"));
            Value::Object(email)
        }
        "phoneFilter" => {
            let Value::Object(mut phone) = rule("phone") else { return json!({}) };
            let pattern = phone["pattern"].as_str().unwrap_or_default().to_owned();
            phone.insert("pattern".into(), json!(format!("^[{WS}]*$|{pattern}")));
            phone.insert("description".into(), json!("This phone number (normalized before comparing); empty: any"));
            Value::Object(phone)
        }
        "storeId" => json!({
            "type": "string",
            "pattern": format!("^[{WS}]*[a-zA-Z0-9][a-zA-Z0-9_-]{{0,63}}[{WS}]*$"),
            "description": "The store's id: 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit (trimmed, lower-cased)",
        }),
        "nonZero" => json!({"not": {"const": 0}}),
        "atLeastOne" => json!({"minItems": 1}),
        "cursor" => json!({
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]+$",
            "description": "Opaque: the `nextCursor` the server answered for the previous page of this list, with \
                the same filters and sort. Any other value is `400 invalid_input` (`field`: `cursor`).",
        }),
        _ => json!({}),
    }
}

/// `(schema, property, kind)`: the request body fields with a rule (schema `*`: any schema).
const FIELD_RULES: &[(&str, &str, &str)] = &[
    ("NamedBody", "name", "name"),
    ("CustomerBody", "name", "name"),
    ("CustomerBody", "email", "optionalEmail"),
    ("CustomerBody", "phone", "phone"),
    ("ProductBody", "name", "name"),
    ("CreateUser", "name", "name"),
    ("CreateUser", "email", "email"),
    ("CreateUser", "password", "newPassword"),
    ("PatchUser", "name", "name"),
    ("PatchUser", "password", "newPassword"),
    ("CreateStore", "name", "name"),
    ("PatchStore", "name", "name"),
    ("StorePatch", "name", "name"),
    ("StorePatch", "timezone", "timezone"),
    ("CreateStore", "timezone", "timezone"),
    ("StoreOwner", "name", "name"),
    ("StoreOwner", "email", "email"),
    ("StoreOwner", "password", "newPassword"),
    ("StoreAdmin", "name", "name"),
    ("StoreAdmin", "email", "email"),
    ("StoreAdmin", "password", "newPassword"),
    ("ChangePassword", "newPassword", "newPassword"),
    ("PinBody", "pin", "pin"),
    ("OpenShiftBody", "terminal", "terminal"),
    ("ParkBody", "terminal", "terminal"),
    ("SaleBody", "clientRef", "clientRef"),
    ("RefundBody", "clientRef", "clientRef"),
    ("ReturnBody", "clientRef", "clientRef"),
    ("CreateStore", "id", "storeId"),
    ("CreateStore", "currency", "currency"),
    ("CreateStore", "invoicePrefix", "invoicePrefix"),
    ("StorePatch", "invoicePrefix", "invoicePrefix"),
    ("ScaleFormat", "prefix", "digits"),
    ("StockBody", "delta", "nonZero"),
    ("ScaleFormat", "itemDigits", "positive"),
    ("RefundBody", "lines", "atLeastOne"),
];

/// `(path, method, fields)`: bodies whose schema is shared by create and change (all fields
/// optional) and that require these fields on create.
const REQUIRED_ON_CREATE: &[(&str, &str, &[&str])] = &[
    ("/api/v1/categories", "post", &["name"]),
    ("/api/v1/brands", "post", &["name"]),
    ("/api/v1/units", "post", &["name"]),
    ("/api/v1/customers", "post", &["name", "phone"]),
    ("/api/v1/products", "post", &["name", "price"]),
];

/// `(parameter, kind)`: the query parameters with a rule, in every operation.
const QUERY_RULES: &[(&str, &str)] = &[
    ("from", "dayOrInstant"),
    ("to", "dayOrInstant"),
    ("date", "date"),
    ("phone", "phoneFilter"),
    ("cursor", "cursor"),
];

/// Writes the server's rules into the document (the JSON that `GET /api/v1/openapi.json` serves).
pub fn tighten(doc: &mut Value) {
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for (schema, property, kind) in FIELD_RULES {
            let Some(target) = schemas.get_mut(*schema).and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
            else {
                continue;
            };
            merge(target, rule(kind));
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut().filter_map(Value::as_object_mut) {
                for param in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                    let name = param.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                    let query = param.get("in").and_then(Value::as_str) == Some("query");
                    if param.get("in").and_then(Value::as_str) == Some("path") && name == "storeId" {
                        param["schema"] = rule("storeId");
                    }
                    // A header is a string or absent, never `null`.
                    if param.get("in").and_then(Value::as_str) == Some("header")
                        && let Some(t) = param.pointer_mut("/schema/type")
                        && t.is_array()
                    {
                        *t = json!("string");
                    }
                    if let (true, Some((_, kind))) = (query, QUERY_RULES.iter().find(|(n, _)| *n == name))
                        && let Some(schema) = param.get_mut("schema")
                    {
                        *schema = rule(kind);
                        if let Some(d) = schema.get("description").cloned() {
                            param["description"] = d;
                        }
                    }
                }
            }
        }
    }
    for (path, method, fields) in REQUIRED_ON_CREATE {
        let pointer =
            format!("/paths/{}/{method}/requestBody/content/application~1json/schema", path.replace('/', "~1"));
        if let Some(schema) = doc.pointer_mut(&pointer) {
            let non_null: serde_json::Map<String, Value> =
                fields.iter().map(|f| ((*f).to_owned(), json!({"not": {"type": "null"}}))).collect();
            *schema = json!({"allOf": [schema.take(), {"required": fields, "properties": non_null}]});
        }
    }
    // Brands and units have no parent (`parentId` is for categories).
    for path in ["/api/v1/brands", "/api/v1/brands/{id}", "/api/v1/units", "/api/v1/units/{id}"] {
        for method in ["post", "patch"] {
            let pointer =
                format!("/paths/{}/{method}/requestBody/content/application~1json/schema", path.replace('/', "~1"));
            if let Some(schema) = doc.pointer_mut(&pointer) {
                *schema = json!({"allOf": [schema.take(), {"properties": {"parentId": {"type": "null"}}}]});
            }
        }
    }
    // A no-sale moves no cash; a pay-in or pay-out moves some.
    if let Some(body) = doc.pointer_mut("/components/schemas/CashMovementBody")
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert("if".into(), json!({"properties": {"kind": {"const": "no_sale"}}}));
        obj.insert("then".into(), json!({"properties": {"amount": {"const": 0}}}));
        obj.insert("else".into(), json!({"properties": {"amount": {"minimum": 1}}}));
    }
    // A scale label: the prefix and the item digits leave at least one digit of the 12 for the
    // value; a weight has at most 3 decimals (a price at most the currency's: the store's data).
    if let Some(format) = doc.pointer_mut("/components/schemas/ScaleFormat")
        && let Some(obj) = format.as_object_mut()
    {
        let fits: Vec<Value> = (1..=10)
            .map(|n| json!({"properties": {"prefix": {"minLength": n, "maxLength": n}, "itemDigits": {"maximum": 11 - n}}}))
            .collect();
        obj.insert("anyOf".into(), Value::Array(fits));
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                "prefix".into(),
                json!({"type": "string", "pattern": "^[0-9]{1,10}$", "description": "Digits, e.g. `\"21\"`"}),
            );
            props.insert("itemDigits".into(), json!({"type": "integer", "minimum": 1, "maximum": 10}));
            props.insert("decimals".into(), json!({"type": "integer", "minimum": 0, "maximum": 3, "description": "Decimals of the embedded value: at most 3 for a weight, at most the currency's for a price"}));
        }
    }
    links(doc);
    // Exactly one of the manager's password and PIN.
    if let Some(body) = doc.pointer_mut("/components/schemas/ApprovalBody")
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert("oneOf".into(), json!([{"required": ["password"]}, {"required": ["pin"]}]));
    }
    uuid_patterns(doc);
}

/// Puts `rule`'s keywords on a property (keeping the property's own description and nullability).
fn merge(target: &mut Value, rule: Value) {
    let nullable = match target.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => false,
    };
    let own_description = target.get("description").cloned();
    let Value::Object(rule) = rule else { return };
    let Some(obj) = target.as_object_mut() else { return };
    if rule.contains_key("pattern") || rule.contains_key("enum") || rule.contains_key("anyOf") {
        for k in ["minLength", "maxLength", "pattern", "format"] {
            obj.remove(k);
        }
    }
    for (k, v) in rule {
        obj.insert(k, v);
    }
    if let Some(d) = own_description {
        obj.insert("description".into(), d);
    }
    if nullable {
        if let Some(Value::String(t)) = obj.get("type").cloned() {
            obj.insert("type".into(), json!([t, "null"]));
        }
        if let Some(Value::Array(e)) = obj.get_mut("enum") {
            e.push(Value::Null);
        }
    }
}

/// OpenAPI links from each create (a `201` of `POST /x`) to every operation on what it created
/// (`/x/{id}`, `/x/{id}/...`): its `id` is the path parameter. A client (and schemathesis'
/// stateful phase) follows them: create, then read, change, delete.
fn links(doc: &mut Value) {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return };
    let mut found: Vec<(String, String, String)> = Vec::new(); // (create path, operation id, parameter)
    for (create, item) in paths {
        if item.pointer("/post/responses/201").is_none() {
            continue;
        }
        for (path, item) in paths {
            let Some(rest) = path.strip_prefix(create.as_str()).and_then(|r| r.strip_prefix("/{")) else { continue };
            let Some((param, _)) = rest.split_once('}') else { continue };
            for op in item.as_object().into_iter().flatten().map(|(_, op)| op) {
                let Some(op_id) = op.get("operationId").and_then(Value::as_str) else { continue };
                found.push((create.clone(), op_id.to_owned(), param.to_owned()));
            }
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (create, op_id, param) in found {
        if let Some(created) = paths.get_mut(&create).and_then(|i| i.pointer_mut("/post/responses/201"))
            && let Some(obj) = created.as_object_mut()
        {
            let links = obj.entry("links").or_insert_with(|| json!({}));
            links[op_id.as_str()] = json!({"operationId": op_id, "parameters": {param: "$response.body#/id"}});
        }
    }
}

/// Every `format: uuid` string (ids in bodies, queries, headers) gets the pattern of the UUIDs the
/// server issues.
fn uuid_patterns(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            if obj.get("format").and_then(Value::as_str) == Some("uuid") && !obj.contains_key("pattern") {
                obj.insert("pattern".into(), json!(UUID_PATTERN));
            }
            obj.values_mut().for_each(uuid_patterns);
        }
        Value::Array(items) => items.iter_mut().for_each(uuid_patterns),
        _ => {}
    }
}
