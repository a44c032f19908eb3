//! What a signed call costs at the least on this machine: two minimal SIP signing servers for
//! `bench/sip-floor`, measured with the same sipp scenario and /proc figures as
//! `bench/sip-load` measures `stirling serve`.
//!
//! - `--mode stack`: the `sip` crate's server (parsing, transactions, Timer G/H/I, received
//!   and rport) with a handler that signs every INVITE with `signing::identity_for` (the claims
//!   and ES256 PASSporT of the service) and answers 302 with Contact and Identity. No SBC
//!   lookup, policy, metrics or SIP Messages log: the difference to `stirling serve` is what
//!   those cost.
//! - `--mode raw`: one task on a tokio UDP socket, no SIP parsing or transaction: it copies the
//!   Via/From/To/Call-ID/CSeq lines of each INVITE into a 302 with a fresh ES256 Identity and
//!   ignores everything else. What is left is the signature, the two system calls and the
//!   runtime: the floor no SIP server here can go below.
//!
//! Both sign with a key generated at start; nothing verifies these calls. Loopback only.

use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use passport::{Attestation, Claims, Dest, Ppt, Signer, SigningKey, TelephoneNumber, UnixTime};
use sip::{HeaderName, Request, Response, StatusCode, Transport};
use socket2::{Domain, Protocol, Socket, Type};
use stirling::signing::{SigningRequest, identity_for};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// The `sip` crate's server with a signing handler.
    Stack,
    /// A bare UDP loop that copies the needed header lines.
    Raw,
}

#[derive(Parser, Debug)]
#[command(about = "Minimal SIP signing servers: the floor under `stirling serve`")]
struct Args {
    /// UDP address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:5060")]
    listen: SocketAddr,
    #[arg(long, value_enum, default_value = "stack")]
    mode: Mode,
}

/// The allocator of the `stirling` binary, so that the comparison is like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const X5U: &str = "https://127.0.0.1/cr/floor.pem";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.listen.ip().to_canonical().is_loopback() {
        bail!("{}: loopback addresses only", args.listen);
    }
    let signer = Signer::new(SigningKey::generate()?, X5U)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match args.mode {
            Mode::Stack => stack(args.listen, signer).await,
            Mode::Raw => raw(args.listen, signer).await,
        }
    })
}

async fn stack(listen: SocketAddr, signer: Signer) -> anyhow::Result<()> {
    let config = sip::ServerConfig {
        udp: Some(listen),
        tcp: None,
        ..sip::ServerConfig::default()
    };
    let server = sip::Server::bind(config, Signing { signer }).await?;
    println!("listening on udp {listen} (stack)");
    server.run().await?;
    Ok(())
}

struct Signing {
    signer: Signer,
}

impl Signing {
    fn answer(&self, req: &Request) -> Response {
        let from = req.from();
        let to = req.to();
        let dest = [to.uri().as_str()];
        let request = SigningRequest {
            orig: from.uri().as_str(),
            dest: &dest,
            date: None,
            origid: None,
        };
        let identity =
            match identity_for(&self.signer, &request, Attestation::A, UnixTime::now(), 60) {
                Ok(identity) => identity,
                Err(_) => return plain(req, StatusCode::SERVER_INTERNAL_ERROR),
            };
        req.respond(StatusCode::MOVED_TEMPORARILY)
            .header(HeaderName::Contact.as_str(), format!("<{}>", req.uri_str()))
            .header(HeaderName::Identity.as_str(), identity)
            .build()
            .unwrap_or_else(|_| plain(req, StatusCode::SERVER_INTERNAL_ERROR))
    }
}

impl sip::Handler for Signing {
    type Note = ();

    fn handle(
        &self,
        req: &Request,
        _source: SocketAddr,
        _transport: Transport,
    ) -> impl Future<Output = (Response, ())> + Send {
        let response = self.answer(req);
        async move { (response, ()) }
    }
}

fn plain(req: &Request, status: StatusCode) -> Response {
    req.respond(status)
        .build()
        .unwrap_or_else(|_| Response::empty(status))
}

/// The header lines a 302 copies from its INVITE, as sipp writes them (full names).
const COPIED: [&[u8]; 5] = [b"Via:", b"From:", b"To:", b"Call-ID:", b"CSeq:"];

async fn raw(listen: SocketAddr, signer: Signer) -> anyhow::Result<()> {
    // The 2 MiB receive buffer the `sip` crate asks for too.
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.set_recv_buffer_size(2 * 1024 * 1024)?;
    socket.set_nonblocking(true)?;
    socket.bind(&listen.into())?;
    let socket = tokio::net::UdpSocket::from_std(socket.into())?;
    println!("listening on udp {listen} (raw)");
    // The numbers of the bench scenario; the origid a fixed UUID.
    let claims = Claims::shaken(
        Attestation::A,
        TelephoneNumber::canonicalize("+12155550121")?,
        Dest::tns(vec![TelephoneNumber::canonicalize("+12155550131")?]),
        UnixTime::now().as_secs(),
        "00000000-0000-4000-8000-000000000000".to_owned(),
    );
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(2048);
    loop {
        let (n, source) = socket.recv_from(&mut buf).await?;
        let datagram = &buf[..n];
        if !datagram.starts_with(b"INVITE ") {
            continue; // ACKs and anything else: no answer
        }
        let mut claims = claims.clone();
        claims.iat = UnixTime::now().as_secs();
        let Ok(identity) = signer.identity_header(Ppt::Shaken, &claims) else {
            continue;
        };
        out.clear();
        out.extend_from_slice(b"SIP/2.0 302 Moved Temporarily\r\n");
        for line in datagram.split(|&b| b == b'\n') {
            if COPIED.iter().any(|name| line.starts_with(name)) {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
        out.extend_from_slice(b"Contact: <sip:+12155550131@127.0.0.1>\r\nIdentity: ");
        out.extend_from_slice(identity.as_bytes());
        out.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        socket.send_to(&out, source).await?;
    }
}
