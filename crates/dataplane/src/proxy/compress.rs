//! Entrypoint `compress = true`: gzip, or brotli when the client ranks it at least as high,
//! for clients that accept it. Each upstream chunk is compressed and flushed as it arrives, so
//! streams (SSE, long polls) keep flowing. Left alone: answers already encoded, partial
//! content (206 or a `Content-Range`), gRPC, answers without a body, and bodies known to be
//! shorter than 1400 bytes (gziphandler's threshold, which Traefik uses).

use std::io::Write;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

use model::middleware::Compress;

use super::body::ProxyBody;

/// Bodies known to be shorter than this are sent as they are.
const MIN_SIZE: u64 = 1400;
/// The same for a 2.x/3.x `compress` middleware (`minResponseBodyBytes`' default).
const TRAEFIK_3_MIN_SIZE: u64 = 1024;
/// Brotli quality for dynamic content (11 is for static files; 4-6 is what servers use).
const BROTLI_QUALITY: u32 = 5;
const BROTLI_WINDOW: u32 = 22;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Gzip,
    Brotli,
}

impl Encoding {
    fn token(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        }
    }
}

/// A 2.x/3.x `compress` middleware's negotiation: its `encodings` only, its
/// `defaultEncoding` for requests that name none (no `Accept-Encoding`, or `*` alone).
pub(super) fn negotiate_for(headers: &HeaderMap, c: &Compress) -> Option<Encoding> {
    let allowed =
        |e: Encoding| c.encodings.is_empty() || c.encodings.iter().any(|n| n == e.token());
    // Names none: no coding listed, or `*` alone (no allocation: this runs per request).
    let mut named = (headers.get_all(header::ACCEPT_ENCODING).iter())
        .filter_map(|v| v.to_str().ok())
        .flat_map(|t| t.split(','))
        .map(|i| i.split(';').next().unwrap_or("").trim())
        .filter(|n| !n.is_empty());
    if named.all(|n| n == "*") {
        if let Some(d) = c.default_encoding.as_deref() {
            let e = if d == "br" {
                Encoding::Brotli
            } else {
                Encoding::Gzip
            };
            return allowed(e).then_some(e);
        }
    }
    let (gzip, br) = weights(headers);
    let gzip = if allowed(Encoding::Gzip) { gzip } else { 0.0 };
    let br = if allowed(Encoding::Brotli) { br } else { 0.0 };
    choose(gzip, br)
}

/// The encoding to answer `headers` with, by `Accept-Encoding` and its q-values: brotli when
/// its weight is at least gzip's, gzip otherwise, none when neither is acceptable.
pub(super) fn negotiate(headers: &HeaderMap) -> Option<Encoding> {
    let (gzip, br) = weights(headers);
    choose(gzip, br)
}

fn choose(gzip: f32, br: f32) -> Option<Encoding> {
    match (br > 0.0 && br >= gzip, gzip > 0.0) {
        (true, _) => Some(Encoding::Brotli),
        (false, true) => Some(Encoding::Gzip),
        _ => None,
    }
}

/// The q-values of gzip and brotli in `Accept-Encoding` (`*` stands for an unnamed one).
fn weights(headers: &HeaderMap) -> (f32, f32) {
    let (mut gzip, mut br, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match name.as_str() {
                "gzip" | "x-gzip" => gzip = Some(q),
                "br" => br = Some(q),
                "*" => star = Some(q),
                _ => {}
            }
        }
    }
    (gzip.or(star).unwrap_or(0.0), br.or(star).unwrap_or(0.0))
}

