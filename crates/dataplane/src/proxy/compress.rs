//! Entrypoint `compress = true`: gzip, or brotli when the client ranks it at least as high,
//! for clients that accept it. Each upstream chunk is compressed and flushed as it arrives, so
//! streams (SSE, long polls) keep flowing. Left alone: answers already encoded, partial
//! content (206 or a `Content-Range`), gRPC, answers without a body, and bodies known to be
//! shorter than 1400 bytes (gziphandler's threshold, which Traefik uses).

use std::io::Write;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

use super::body::ProxyBody;

/// Bodies known to be shorter than this are sent as they are.
const MIN_SIZE: u64 = 1400;
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

/// The encoding to answer `headers` with, by `Accept-Encoding` and its q-values: brotli when
/// its weight is at least gzip's, gzip otherwise, none when neither is acceptable.
pub(super) fn negotiate(headers: &HeaderMap) -> Option<Encoding> {
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
    let gzip = gzip.or(star).unwrap_or(0.0);
    let br = br.or(star).unwrap_or(0.0);
    match (br > 0.0 && br >= gzip, gzip > 0.0) {
        (true, _) => Some(Encoding::Brotli),
        (false, true) => Some(Encoding::Gzip),
        _ => None,
    }
}

/// Encodes `resp` with `encoding` unless it must be left alone (see the module's text).
pub(super) fn apply(encoding: Encoding, method: &Method, resp: &mut Response<ProxyBody>) {
    if !worth_it(method, resp.status(), resp.headers()) {
        return;
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

fn worth_it(method: &Method, status: StatusCode, headers: &HeaderMap) -> bool {
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
        .is_some_and(|n| n < MIN_SIZE);
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
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoder::Gzip(_) => "Encoder::Gzip",
            Encoder::Brotli(_) => "Encoder::Brotli",
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
        }
    }

    /// The end of the stream (gzip's trailer, brotli's last block).
    pub(super) fn finish(self) -> std::io::Result<Bytes> {
        match self {
            Encoder::Gzip(e) => e.finish().map(Bytes::from),
            Encoder::Brotli(e) => Ok(Bytes::from(e.into_inner())),
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
    fn what_is_left_alone() {
        let mut h = HeaderMap::new();
        assert!(worth_it(&Method::GET, StatusCode::OK, &h));
        assert!(!worth_it(&Method::HEAD, StatusCode::OK, &h));
        assert!(!worth_it(&Method::GET, StatusCode::PARTIAL_CONTENT, &h));
        assert!(!worth_it(&Method::GET, StatusCode::NOT_MODIFIED, &h));
        h.insert(header::CONTENT_LENGTH, "1399".parse().expect("v"));
        assert!(!worth_it(&Method::GET, StatusCode::OK, &h));
        h.insert(header::CONTENT_LENGTH, "1400".parse().expect("v"));
        assert!(worth_it(&Method::GET, StatusCode::OK, &h));
        for (k, v) in [
            (header::CONTENT_ENCODING, "gzip"),
            (header::CONTENT_RANGE, "bytes 0-9/100"),
            (header::CONTENT_TYPE, "application/grpc+proto"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(k, v.parse().expect("v"));
            assert!(!worth_it(&Method::GET, StatusCode::OK, &h), "{v}");
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
