//! A tiny blocking RESP2 client over `std::net::TcpStream`.
//!
//! Commands go out as an array of bulk strings; replies come back as a [`Value`]
//! (simple string, error, integer, bulk, nil, array, nested arrays). It speaks to
//! redis-server, redis-sentinel and nutcracker alike. Every socket has connect, read and
//! write timeouts, so a hung peer fails the test instead of hanging it.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long to wait for a connection, and for each read or write.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One RESP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `+OK`
    Simple(String),
    /// `-ERR ...`, without the leading `-`.
    Error(String),
    /// `:42`
    Int(i64),
    /// `$3\r\nfoo`
    Bulk(Vec<u8>),
    /// `$-1` or `*-1`
    Nil,
    /// `*2\r\n...`
    Array(Vec<Value>),
}

impl Value {
    /// The text of a simple string, bulk string or error; the decimal text of an integer.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Simple(s) | Value::Error(s) => Some(s.clone()),
            Value::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Int(i) => Some(i.to_string()),
            Value::Nil | Value::Array(_) => None,
        }
    }

    /// True for the simple string `OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Value::Simple(s) if s == "OK")
    }

    /// True for an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_))
    }

    /// The elements of an array reply (empty for anything else).
    pub fn items(&self) -> &[Value] {
        match self {
            Value::Array(items) => items,
            _ => &[],
        }
    }

    /// A flat `[field, value, field, value, ...]` array as a map (`SENTINEL MASTER`).
    pub fn fields(&self) -> BTreeMap<String, String> {
        self.items()
            .chunks(2)
            .filter_map(|pair| match pair {
                [k, v] => Some((k.text()?, v.text()?)),
                _ => None,
            })
            .collect()
    }

    /// An array of flat field arrays as maps (`SENTINEL MASTERS`, `SENTINEL REPLICAS`).
    pub fn records(&self) -> Vec<BTreeMap<String, String>> {
        self.items().iter().map(Value::fields).collect()
    }
}

/// One open connection; send commands and read replies in turn.
pub struct Conn {
    addr: String,
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to `addr` (`ip:port`) with [`IO_TIMEOUT`] on connect, read and write.
    pub fn open(addr: &str) -> io::Result<Conn> {
        let sock: SocketAddr = addr
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: {e}")))?;
        let stream = TcpStream::connect_timeout(&sock, IO_TIMEOUT)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            addr: addr.to_string(),
            reader: BufReader::new(stream),
        })
    }

    /// The address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one command and reads its reply.
    pub fn cmd(&mut self, args: &[&str]) -> io::Result<Value> {
        self.reader.get_mut().write_all(&encode(args))?;
        read_value(&mut self.reader)
    }
}

/// Sends one command on a fresh connection and returns the reply, or the I/O error.
pub fn try_resp(addr: &str, args: &[&str]) -> io::Result<Value> {
    Conn::open(addr)?.cmd(args)
}

/// Sends one command on a fresh connection; panics (naming the command) on an I/O error.
/// Error replies are returned as [`Value::Error`], not panics.
pub fn resp(addr: &str, args: &[&str]) -> Value {
    try_resp(addr, args).unwrap_or_else(|e| panic!("{addr} {args:?}: {e}"))
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one (possibly nested) reply.
pub fn read_value(r: &mut impl BufRead) -> io::Result<Value> {
    let line = read_line(r)?;
    let (kind, rest) = line.split_at(1);
    match kind {
        "+" => Ok(Value::Simple(rest.to_string())),
        "-" => Ok(Value::Error(rest.to_string())),
        ":" => Ok(Value::Int(parse_int(rest)?)),
        "$" => read_bulk(r, parse_int(rest)?),
        "*" => read_array(r, parse_int(rest)?),
        _ => Err(bad_data(format!("unexpected reply line {line:?}"))),
    }
}

fn read_bulk(r: &mut impl BufRead, len: i64) -> io::Result<Value> {
    if len < 0 {
        return Ok(Value::Nil);
    }
    let mut buf = vec![0; len as usize + 2];
    r.read_exact(&mut buf)?;
    if !buf.ends_with(b"\r\n") {
        return Err(bad_data("bulk string not terminated by CRLF".into()));
    }
    buf.truncate(len as usize);
    Ok(Value::Bulk(buf))
}

fn read_array(r: &mut impl BufRead, len: i64) -> io::Result<Value> {
    if len < 0 {
        return Ok(Value::Nil);
    }
    (0..len)
        .map(|_| read_value(r))
        .collect::<io::Result<_>>()
        .map(Value::Array)
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    match line.strip_suffix("\r\n") {
        Some(l) if !l.is_empty() => Ok(l.to_string()),
        _ => Err(bad_data(format!("malformed reply line {line:?}"))),
    }
}

fn parse_int(s: &str) -> io::Result<i64> {
    s.parse()
        .map_err(|_| bad_data(format!("bad integer {s:?}")))
}

fn bad_data(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
