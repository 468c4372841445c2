//! A small blocking HTTP/1.1 client for `tcp serve`, over its Unix socket or TCP: what
//! the hooks use to ask a running server (no runtime to start, a few hundred
//! microseconds per call) and what the tests drive it with. Keep-alive; responses are
//! read by `Content-Length` (the server always sends one) or to the end of the stream.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where a server listens: `unix:/path/to/gate.sock` or `http://127.0.0.1:8787`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "http://{a}"),
        }
    }
}

impl FromStr for Endpoint {
    type Err = String;
    /// `unix:PATH`, an absolute path (a socket), `http://HOST:PORT` or `HOST:PORT`.
    fn from_str(s: &str) -> Result<Endpoint, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(Endpoint::Unix(PathBuf::from(p)));
        }
        if s.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(s)));
        }
        let hp = s.strip_prefix("http://").unwrap_or(s).trim_end_matches('/');
        hp.to_socket_addrs()
            .map_err(|e| format!("`{s}` is not unix:PATH or HOST:PORT ({e})"))?
            .next()
            .map(Endpoint::Tcp)
            .ok_or_else(|| format!("`{s}` resolves to no address"))
    }
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(b),
            Stream::Tcp(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(b),
            Stream::Tcp(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// A response: status, headers (names lower-case), body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }
}

/// One connection to a server.
pub struct Client {
    stream: Stream,
    buf: Vec<u8>,
    host: String,
    token: Option<String>,
    closed: bool,
}

impl Client {
    /// Connects; `timeout` bounds the connect (TCP) and every read and write.
    pub fn connect(ep: &Endpoint, timeout: Duration) -> io::Result<Client> {
        let (stream, host) = match ep {
            Endpoint::Unix(p) => {
                let s = UnixStream::connect(p)?;
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                (Stream::Unix(s), "localhost".to_string())
            }
            Endpoint::Tcp(a) => {
                let s = TcpStream::connect_timeout(a, timeout)?;
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                s.set_nodelay(true)?;
                (Stream::Tcp(s), a.to_string())
            }
        };
        Ok(Client {
            stream,
            buf: Vec::with_capacity(8 << 10),
            host,
            token: None,
            closed: false,
        })
    }

    /// Sends `Authorization: Bearer TOKEN` with every request.
    pub fn with_token(mut self, token: Option<String>) -> Client {
        self.token = token;
        self
    }

    /// Did the server say it closes the connection (or close it)?
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        self.request("GET", path, None)
    }

    /// POSTs a JSON body.
    pub fn post_json(&mut self, path: &str, body: &[u8]) -> io::Result<Response> {
        self.request("POST", path, Some(("application/json", body)))
    }

    /// One request and its response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> io::Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        match body {
            Some((ct, b)) => head.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                b.len()
            )),
            None => head.push_str("\r\n"),
        }
        let mut out = head.into_bytes();
        if let Some((_, b)) = body {
            out.extend_from_slice(b);
        }
        self.stream.write_all(&out)?;
        self.read_response()
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 << 10];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn read_response(&mut self) -> io::Result<Response> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut r = httparse::Response::new(&mut headers);
            match r.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let status = r.code.unwrap_or(0);
                    let hs: Vec<(String, String)> = r
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let get = |k: &str| hs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
                    let len = get("content-length").and_then(|v| v.trim().parse::<usize>().ok());
                    self.buf.drain(..n);
                    let body = match len {
                        Some(len) => {
                            while self.buf.len() < len {
                                if self.fill()? == 0 {
                                    return Err(io::Error::new(
                                        io::ErrorKind::UnexpectedEof,
                                        "the server closed the connection inside a response body",
                                    ));
                                }
                            }
                            self.buf.drain(..len).collect()
                        }
                        None => {
                            while self.fill()? > 0 {}
                            self.closed = true;
                            std::mem::take(&mut self.buf)
                        }
                    };
                    self.closed |= close;
                    return Ok(Response {
                        status,
                        headers: hs,
                        body,
                    });
                }
                Ok(httparse::Status::Partial) => {
                    if self.fill()? == 0 {
                        self.closed = true;
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the server closed the connection without a response",
                        ));
                    }
                }
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("not an HTTP response: {e}"),
                    ))
                }
            }
        }
    }
}
