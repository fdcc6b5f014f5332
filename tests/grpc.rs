//! gRPC through portier to an h2c backend: HTTP/2 end to end, `te: trailers` kept, unary and
//! server-streaming calls, trailers (`grpc-status`) passed through. The backend speaks the gRPC
//! wire format directly (length-prefixed messages and trailers) over hyper's HTTP/2 server.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::Portier;
use tokio::net::TcpListener;

/// One gRPC message: compressed flag, 4-byte length, payload.
fn frame(payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + payload.len());
    b.extend_from_slice(&[0]);
    b.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    b.extend_from_slice(payload);
    b.freeze()
}

fn messages(mut data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while data.len() >= 5 {
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        out.push(String::from_utf8_lossy(&data[5..5 + len]).into_owned());
        data = &data[5 + len..];
    }
    out
}

type GrpcBody =
    StreamBody<tokio_stream::wrappers::ReceiverStream<Result<Frame<Bytes>, Infallible>>>;

/// `/echo.Echo/Unary` answers "hello <name>"; `/echo.Echo/Stream` answers 5 messages 50 ms apart.
/// It refuses calls without `te: trailers`, as real gRPC servers do.
async fn grpc_backend() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<Incoming>| async move {
                    let te_ok = req.headers().get("te").is_some_and(|v| v == "trailers");
                    let path = req.uri().path().to_string();
                    let version = req.version();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let name = messages(&body).first().cloned().unwrap_or_default();
                    let (tx, rx) = tokio::sync::mpsc::channel(8);
                    tokio::spawn(async move {
                        let mut trailers = HeaderMap::new();
                        if !te_ok || version != http::Version::HTTP_2 {
                            trailers.insert("grpc-status", HeaderValue::from_static("3"));
                            trailers.insert(
                                "grpc-message",
                                HeaderValue::from_static("needs te: trailers over h2"),
                            );
                        } else if path == "/echo.Echo/Unary" {
                            let _ = tx
                                .send(Ok(Frame::data(frame(format!("hello {name}").as_bytes()))))
                                .await;
                            trailers.insert("grpc-status", HeaderValue::from_static("0"));
                        } else if path == "/echo.Echo/Stream" {
                            for i in 0..5 {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                let _ = tx
                                    .send(Ok(Frame::data(frame(format!("{name} #{i}").as_bytes()))))
                                    .await;
                            }
                            trailers.insert("grpc-status", HeaderValue::from_static("0"));
                        } else {
                            trailers.insert("grpc-status", HeaderValue::from_static("12"));
                        }
                        let _ = tx.send(Ok(Frame::trailers(trailers))).await;
                    });
                    let mut resp = Response::new(StreamBody::new(
                        tokio_stream::wrappers::ReceiverStream::new(rx),
                    ));
                    resp.headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/grpc"));
                    Ok::<Response<GrpcBody>, Infallible>(resp)
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// Calls `method` through portier over h2c (prior knowledge); returns messages and grpc-status.
async fn call(
    portier: std::net::SocketAddr,
    method: &str,
    name: &str,
) -> (Vec<String>, Option<String>, Vec<Duration>) {
    let tcp = tokio::net::TcpStream::connect(portier)
        .await
        .expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("h2c handshake");
    tokio::spawn(conn);
    let req = Request::post(format!("http://grpc.local{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(frame(name.as_bytes())))
        .expect("request");
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let started = std::time::Instant::now();
    let mut body = resp.into_body();
    let (mut data, mut status, mut arrivals) = (Vec::new(), None, Vec::new());
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("frame");
        if let Some(d) = frame.data_ref() {
            data.extend_from_slice(d);
            arrivals.push(started.elapsed());
        }
        if let Some(t) = frame.trailers_ref() {
            status = t
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
        }
    }
    (messages(&data), status, arrivals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_and_server_streaming_calls_through_portier() {
    let backend = grpc_backend().await;
    let cfg = format!(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\n[backends.g.servers.s]\nurl = \"h2c://{backend}\"\n\
         [frontends.f]\nbackend = \"g\"\n[frontends.f.routes.r]\nrule = \"Host:grpc.local\"\n"
    );
    let p = Portier::start(&cfg);
    let (msgs, status, _) = call(p.http(), "/echo.Echo/Unary", "portier").await;
    assert_eq!(msgs, ["hello portier"]);
    assert_eq!(
        status.as_deref(),
        Some("0"),
        "grpc-status passes through in the trailers"
    );

    let (msgs, status, arrivals) = call(p.http(), "/echo.Echo/Stream", "tick").await;
    assert_eq!(
        msgs,
        ["tick #0", "tick #1", "tick #2", "tick #3", "tick #4"]
    );
    assert_eq!(status.as_deref(), Some("0"));
    assert!(
        arrivals.len() >= 3
            && arrivals[arrivals.len() - 1] - arrivals[0] >= Duration::from_millis(100),
        "messages stream as they come: {arrivals:?}"
    );

    let (_, status, _) = call(p.http(), "/echo.Echo/Missing", "x").await;
    assert_eq!(
        status.as_deref(),
        Some("12"),
        "an error status passes through too"
    );
}

/// A gRPC-Web call from a browser, over HTTP/1.1, in binary or base64 text; returns the status,
/// the response headers, and the decoded body (messages, then the trailer frame).
async fn grpc_web_call(
    portier: std::net::SocketAddr,
    method: &str,
    name: &str,
    text: bool,
) -> (http::StatusCode, HeaderMap, Vec<u8>) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (ct, body) = if text {
        (
            "application/grpc-web-text",
            Bytes::from(b64.encode(frame(name.as_bytes()))),
        )
    } else {
        ("application/grpc-web+proto", frame(name.as_bytes()))
    };
    let r = support::send(
        portier,
        "POST",
        "grpc.local",
        method,
        &[
            ("content-type", ct),
            ("x-grpc-web", "1"),
            ("origin", "https://app.example"),
        ],
        support::TestBody::text(body),
    )
    .await;
    let body = if text {
        b64.decode(&r.body).expect("one base64 stream")
    } else {
        r.body.to_vec()
    };
    (r.status, r.headers, body)
}

/// The `grpcWeb` middleware: gRPC-Web calls of a browser (HTTP/1.1, binary and text) reach the
/// h2c gRPC service as gRPC, and come back as gRPC-Web with the trailers in the body; CORS for
/// the allowed origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_calls_reach_a_grpc_service() {
    let backend = grpc_backend().await;
    let dynamic = format!(
        "http:\n  routers:\n    g:\n      rule: Host(`grpc.local`)\n      service: g\n      middlewares: [web]\n  middlewares:\n    web:\n      grpcWeb:\n        allowOrigins: [\"https://app.example\"]\n  services:\n    g:\n      loadBalancer:\n        servers:\n          - url: h2c://{backend}\n"
    );
    let toml =
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\nfilename = \"dynamic.yml\"\n";
    let p = Portier::start_with(toml, &[("dynamic.yml", &dynamic)], &[]);
    for text in [false, true] {
        let (status, headers, body) =
            grpc_web_call(p.http(), "/echo.Echo/Unary", "web", text).await;
        assert_eq!(status, 200, "text={text}");
        let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
        // The service's type (`application/grpc`) as gRPC-Web.
        let want = if text {
            "application/grpc-web-text"
        } else {
            "application/grpc-web"
        };
        assert_eq!(ct, Some(want));
        assert_eq!(
            headers
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"https://app.example"[..])
        );
        let first = 5 + "hello web".len();
        assert_eq!(messages(&body[..first.min(body.len())]), ["hello web"]);
        // The trailer frame: flag 0x80, length, `grpc-status: 0`.
        let trailer_at = 5 + "hello web".len();
        assert_eq!(body[trailer_at], 0x80, "text={text}: {body:?}");
        let trailer = String::from_utf8_lossy(&body[trailer_at + 5..]);
        assert!(trailer.contains("grpc-status: 0\r\n"), "{trailer}");
    }
    // A streaming call: every message, then the trailers.
    let (_, _, body) = grpc_web_call(p.http(), "/echo.Echo/Stream", "tick", false).await;
    assert_eq!(messages(&body).len(), 6, "5 messages and the trailer frame");
    // The CORS preflight for the allowed origin, answered by portier.
    let r = support::send(
        p.http(),
        "OPTIONS",
        "grpc.local",
        "/echo.Echo/Unary",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-grpc-web,content-type"),
        ],
        support::TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers
            .get("access-control-allow-headers")
            .map(|v| v.as_bytes()),
        Some(&b"x-grpc-web,content-type"[..])
    );
}
