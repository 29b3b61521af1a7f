//! Raw HTTP/1.1 over TCP, for requests no HTTP client would send (raw
//! bytes in a body or header, unknown methods, malformed heads), and the
//! checks of what came back: the error format of each part of the API.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest any answer may take; beyond it the server is hanging.
pub const HANG_BOUND: Duration = Duration::from_secs(10);

/// What came back on a connection.
#[derive(Debug)]
pub enum Answer {
    /// An HTTP response.
    Response {
        status: u16,
        head: String,
        body: Vec<u8>,
    },
    /// The server closed or reset the connection without answering.
    Closed,
}

/// What a case must get.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// RFC 6749 §5.2: this status, JSON `{"error", "error_description"}`
    /// with this `error`, `no-store` and `no-cache`.
    OAuth(u16, &'static str),
    /// 405 with `Allow: POST` from a POST-only OAuth endpoint.
    OAuthMethod,
    /// RFC 7662: 200 `{"active": false}`.
    Inactive,
    /// RFC 9457 problem details with this status and `code`, `no-store`.
    Problem(u16, &'static str),
    /// A problem 405 with exactly this `Allow`.
    ProblemMethod(&'static str),
    /// 405 with exactly this `Allow` (well-known documents).
    Method(&'static str),
    /// Exactly this status (for the few cases that are not errors at all).
    Status(u16),
    /// Malformed HTTP: any 4xx, or the connection closed unanswered.
    RefusedOrClosed,
}

/// A request: `method path`, the headers given, `Content-Length` of the
/// body unless a header sets one, and `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
        .into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    let declared = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    if !declared && (!body.is_empty() || !matches!(method, "GET" | "HEAD")) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `bytes` on a new connection and reads until the server closes
/// it. Panics if that takes longer than [`HANG_BOUND`].
pub async fn exchange(authority: &str, bytes: &[u8]) -> Answer {
    let work = async {
        let mut stream = TcpStream::connect(authority).await.unwrap();
        // The server may answer (and close) before it has read everything,
        // as it does for a body declared too large.
        let _ = stream.write_all(bytes).await;
        let mut received = Vec::new();
        // A reset after the answer still leaves the answer in `received`.
        let _ = stream.read_to_end(&mut received).await;
        parse(&received)
    };
    tokio::time::timeout(HANG_BOUND, work)
        .await
        .unwrap_or_else(|_| panic!("no answer within {HANG_BOUND:?}: the server hangs"))
}

fn parse(received: &[u8]) -> Answer {
    let Some(head_end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
        assert!(
            received.is_empty(),
            "a truncated answer: {}",
            String::from_utf8_lossy(received)
        );
        return Answer::Closed;
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    let raw = &received[head_end + 4..];
    let body = if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(raw)
    } else {
        raw.to_vec()
    };
    Answer::Response { status, head, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("a bad chunk size in an answer: {size_text}"));
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
    body
}

/// A header of a response head, by case-insensitive name.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Asserts that `answer` is what `expect` says; `what` names the case.
pub fn check(what: &str, expect: Expect, answer: &Answer) {
    let (status, head, body) = match answer {
        Answer::Response { status, head, body } => (*status, head.as_str(), body.as_slice()),
        Answer::Closed => {
            assert!(
                matches!(expect, Expect::RefusedOrClosed),
                "{what}: the connection closed without an answer"
            );
            return;
        }
    };
    let text = String::from_utf8_lossy(body);
    let context = format!("{what}: {head}\r\n\r\n{text}");
    assert!(status < 500, "{context}");
    let json = || -> Value {
        serde_json::from_slice(body).unwrap_or_else(|err| panic!("{context}: not JSON: {err}"))
    };
    let has = |name: &str, value: &str| {
        assert_eq!(header(head, name), Some(value), "{name} in {context}");
    };
    match expect {
        Expect::OAuth(expected, error) => {
            assert_eq!(status, expected, "{context}");
            has("content-type", "application/json");
            has("cache-control", "no-store");
            has("pragma", "no-cache");
            let body = json();
            assert_eq!(members(&body), ["error", "error_description"], "{context}");
            assert_eq!(body["error"], error, "{context}");
            assert!(non_empty(&body["error_description"]), "{context}");
        }
        Expect::OAuthMethod => {
            assert_eq!(status, 405, "{context}");
            has("allow", "POST");
            has("cache-control", "no-store");
        }
        Expect::Inactive => {
            assert_eq!(status, 200, "{context}");
            has("cache-control", "no-store");
            assert_eq!(json(), serde_json::json!({"active": false}), "{context}");
        }
        Expect::Problem(expected, code) => {
            assert_eq!(status, expected, "{context}");
            assert_problem_body(head, &json(), expected, code, &context);
        }
        Expect::ProblemMethod(allow) => {
            assert_eq!(status, 405, "{context}");
            has("allow", allow);
            assert_problem_body(head, &json(), 405, "method_not_allowed", &context);
        }
        Expect::Method(allow) => {
            assert_eq!(status, 405, "{context}");
            has("allow", allow);
        }
        Expect::Status(expected) => assert_eq!(status, expected, "{context}"),
        Expect::RefusedOrClosed => assert!((400..500).contains(&status), "{context}"),
    }
}

fn assert_problem_body(head: &str, body: &Value, status: u16, code: &str, context: &str) {
    assert_eq!(
        header(head, "content-type"),
        Some("application/problem+json"),
        "{context}"
    );
    assert_eq!(header(head, "cache-control"), Some("no-store"), "{context}");
    assert_eq!(
        members(body),
        ["code", "detail", "status", "title", "type"],
        "{context}"
    );
    assert_eq!(body["code"], code, "{context}");
    assert_eq!(body["status"], status, "{context}");
    for member in ["detail", "title", "type"] {
        assert!(non_empty(&body[member]), "{member} in {context}");
    }
}

fn members(body: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = body
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.sort_unstable();
    names
}

fn non_empty(value: &Value) -> bool {
    value.as_str().is_some_and(|text| !text.is_empty())
}
