//! The few etcd v3 calls an election needs, over etcd's JSON gateway (`POST /v3/...` on the
//! client port, served by every etcd since 3.4): grant, keep alive and revoke a lease; create
//! the election key under the lease if nobody holds it; read who holds it. Keys and values are
//! base64 in JSON, and 64-bit numbers are strings.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// A client for etcd's endpoints, tried in turn.
#[derive(Debug)]
pub(crate) struct Etcd {
    /// `host:port` of each endpoint.
    endpoints: Vec<String>,
    /// How long one call may take.
    timeout: Duration,
}

/// Who holds the election key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) instance: String,
    /// The key's creation revision: the term's fencing token.
    pub(crate) revision: u64,
    pub(crate) lease: i64,
}

impl Etcd {
    pub(crate) fn new(endpoints: &[String], timeout: Duration) -> Self {
        Self {
            endpoints: endpoints
                .iter()
                .filter_map(|endpoint| crate::config::endpoint_address(endpoint))
                .map(str::to_owned)
                .collect(),
            timeout,
        }
    }

    /// A lease of `ttl`; its id.
    pub(crate) async fn grant(&self, ttl: Duration) -> Result<i64, String> {
        let answer = self
            .call(
                "/v3/lease/grant",
                json!({ "TTL": ttl.as_secs().to_string() }),
            )
            .await?;
        number(&answer["ID"]).ok_or_else(|| format!("etcd granted no lease: {answer}"))
    }

    /// Renews `lease`; its remaining time, or `None` if it has expired.
    pub(crate) async fn keep_alive(&self, lease: i64) -> Result<Option<Duration>, String> {
        let answer = self
            .call("/v3/lease/keepalive", json!({ "ID": lease.to_string() }))
            .await?;
        let ttl = number(&answer["result"]["TTL"]).unwrap_or(0);
        Ok((ttl > 0).then(|| Duration::from_secs(ttl.unsigned_abs())))
    }

    /// Revokes `lease`, deleting the keys it holds.
    pub(crate) async fn revoke(&self, lease: i64) -> Result<(), String> {
        self.call("/v3/lease/revoke", json!({ "ID": lease.to_string() }))
            .await
            .map(drop)
    }

    /// Creates `key` = `instance` under `lease` if no one holds it; the holder either way.
    pub(crate) async fn campaign(
        &self,
        key: &str,
        instance: &str,
        lease: i64,
    ) -> Result<Holder, String> {
        let key = BASE64.encode(key);
        let answer = self
            .call(
                "/v3/kv/txn",
                json!({
                    "compare": [{ "key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0" }],
                    "success": [{ "request_put": { "key": key, "value": BASE64.encode(instance), "lease": lease.to_string() } }],
                    "failure": [{ "request_range": { "key": key } }],
                }),
            )
            .await?;
        if answer["succeeded"].as_bool() == Some(true) {
            let revision = number(&answer["header"]["revision"])
                .ok_or_else(|| format!("etcd's answer has no revision: {answer}"))?;
            return Ok(Holder {
                instance: instance.to_owned(),
                revision: revision.unsigned_abs(),
                lease,
            });
        }
        holder(&answer["responses"][0]["response_range"])
            .ok_or_else(|| format!("the election key vanished while campaigning: {answer}"))
    }

    /// One call: the first endpoint that answers, in order.
    async fn call(&self, path: &str, body: Value) -> Result<Value, String> {
        let body = body.to_string();
        let mut errors = Vec::new();
        for endpoint in &self.endpoints {
            match tokio::time::timeout(self.timeout, post(endpoint, path, &body)).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(err)) => errors.push(format!("{endpoint}: {err}")),
                Err(_) => errors.push(format!("{endpoint}: no answer within {:?}", self.timeout)),
            }
        }
        Err(errors.join("; "))
    }
}

/// The holder in a range answer.
fn holder(range: &Value) -> Option<Holder> {
    let kv = range["kvs"].get(0)?;
    let instance = BASE64
        .decode(kv["value"].as_str().unwrap_or_default())
        .ok()?;
    Some(Holder {
        instance: String::from_utf8_lossy(&instance).into_owned(),
        revision: number(&kv["create_revision"])?.unsigned_abs(),
        lease: number(&kv["lease"]).unwrap_or(0),
    })
}

/// A 64-bit number as etcd's gateway writes it (a string), or a plain one.
fn number(value: &Value) -> Option<i64> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .or_else(|| value.as_i64())
}

/// `POST path` with a JSON body to `endpoint` (`host:port`) on a connection of its own.
async fn post(endpoint: &str, path: &str, body: &str) -> Result<Value, String> {
    let stream = tokio::net::TcpStream::connect(endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driving = tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, endpoint)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string());
    let outcome = match response {
        Ok(response) => {
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            let answer: Value =
                serde_json::from_slice(&bytes).map_err(|e| format!("{status}: not JSON ({e})"))?;
            if status.is_success() {
                Ok(answer)
            } else {
                Err(format!(
                    "{status}: {}",
                    answer["message"].as_str().unwrap_or("")
                ))
            }
        }
        Err(err) => Err(err),
    };
    driving.abort();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_answer_names_the_holder_and_its_revision() {
        let answer = json!({ "kvs": [{ "key": "L3BkL2xlYWRlcg==", "create_revision": "2", "value": "aW5zdDE=", "lease": "77" }] });
        assert_eq!(
            holder(&answer),
            Some(Holder {
                instance: "inst1".into(),
                revision: 2,
                lease: 77
            })
        );
        assert_eq!(holder(&json!({ "count": "0" })), None);
    }
}
