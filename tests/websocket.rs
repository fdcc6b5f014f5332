//! WebSocket (HTTP/1.1 Upgrade) through portier, both ways, closed cleanly.

mod support;

use futures_util::{SinkExt, StreamExt};
use support::Portier;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A WebSocket echo server that reports the request's X-Forwarded-Proto first.
#[allow(clippy::result_large_err)] // tungstenite's handshake callback type
async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut proto = String::new();
                let callback =
                    |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                        proto = req
                            .headers()
                            .get("x-forwarded-proto")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        Ok(resp)
                    };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                    return;
                };
                let _ = ws.send(Message::text(format!("proto={proto}"))).await;
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_close() {
                        return;
                    }
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_echo_through_portier() {
    let backend = echo_server().await;
    let cfg = format!(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\n[backends.b.servers.s]\nurl = \"http://{backend}\"\n\
         [frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:ws.local\"\n"
    );
    let p = Portier::start(&cfg);
    let mut req = format!("ws://{}/chat", p.http())
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("host", "ws.local".parse().expect("host"));
    let (mut ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("handshake through portier");
    assert_eq!(resp.status(), 101);
    let first = ws.next().await.expect("a message").expect("ok");
    assert_eq!(
        first,
        Message::text("proto=ws"),
        "X-Forwarded-Proto is ws for upgrades"
    );
    for i in 0..50 {
        let text = format!("hello {i}");
        ws.send(Message::text(text.clone())).await.expect("send");
        assert_eq!(
            ws.next().await.expect("echo").expect("ok"),
            Message::text(text)
        );
    }
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .expect("send");
    assert_eq!(
        ws.next().await.expect("echo").expect("ok"),
        Message::binary(vec![0u8, 1, 2, 255])
    );
    ws.close(None).await.expect("close");
    // The server's side closes too: the stream ends instead of hanging.
    let end = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while let Some(m) = ws.next().await {
            if m.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(
        end.is_ok(),
        "the connection closed after the close handshake"
    );
}