/// Encodes `resp` with `encoding` unless it must be left alone (see the module's text); a
/// 2.x/3.x middleware's `policy` sets the size threshold (1024 by default) and the media types.
pub(super) fn apply(
    encoding: Encoding,
    method: &Method,
    resp: &mut Response<ProxyBody>,
    policy: Option<&Compress>,
) {
    let min = match policy {
        Some(c) => c.min_response_body_bytes.unwrap_or(TRAEFIK_3_MIN_SIZE),
        None => MIN_SIZE,
    };
    if !worth_it(method, resp.status(), resp.headers(), min) {
        return;
    }
    if let Some(c) = policy {
        if !type_allowed(resp.headers(), c) {
            return;
        }
    }
    let h = resp.headers_mut();
    h.remove(header::CONTENT_LENGTH);
    h.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(encoding.token()),
    );
    h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    // The encoded bytes differ from the resource's: a strong validator becomes weak.
    if let Some(etag) = h.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        if !etag.starts_with("W/") {
            if let Ok(weak) = HeaderValue::from_str(&format!("W/{etag}")) {
                h.insert(header::ETAG, weak);
            }
        }
    }
    resp.body_mut().encode(Encoder::new(encoding));
}

/// Whether the answer's media type may be compressed under `c`'s lists (compared without
/// parameters or case).
fn type_allowed(headers: &HeaderMap, c: &Compress) -> bool {
    let media = (headers.get(header::CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let listed = |list: &[String]| list.iter().any(|t| t.trim().eq_ignore_ascii_case(&media));
    if !c.included_content_types.is_empty() {
        return listed(&c.included_content_types);
    }
    !listed(&c.excluded_content_types)
}

fn worth_it(method: &Method, status: StatusCode, headers: &HeaderMap, min: u64) -> bool {
    let no_body = *method == Method::HEAD
        || status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
        );
    let short = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n < min);
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/grpc"));
    !(no_body
        || short
        || grpc
        || headers.contains_key(header::CONTENT_ENCODING)
        || headers.contains_key(header::CONTENT_RANGE))
}

/// A streaming encoder: each chunk in, what it compresses to (flushed) out.
pub(super) enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    /// Not compression: gRPC into gRPC-Web (`super::grpc_web`), trailers into the body.
    GrpcWeb(super::grpc_web::WebEncoder),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoder::Gzip(_) => "Encoder::Gzip",
            Encoder::Brotli(_) => "Encoder::Brotli",
            Encoder::GrpcWeb(_) => "Encoder::GrpcWeb",
        })
    }
}

