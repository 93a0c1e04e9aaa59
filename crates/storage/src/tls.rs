//! TLS to PostgreSQL, and what happens with a certificate the client cannot use.
//!
//! The URL's `sslmode` decides, as with libpq: `disable`; `prefer` (the default: TLS when the
//! server offers it, the certificate not checked); `require` (TLS, not checked); `verify-ca`
//! and `verify-full` (checked against `sslrootcert`, and the host name for `verify-full`).
//!
//! A Citus node set up the ordinary way has TLS on with the self-signed X.509 **version 1**
//! certificate `CREATE EXTENSION citus` generates, which this client's TLS library (rustls)
//! cannot parse even when it checks nothing (`UnsupportedCertVersion`). Under `prefer` the
//! connection then falls back to plain TCP, as `prefer` promises no TLS, and says so in the log;
//! under `require` and `verify-*` the error says what to do. See docs/scaling.md, "TLS".

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};

use crate::{Result, StorageError};

/// How long the probe connection may take before it is given up (the pool then reports).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The URL's options, with `sslmode=prefer` turned into `disable` when the server's certificate
/// cannot be used.
pub(crate) async fn options(url: &str) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url).map_err(|e| StorageError::Other(e.to_string()))?;
    checked(options).await
}

/// One probe connection when the server may offer TLS: under `prefer`, a certificate rustls
/// refuses means plain TCP; under `require`/`verify-*`, an error that says what to do. A server
/// that cannot be reached now is left to the caller (a lazy pool retries).
pub(crate) async fn checked(options: PgConnectOptions) -> Result<PgConnectOptions> {
    let mode = options.get_ssl_mode();
    if matches!(mode, PgSslMode::Disable | PgSslMode::Allow) || options.get_socket().is_some() {
        return Ok(options);
    }
    let probe = tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(&options)).await;
    match probe {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(options)
        }
        Ok(Err(e)) if is_tls(&e) && matches!(mode, PgSslMode::Prefer) => {
            tracing::warn!(
                error = %e,
                host = options.get_host(),
                "the database server's TLS certificate cannot be used (a Citus node's default is a \
                 self-signed X.509 v1 certificate); sslmode=prefer: connecting without TLS. Give the \
                 server a proper certificate and set sslmode=verify-full, or sslmode=disable on a \
                 trusted network (docs/scaling.md, TLS)"
            );
            Ok(options.ssl_mode(PgSslMode::Disable))
        }
        Ok(Err(e)) if is_tls(&e) => Err(StorageError::Other(format!(
            "TLS to the database server at {} failed ({e}) under sslmode={}: a Citus node's default \
             certificate (made by CREATE EXTENSION citus) is a self-signed X.509 v1 certificate this \
             client cannot use. Give each node a v3 certificate (ssl_cert_file/ssl_key_file, signed by \
             a CA named with sslrootcert=) for sslmode=verify-full, or use sslmode=prefer or \
             sslmode=disable on a trusted network (docs/scaling.md, TLS)",
            options.get_host(),
            match mode {
                PgSslMode::Require => "require",
                PgSslMode::VerifyCa => "verify-ca",
                _ => "verify-full",
            }
        ))),
        _ => Ok(options),
    }
}

/// A failed TLS handshake: rustls reports a refused certificate as an I/O error of the socket.
fn is_tls(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(e) => {
            let text = e.to_string();
            text.contains("certificate") || text.contains("TLS") || text.contains("tls")
        }
        _ => false,
    }
}
