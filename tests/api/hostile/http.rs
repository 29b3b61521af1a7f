//! Malformed HTTP: heads over actix-http's bounds, broken header lines,
//! bad lengths and chunking, odd methods and targets.

use super::raw::Expect;
use super::{Case, FORM, case, get, post, wire};

/// Requests that break HTTP/1.1 itself, or its size bounds.
pub(super) fn malformed_cases() -> Vec<Case> {
    use Expect::{RefusedOrClosed, Status};
    let big_value = vec![b'v'; 64 * 1024];
    let huge_value = vec![b'v'; 200 * 1024];
    let many_headers: Vec<String> = (0..3000).map(|n| format!("X-Junk-{n}")).collect();
    let many: Vec<(&str, &[u8])> = many_headers
        .iter()
        .map(|name| (name.as_str(), &b"1"[..]))
        .collect();
    let token_head = ["POST /oauth/token HTTP/1.1", "Host: x", "Connection: close"];
    let token = |extra: &[&str], body: &str| {
        let lines: Vec<&str> = token_head.iter().chain(extra).copied().collect();
        wire(&lines, body)
    };
    let chunked_big = format!("1400\r\n{}\r\n0\r\n\r\n", "a".repeat(0x1400));
    let form = "Content-Type: application/x-www-form-urlencoded";
    let grant = "grant_type=client_credentials";
    vec![
        // actix-http bounds a request head at 128 KiB and 96 headers; within
        // those bounds a big header is served, beyond them refused.
        case(
            "a 64 KiB header",
            get("/healthz", &[("X-Big", &big_value)]),
            Status(200),
        ),
        case(
            "a 200 KiB header",
            get("/healthz", &[("X-Big", &huge_value)]),
            RefusedOrClosed,
        ),
        case(
            "a 64 KiB Authorization at the token endpoint",
            post(
                "/oauth/token",
                &[FORM, ("Authorization", &big_value)],
                grant,
            ),
            RefusedOrClosed,
        ),
        case("3,000 headers", get("/healthz", &many), RefusedOrClosed),
        case(
            "a 64 KiB path",
            get(&format!("/{}", "p".repeat(64 * 1024)), &[]),
            RefusedOrClosed,
        ),
        case(
            "a header line without a colon",
            wire(&["GET /healthz HTTP/1.1", "Host: x", "nocolon"], ""),
            RefusedOrClosed,
        ),
        case(
            "a space in a header name",
            wire(&["GET /healthz HTTP/1.1", "Host: x", "Bad Name: 1"], ""),
            RefusedOrClosed,
        ),
        case(
            "a control character in a bearer token",
            get("/admin/v1/me", &[("Authorization", b"Bearer kmsess_\x01")]),
            RefusedOrClosed,
        ),
        case(
            "a NUL in a header value",
            get("/healthz", &[("X-Nul", b"a\0b")]),
            RefusedOrClosed,
        ),
        case(
            "binary garbage",
            b"\x00\x01\x02\x03\xff\r\n\r\n".to_vec(),
            RefusedOrClosed,
        ),
        case(
            "an unknown HTTP version",
            wire(&["GET /healthz HTTP/9.9", "Host: x"], ""),
            RefusedOrClosed,
        ),
        case(
            "an absent request target",
            wire(&["GET HTTP/1.1", "Host: x"], ""),
            RefusedOrClosed,
        ),
        case(
            "two different Content-Lengths",
            token(&["Content-Length: 1", "Content-Length: 2"], "ab"),
            RefusedOrClosed,
        ),
        case(
            "a negative Content-Length",
            token(&["Content-Length: -1"], ""),
            RefusedOrClosed,
        ),
        case(
            "a Content-Length of text",
            token(&["Content-Length: abc"], ""),
            RefusedOrClosed,
        ),
        case(
            "Content-Length and chunked together",
            token(
                &[form, "Content-Length: 4", "Transfer-Encoding: chunked"],
                "0\r\n\r\n",
            ),
            RefusedOrClosed,
        ),
        case(
            "a bad chunk size",
            token(&["Transfer-Encoding: chunked"], "zz\r\n\r\n"),
            RefusedOrClosed,
        ),
        case(
            "a chunked body over 4 KiB",
            token(&[form, "Transfer-Encoding: chunked"], &chunked_big),
            RefusedOrClosed,
        ),
        case(
            "CONNECT",
            wire(&["CONNECT 127.0.0.1:1 HTTP/1.1", "Host: 127.0.0.1:1"], ""),
            RefusedOrClosed,
        ),
        case(
            "OPTIONS *",
            wire(&["OPTIONS * HTTP/1.1", "Host: x", "Connection: close"], ""),
            RefusedOrClosed,
        ),
    ]
}