impl Encoder {
    fn new(encoding: Encoding) -> Encoder {
        match encoding {
            Encoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::default(),
            )),
            Encoding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                BROTLI_QUALITY,
                BROTLI_WINDOW,
            ))),
        }
    }

    /// Compresses `chunk` and flushes, so the client can decode everything sent so far.
    pub(super) fn chunk(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        match self {
            Encoder::Gzip(e) => {
                e.write_all(chunk)?;
                e.flush()?;
                Ok(Bytes::from(std::mem::take(e.get_mut())))
            }
            Encoder::Brotli(e) => {
                e.write_all(chunk)?;
                e.flush()?;
                Ok(Bytes::from(std::mem::take(e.get_mut())))
            }
            Encoder::GrpcWeb(e) => Ok(e.chunk(chunk)),
        }
    }

    /// gRPC-Web's encoder for a gRPC answer (`-text`: base64).
    pub(super) fn grpc_web(text: bool) -> Encoder {
        Encoder::GrpcWeb(super::grpc_web::WebEncoder::new(text))
    }

    /// Trailers as data, for gRPC-Web; `None`: they stay trailers.
    pub(super) fn trailers(&mut self, trailers: &HeaderMap) -> Option<Bytes> {
        match self {
            Encoder::GrpcWeb(e) => Some(e.trailers(trailers)),
            _ => None,
        }
    }

    /// The end of the stream (gzip's trailer, brotli's last block).
    pub(super) fn finish(self) -> std::io::Result<Bytes> {
        match self {
            Encoder::Gzip(e) => e.finish().map(Bytes::from),
            Encoder::Brotli(e) => Ok(Bytes::from(e.into_inner())),
            Encoder::GrpcWeb(mut e) => Ok(e.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, v.parse().expect("v"));
        h
    }

    #[test]
    fn brotli_when_ranked_at_least_as_high_as_gzip() {
        assert_eq!(
            negotiate(&accept("gzip, deflate, br")),
            Some(Encoding::Brotli)
        );
        assert_eq!(negotiate(&accept("br;q=0.5, gzip")), Some(Encoding::Gzip));
        assert_eq!(negotiate(&accept("gzip")), Some(Encoding::Gzip));
        assert_eq!(negotiate(&accept("identity")), None);
        assert_eq!(negotiate(&accept("gzip;q=0, br;q=0")), None);
        assert_eq!(negotiate(&accept("*")), Some(Encoding::Brotli));
        assert_eq!(negotiate(&HeaderMap::new()), None);
    }

    #[test]
    fn a_middlewares_encodings_default_and_media_types() {
        let only_gzip = Compress {
            encodings: vec!["gzip".into()],
            default_encoding: Some("gzip".into()),
            ..Compress::default()
        };
        assert_eq!(
            negotiate_for(&accept("br, gzip;q=0.5"), &only_gzip),
            Some(Encoding::Gzip)
        );
        assert_eq!(negotiate_for(&accept("br"), &only_gzip), None);
        assert_eq!(
            negotiate_for(&HeaderMap::new(), &only_gzip),
            Some(Encoding::Gzip)
        );
        assert_eq!(negotiate_for(&HeaderMap::new(), &Compress::default()), None);
        let typed = |t: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, t.parse().expect("v"));
            h
        };
        let excluded = Compress {
            excluded_content_types: vec!["text/event-stream".into()],
            ..Compress::default()
        };
        assert!(!type_allowed(
            &typed("text/event-stream; charset=utf-8"),
            &excluded
        ));
        assert!(type_allowed(&typed("text/html"), &excluded));
        let included = Compress {
            included_content_types: vec!["application/json".into()],
            ..Compress::default()
        };
        assert!(type_allowed(&typed("Application/JSON"), &included));
        assert!(!type_allowed(&typed("text/html"), &included));
    }

    #[test]
    fn what_is_left_alone() {
        let mut h = HeaderMap::new();
        assert!(worth_it(&Method::GET, StatusCode::OK, &h, MIN_SIZE));
        assert!(!worth_it(&Method::HEAD, StatusCode::OK, &h, MIN_SIZE));
        assert!(!worth_it(
            &Method::GET,
            StatusCode::PARTIAL_CONTENT,
            &h,
            MIN_SIZE
        ));
        assert!(!worth_it(
            &Method::GET,
            StatusCode::NOT_MODIFIED,
            &h,
            MIN_SIZE
        ));
        h.insert(header::CONTENT_LENGTH, "1399".parse().expect("v"));
        assert!(!worth_it(&Method::GET, StatusCode::OK, &h, MIN_SIZE));
        h.insert(header::CONTENT_LENGTH, "1400".parse().expect("v"));
        assert!(worth_it(&Method::GET, StatusCode::OK, &h, MIN_SIZE));
        for (k, v) in [
            (header::CONTENT_ENCODING, "gzip"),
            (header::CONTENT_RANGE, "bytes 0-9/100"),
            (header::CONTENT_TYPE, "application/grpc+proto"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(k, v.parse().expect("v"));
            assert!(!worth_it(&Method::GET, StatusCode::OK, &h, MIN_SIZE), "{v}");
        }
    }

    #[test]
    fn each_chunk_decodes_as_soon_as_it_is_sent() {
        for encoding in [Encoding::Gzip, Encoding::Brotli] {
            let mut e = Encoder::new(encoding);
            let first = e.chunk(b"tick\n").expect("chunk");
            let mut sent = first.to_vec();
            // What was sent so far decodes to the first chunk, before the stream ends.
            let partial = decode_partial(encoding, &sent);
            assert_eq!(partial, b"tick\n", "{encoding:?}");
            sent.extend_from_slice(&e.chunk(b"tock\n").expect("chunk"));
            sent.extend_from_slice(&e.finish().expect("finish"));
            assert_eq!(decode_partial(encoding, &sent), b"tick\ntock\n");
        }
    }

    /// Decodes as much of `data` as it holds (a stream cut short is not an error here).
    fn decode_partial(encoding: Encoding, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        let mut reader: Box<dyn Read> = match encoding {
            Encoding::Gzip => Box::new(flate2::read::GzDecoder::new(data)),
            Encoding::Brotli => Box::new(brotli::Decompressor::new(data, 4096)),
        };
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }
}
