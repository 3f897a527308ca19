//! Small real servers on 127.0.0.1 for the engine crate's integration tests: an HTTP server
//! answering a scripted list of statuses, and an SMTP relay recording its session.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as the HTTP server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request line, e.g. `POST /hook HTTP/1.1`.
    pub head: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// An HTTP/1.1 server answering one connection per scripted status, in order.
pub struct HttpServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl HttpServer {
    /// Listens on an ephemeral loopback port; answers `statuses`, one per connection.
    pub fn start(statuses: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for status in statuses {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                serve_http(stream, status, &seen);
            }
        });
        Self { port, requests }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests read so far (each is recorded before its answer is sent).
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

fn serve_http(stream: TcpStream, status: u16, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut head = String::new();
    reader.read_line(&mut head).expect("request line");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).expect("body");
    seen.lock().expect("lock").push(Request {
        head: head.trim_end().to_string(),
        headers,
        body,
    });
    let text = "status body";
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} Scripted\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = out.flush();
}

/// A URL on a loopback port nobody listens on (bound, then released).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A plain SMTP relay for one session; replies 250 to everything but the scripted verbs.
pub struct SmtpServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    session: Arc<Mutex<String>>,
}

impl SmtpServer {
    /// Listens on an ephemeral loopback port; `replies` maps a verb (`RCPT`) to a reply code.
    pub fn start(replies: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let session = Arc::new(Mutex::new(String::new()));
        let seen = session.clone();
        let replies: Vec<(String, String)> = replies
            .iter()
            .map(|(v, c)| (v.to_string(), c.to_string()))
            .collect();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                serve_smtp(stream, &replies, &seen);
            }
        });
        Self { port, session }
    }

    /// Everything the client sent so far (each line recorded before its reply).
    pub fn session(&self) -> String {
        self.session.lock().expect("lock").clone()
    }
}

fn serve_smtp(stream: TcpStream, replies: &[(String, String)], seen: &Mutex<String>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut out = stream;
    let _ = out.write_all(b"220 127.0.0.1 test relay\r\n");
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        seen.lock().expect("lock").push_str(&line);
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply = match replies.iter().find(|(v, _)| *v == verb) {
            Some((_, code)) => format!("{code} scripted reply\r\n"),
            None if verb == "EHLO" || verb == "HELO" => "250 127.0.0.1\r\n".to_string(),
            None if verb == "QUIT" => {
                let _ = out.write_all(b"221 bye\r\n");
                return;
            }
            None if verb == "DATA" => {
                let _ = out.write_all(b"354 go ahead\r\n");
                // The message, up to the lone dot.
                loop {
                    let mut data = String::new();
                    match reader.read_line(&mut data) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    seen.lock().expect("lock").push_str(&data);
                    if data == ".\r\n" {
                        break;
                    }
                }
                "250 queued\r\n".to_string()
            }
            None => "250 ok\r\n".to_string(),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
