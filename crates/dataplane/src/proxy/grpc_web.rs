//! A 2.x/3.x `grpcWeb` middleware, as Traefik's (improbable-eng's wrapper): a gRPC-Web request
//! (`POST`, `Content-Type: application/grpc-web[-text][+proto]`) goes to the service as gRPC
//! (`application/grpc…`, `TE: trailers`, a `-text` body base64-decoded), and the answer comes
//! back as gRPC-Web: its trailers written into the body as the final frame (flag `0x80`), the
//! whole body base64-encoded for `-text`. CORS preflights for gRPC-Web are answered for
//! `allowOrigins` (`*`: any); allowed origins see `grpc-status` and `grpc-message`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::body::ProxyBody;
use super::error::ProxyError;
use super::prepare::Prepared;
use super::upstream_body::RequestBody;

/// The largest `-text` request body decoded (gRPC-Web requests are single messages).
const MAX_TEXT_BODY: usize = 16 << 20;

/// How one gRPC-Web call is written.
#[derive(Debug, Clone)]
pub(super) struct Call {
    /// `-text`: bodies base64-encoded both ways.
    text: bool,
    /// What follows `application/grpc-web[-text]` (`+proto`, or nothing).
    suffix: String,
    /// The client's `Origin`, when `allowOrigins` allows it.
    origin: Option<HeaderValue>,
}

fn allowed(origins: &[String], origin: &HeaderValue) -> bool {
    let o = origin.to_str().unwrap_or_default();
    origins.iter().any(|a| a == "*" || a == o)
}

/// The answer to a gRPC-Web CORS preflight (`OPTIONS` with `Access-Control-Request-Method`),
/// with the CORS headers when the origin is allowed.
pub(super) fn preflight(
    origins: &[String],
    req: &Request<Incoming>,
) -> Option<Response<ProxyBody>> {
    let h = req.headers();
    if req.method() != Method::OPTIONS || !h.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        return None;
    }
    let mut resp = Response::new(ProxyBody::empty());
    *resp.status_mut() = StatusCode::OK;
    let out = resp.headers_mut();
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = h.get(header::ORIGIN).filter(|o| allowed(origins, o)) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        if let Some(asked) = h.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
    }
    Some(resp)
}

/// The call a request (`method`, `headers`) makes, if it is a gRPC-Web one.
pub(super) fn call(origins: &[String], method: &Method, headers: &HeaderMap) -> Option<Call> {
    if method != Method::POST {
        return None;
    }
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let rest = ct.strip_prefix("application/grpc-web")?;
    let (text, suffix) = match rest.strip_prefix("-text") {
        Some(s) => (true, s),
        None => (false, rest),
    };
    Some(Call {
        text,
        suffix: suffix.to_string(),
        origin: (headers.get(header::ORIGIN))
            .filter(|o| allowed(origins, o))
            .cloned(),
    })
}

/// Turns the prepared gRPC-Web request into gRPC: its content type, `TE: trailers`, and a
/// `-text` body decoded (read whole first).
pub(super) async fn request(call: &Call, head: &mut Prepared) -> Result<(), ProxyError> {
    let h = &mut head.parts.headers;
    let ct = format!("application/grpc{}", call.suffix);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&ct).map_err(|e| ProxyError::BadRequest(e.to_string()))?,
    );
    h.insert(header::TE, HeaderValue::from_static("trailers"));
    h.remove(header::CONTENT_LENGTH);
    if !call.text {
        return Ok(());
    }
    let RequestBody::Stream(body) =
        std::mem::replace(&mut head.body, RequestBody::Buffered(Arc::default()))
    else {
        return Ok(());
    };
    let read = http_body_util::Limited::new(body, MAX_TEXT_BODY)
        .collect()
        .await
        .map_err(|e| ProxyError::BadRequest(format!("gRPC-Web body: {e}")))?
        .to_bytes();
    let text: Vec<u8> = read
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let decoded = decode_padded(&text)
        .map_err(|e| ProxyError::BadRequest(format!("gRPC-Web text body: {e}")))?;
    head.parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(decoded.len()));
    head.body = RequestBody::Buffered(Arc::new(super::buffering::Buffered::from_bytes(
        Bytes::from(decoded),
    )));
    Ok(())
}

