//! A minimal SMTP server on 127.0.0.1 that accepts every message and keeps it, so tests
//! receive the mail Stirling really sends over a socket (RFC 5321 subset: EHLO/HELO, MAIL,
//! RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One received message.
#[derive(Clone, Debug, Default)]
pub struct ReceivedMail {
    /// The MAIL FROM address.
    pub from: String,
    /// The RCPT TO addresses.
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on an ephemeral loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = tcp.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 stirling-test ESMTP\r\n").await;
                    let mut mail = ReceivedMail::default();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-stirling-test\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
                            b"250 ok\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            mail.from = address(&line[10..]);
                            b"250 ok\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            mail.to.push(address(&line[8..]));
                            b"250 ok\r\n"
                        } else if upper.starts_with("RSET") {
                            mail = ReceivedMail::default();
                            b"250 ok\r\n"
                        } else if upper == "DATA" {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            while let Ok(Some(data)) = lines.next_line().await {
                                if data == "." {
                                    break;
                                }
                                let data = data.strip_prefix('.').unwrap_or(&data);
                                mail.data.push_str(data);
                                mail.data.push_str("\r\n");
                            }
                            store
                                .lock()
                                .expect("sink lock")
                                .push(std::mem::take(&mut mail));
                            b"250 queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"502 not implemented\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            received,
            task,
        }
    }

    /// The sink's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().expect("sink lock").clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `<a@b>` (with optional parameters after it) → `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    arg.strip_prefix('<')
        .and_then(|a| a.split_once('>'))
        .map_or(arg, |(a, _)| a)
        .to_owned()
}
