//! A TCP proxy between the app and PostgreSQL that a test cuts and restores: a database
//! outage without touching the shared server. Cutting closes every connection through the
//! proxy and then refuses new ones (accepted and closed at once, as a stopped server's port
//! does) or black-holes them (accepted and never answered, as a lost network does); restoring
//! forwards new connections again. Plain threads, no runtime: it also serves
//! `examples/outage_timings.rs`.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What a cut proxy does with new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Closed as soon as accepted.
    Refuse,
    /// Accepted and never answered (until the proxy is restored, which closes them).
    BlackHole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    Cut(Cut),
}

struct Shared {
    upstream: SocketAddr,
    mode: Mutex<Mode>,
    /// Both ends of every forwarded connection, to close them on a cut.
    open: Mutex<Vec<TcpStream>>,
    /// Black-holed connections.
    held: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The proxy; it stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            mode: Mutex::new(Mode::Open),
            open: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        std::thread::Builder::new()
            .name("proxy-accept".into())
            .spawn(move || accept(listener, accepting))
            .expect("proxy thread");
        Proxy { addr, shared }
    }

    /// A proxy in front of the server a `postgres://user@host:port/db` URL names.
    pub fn in_front_of(url: &str) -> Proxy {
        use std::net::ToSocketAddrs;
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let host = rest.split(['/', '?']).next().unwrap_or(rest);
        let host = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:5432")
        };
        let upstream = host
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("cannot resolve the database host `{host}`"));
        Proxy::start(upstream)
    }

    /// `url` (a `postgres://…` URL) with its host and port replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("URL with a scheme");
        let (userinfo, rest) = match rest.split_once('@') {
            Some((user, rest)) => (format!("{user}@"), rest),
            None => (String::new(), rest),
        };
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        format!("{scheme}://{userinfo}{}{path}", self.addr)
    }

    /// Closes every connection through the proxy, and refuses or black-holes new ones.
    pub fn cut(&self, how: Cut) {
        *locked(&self.shared.mode) = Mode::Cut(how);
        for stream in locked(&self.shared.open).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forwards new connections again (black-holed ones are closed).
    pub fn restore(&self) {
        *locked(&self.shared.mode) = Mode::Open;
        for stream in locked(&self.shared.held).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.cut(Cut::Refuse);
        self.restore();
        // Wakes the accept loop so that it sees the stop.
        let _ = TcpStream::connect(self.addr);
    }
}

fn accept(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(client) = client else { continue };
        let mode = *locked(&shared.mode);
        match mode {
            Mode::Cut(Cut::Refuse) => {
                let _ = client.shutdown(Shutdown::Both);
            }
            Mode::Cut(Cut::BlackHole) => locked(&shared.held).push(client),
            Mode::Open => {
                let Ok(server) = TcpStream::connect(shared.upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let ends = [&client, &server].map(|s| s.try_clone());
                let [Ok(c), Ok(s)] = ends else { continue };
                locked(&shared.open).extend([c, s]);
                pump(&client, &server);
                pump(&server, &client);
            }
        }
    }
}

/// Copies bytes from `from` to `to` on a thread until either end closes.
fn pump(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("proxy-pump".into())
        .spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        });
}