/// Base64 that may be several padded chunks one after the other (browsers send each message
/// encoded on its own).
fn decode_padded(text: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < text.len() {
        if text[i] != b'=' {
            i += 1;
            continue;
        }
        while i < text.len() && text[i] == b'=' {
            i += 1;
        }
        out.extend(STANDARD.decode(&text[start..i])?);
        start = i;
    }
    if start < text.len() {
        out.extend(STANDARD.decode(&text[start..])?);
    }
    Ok(out)
}

/// Turns the service's gRPC answer into gRPC-Web for `call`.
pub(super) fn response(call: &Call, resp: &mut Response<ProxyBody>) {
    let h = resp.headers_mut();
    let kind = if call.text {
        "application/grpc-web-text"
    } else {
        "application/grpc-web"
    };
    let suffix = (h.get(header::CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.strip_prefix("application/grpc"))
        .map(|s| s.to_string());
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{kind}{}",
        suffix.as_deref().unwrap_or(&call.suffix)
    )) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.remove(header::CONTENT_LENGTH);
    if let Some(origin) = &call.origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("grpc-status, grpc-message"),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp.body_mut()
        .transform(super::compress::Encoder::grpc_web(call.text));
}

/// The gRPC-Web body encoder: data as it is (or base64, carrying the bytes that do not make a
/// whole group of three to the next chunk), trailers as the final frame.
#[derive(Debug, Default)]
pub(super) struct WebEncoder {
    text: bool,
    carry: Vec<u8>,
}

impl WebEncoder {
    pub(super) fn new(text: bool) -> WebEncoder {
        WebEncoder {
            text,
            carry: Vec::new(),
        }
    }

    pub(super) fn chunk(&mut self, data: &[u8]) -> Bytes {
        if !self.text {
            return Bytes::copy_from_slice(data);
        }
        self.carry.extend_from_slice(data);
        let whole = self.carry.len() / 3 * 3;
        let out = STANDARD.encode(&self.carry[..whole]);
        self.carry.drain(..whole);
        Bytes::from(out)
    }

    /// The trailers as gRPC-Web's final frame (`name: value\r\n` lines, lower case).
    pub(super) fn trailers(&mut self, trailers: &HeaderMap) -> Bytes {
        let mut block = Vec::new();
        for (name, value) in trailers {
            block.extend_from_slice(name.as_str().as_bytes());
            block.extend_from_slice(b": ");
            block.extend_from_slice(value.as_bytes());
            block.extend_from_slice(b"\r\n");
        }
        let mut frame = BytesMut::with_capacity(5 + block.len());
        frame.put_u8(0x80);
        frame.put_u32(block.len() as u32);
        frame.extend_from_slice(&block);
        self.chunk(&frame)
    }

    /// What is left: base64's last group with its padding.
    pub(super) fn finish(&mut self) -> Bytes {
        if !self.text || self.carry.is_empty() {
            return Bytes::new();
        }
        let out = STANDARD.encode(&self.carry);
        self.carry.clear();
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bodies_decode_in_padded_chunks_and_encode_contiguously() {
        let a = STANDARD.encode(b"\x00\x00\x00\x00\x01a");
        let b = STANDARD.encode(b"\x00\x00\x00\x00\x02bc");
        let joined = format!("{a}{b}");
        assert_eq!(
            decode_padded(joined.as_bytes()).expect("decodes"),
            b"\x00\x00\x00\x00\x01a\x00\x00\x00\x00\x02bc"
        );
        let mut e = WebEncoder::new(true);
        let mut out = Vec::new();
        out.extend_from_slice(&e.chunk(b"ab"));
        out.extend_from_slice(&e.chunk(b"cde"));
        let mut t = HeaderMap::new();
        t.insert("grpc-status", HeaderValue::from_static("0"));
        out.extend_from_slice(&e.trailers(&t));
        out.extend_from_slice(&e.finish());
        let decoded = STANDARD.decode(&out).expect("one base64 stream");
        assert_eq!(&decoded[..5], b"abcde");
        assert_eq!(decoded[5], 0x80);
        assert_eq!(&decoded[10..], b"grpc-status: 0\r\n");
    }
}
