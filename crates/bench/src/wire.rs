//! How `tills bench` sends a request. The load generator usually shares the machine with the
//! Tills it measures, so every microsecond it spends is one the server does not get: against a
//! plain `http://` URL each client owns one keep-alive HTTP/1.1 connection (hyper's, as wrk
//! keeps one per connection), with no pool to check out of and no URL to parse per request.
//! reqwest's pool took about 23 µs of CPU a hot scan, as much as two thirds of the server's own
//! cost. An `https://` URL goes through reqwest (TLS, any deployment).

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go: the deployment's address and base path.
#[derive(Clone)]
pub struct Target {
    /// `http://host:port/base`, without a trailing slash (what reqwest is given).
    base: String,
    /// Set for plain http: where each client connects itself.
    plain: Option<Plain>,
    pool: reqwest::Client,
    timeout: Duration,
}

/// A plain-http deployment, as each client's own connection reaches it.
#[derive(Clone)]
struct Plain {
    /// `host:port`, for `TcpStream::connect`.
    addr: String,
    /// The Host header (the URL's host, with its port when it names one).
    host: HeaderValue,
    /// The URL's path, without a trailing slash (`""` at the root).
    base_path: String,
}

/// One request: method, path below the base, a bearer token, a JSON body.
pub struct Call<'a> {
    pub method: Method,
    pub path: String,
    pub token: &'a HeaderValue,
    pub json: Option<Bytes>,
}

impl Target {
    pub fn new(url: &str, pool: reqwest::Client, timeout: Duration) -> anyhow::Result<Self> {
        let base = url.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base).with_context(|| format!("{url} is not a URL"))?;
        let plain = match parsed.scheme() {
            "http" => {
                let host = parsed.host_str().context("the URL has no host")?;
                let port = parsed.port_or_known_default().unwrap_or(80);
                let authority = match parsed.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host.to_owned(),
                };
                Some(Plain {
                    addr: format!("{host}:{port}"),
                    host: HeaderValue::from_str(&authority).context("the URL's host")?,
                    base_path: parsed.path().trim_end_matches('/').to_owned(),
                })
            }
            "https" => None,
            other => bail!("{other}: the URL is http or https"),
        };
        Ok(Target { base, plain, pool, timeout })
    }

    /// A client's own way of sending (a connection of its own for plain http, opened on its
    /// first request).
    pub fn client(&self) -> Client {
        Client { target: self.clone(), conn: None }
    }
}

pub struct Client {
    target: Target,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// Sends `call`, reads the whole answer, and returns its status; an error is `"timeout"` or
    /// `"connection"` (and the next call opens a new connection).
    pub async fn send(&mut self, call: Call<'_>) -> Result<u16, &'static str> {
        let timeout = self.target.timeout;
        let sent = match &self.target.plain {
            Some(_) => tokio::time::timeout(timeout, self.send_plain(call)).await,
            None => tokio::time::timeout(timeout, self.send_pooled(call)).await,
        };
        let result = sent.unwrap_or(Err("timeout"));
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    async fn send_plain(&mut self, call: Call<'_>) -> Result<u16, &'static str> {
        const BROKEN: &str = "connection";
        let Some(Plain { addr, host, base_path }) = &self.target.plain else { return Err(BROKEN) };
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            let stream = TcpStream::connect(addr.as_str()).await.map_err(|_| BROKEN)?;
            stream.set_nodelay(true).map_err(|_| BROKEN)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|_| BROKEN)?;
            tokio::spawn(conn);
            self.conn = Some(sender);
        }
        let Some(sender) = self.conn.as_mut() else { return Err(BROKEN) };
        sender.ready().await.map_err(|_| BROKEN)?;
        let mut request = Request::builder()
            .method(call.method)
            .uri(format!("{base_path}{}", call.path))
            .header(HOST, host)
            .header(AUTHORIZATION, call.token);
        if call.json.is_some() {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let request = request.body(Full::new(call.json.unwrap_or_default())).map_err(|_| BROKEN)?;
        let response = sender.send_request(request).await.map_err(|_| BROKEN)?;
        let status = response.status().as_u16();
        response.into_body().collect().await.map_err(|_| BROKEN)?;
        Ok(status)
    }

    async fn send_pooled(&mut self, call: Call<'_>) -> Result<u16, &'static str> {
        let failed = |e: reqwest::Error| if e.is_timeout() { "timeout" } else { "connection" };
        let url = format!("{}{}", self.target.base, call.path);
        let mut request = self.target.pool.request(call.method, url).header(AUTHORIZATION, call.token);
        if let Some(json) = call.json {
            request = request.header(CONTENT_TYPE, "application/json").body(json);
        }
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        response.bytes().await.map_err(failed)?;
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> anyhow::Result<Target> {
        crate::install_crypto_provider();
        Target::new(url, reqwest::Client::new(), Duration::from_secs(1))
    }

    fn plain(url: &str) -> Option<(String, String, String)> {
        let t = target(url).unwrap();
        t.plain.map(|p| (p.addr, p.host.to_str().unwrap().to_owned(), p.base_path))
    }

    #[test]
    fn plain_http_connects_itself_and_https_goes_through_reqwest() {
        assert_eq!(
            plain("http://127.0.0.1:8080/"),
            Some(("127.0.0.1:8080".into(), "127.0.0.1:8080".into(), "".into()))
        );
        assert_eq!(
            plain("http://pos.example/tills/"),
            Some(("pos.example:80".into(), "pos.example".into(), "/tills".into()))
        );
        assert_eq!(plain("http://[::1]:9000"), Some(("[::1]:9000".into(), "[::1]:9000".into(), "".into())));
        assert_eq!(plain("https://pos.example"), None);
        assert!(target("ftp://pos.example").is_err());
    }
}
