//! A blocking D-Bus connection to systemd: one Unix socket, read and written by this
//! thread alone. Messages are encoded and decoded by `rustbus`; the connection is ours,
//! because the runtime needs three things its own connection code does not do:
//!
//! - no thread, no executor: every call writes, then polls the socket until its reply
//!   (or the job signal) arrives, so the runtime stays single-threaded (DESIGN.md,
//!   invariant 1);
//! - a close-on-exec socket, so no process the runtime starts inherits a connection to
//!   the system bus;
//! - `AUTH EXTERNAL` without an identity, as sd-bus authenticates: the bus takes the uid
//!   from the socket's credentials, which is right also inside a user namespace (rootless
//!   podman's), where `getuid()` is 0 and the user is someone else outside.

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
use rustbus::message_builder::{MarshalledMessage, MessageBuilder, MessageType};
use rustbus::params::{Array, Base, Container, Param, Variant};
use rustbus::signature::{self, Type};

use super::properties::{Property, Value};

/// Where a bus listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Path(p) => write!(f, "unix:path={}", p.display()),
            Address::Abstract(a) => write!(f, "unix:abstract={}", String::from_utf8_lossy(a)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("unsupported D-Bus address `{0}` (only unix:path= and unix:abstract= are)")]
    Address(String),
    #[error("cannot connect to {address}")]
    Connect {
        address: String,
        #[source]
        source: nix::Error,
    },
    #[error("the bus refused authentication ({0})")]
    Auth(String),
    #[error("cannot talk to the bus")]
    Io(#[source] nix::Error),
    #[error("the bus closed the connection")]
    Closed,
    #[error("no answer from the bus within {0:?}")]
    TimedOut(Duration),
    #[error("malformed D-Bus message: {0}")]
    Malformed(String),
    #[error("{name}: {message}")]
    Remote { name: String, message: String },
}

impl BusError {
    pub fn code(&self) -> crate::error::Code {
        crate::error::Code::Cgroup
    }
}

impl BusError {
    /// Whether the bus answered with the D-Bus error `name`.
    pub fn is(&self, name: &str) -> bool {
        matches!(self, BusError::Remote { name: n, .. } if n == name)
    }
}

/// A method call, addressed to systemd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub path: String,
    pub interface: &'static str,
    pub member: &'static str,
    pub args: Vec<Arg>,
}

/// A call's argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Str(String),
    Bool(bool),
    /// `au`
    Pids(Vec<u32>),
    /// `a(sv)`
    Properties(Vec<Property>),
    /// `a(sa(sv))`: StartTransientUnit's auxiliary units, always none here.
    NoAuxUnits,
}

/// What a reply carried, as far as systemd's answers go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Empty,
    ObjectPath(String),
    Value(Value),
}

/// What the systemd client needs of a connection; tests give it a fake.
pub trait Bus {
    /// Sends `call` and waits for its reply; an error reply is `BusError::Remote`.
    fn call(&mut self, call: &Call) -> Result<Reply, BusError>;
    /// Asks for systemd's `JobRemoved` signals (a bus needs a match rule; a direct
    /// connection to systemd gets them anyway).
    fn watch_jobs(&mut self) -> Result<(), BusError>;
    /// Waits for `JobRemoved` of `job` and returns its result (`done`, `failed`, ...).
    fn wait_job(&mut self, job: &str, timeout: Duration) -> Result<String, BusError>;
}

const DESTINATION: &str = "org.freedesktop.systemd1";
/// What any one call may take; systemd answers in milliseconds unless it is stuck.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// No message systemd sends us comes near this; a larger length is a corrupt stream.
const MAX_MESSAGE: usize = 64 << 20;

/// Reads a D-Bus address (`unix:path=/run/user/1000/bus`, several separated by `;`):
/// the first that names a Unix socket.
pub fn parse_address(text: &str) -> Result<Address, BusError> {
    for one in text.split(';') {
        let Some(params) = one.strip_prefix("unix:") else { continue };
        for pair in params.split(',') {
            match pair.split_once('=') {
                Some(("path", v)) => return Ok(Address::Path(PathBuf::from(unescape(v, text)?))),
                Some(("abstract", v)) => return Ok(Address::Abstract(unescape(v, text)?.into_bytes())),
                _ => {}
            }
        }
    }
    Err(BusError::Address(text.to_string()))
}

/// D-Bus addresses escape bytes as `%xx`.
fn unescape(value: &str, whole: &str) -> Result<String, BusError> {
    let bad = || BusError::Address(whole.to_string());
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// A connection to a bus (`hello`: a message bus, which wants `Hello` first and routes
/// signals by match rules) or straight to systemd's private socket.
pub struct Connection {
    socket: OwnedFd,
    bus: bool,
    serial: u32,
    input: Vec<u8>,
    /// Signals read while waiting for a reply, kept for `wait_job`.
    signals: VecDeque<MarshalledMessage>,
}

impl Connection {
    pub fn open(address: &Address, bus: bool) -> Result<Self, BusError> {
        let fail = |source| BusError::Connect { address: address.to_string(), source };
        let socket = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(fail)?;
        let addr = match address {
            Address::Path(p) => UnixAddr::new(p.as_path()),
            Address::Abstract(name) => UnixAddr::new_abstract(name),
        }
        .map_err(fail)?;
        connect(socket.as_raw_fd(), &addr).map_err(fail)?;
        let mut conn = Connection { socket, bus, serial: 0, input: Vec::new(), signals: VecDeque::new() };
        conn.authenticate()?;
        if bus {
            let hello = MessageBuilder::new()
                .call("Hello")
                .on("/org/freedesktop/DBus")
                .with_interface("org.freedesktop.DBus")
                .at("org.freedesktop.DBus")
                .build();
            conn.roundtrip(hello)?;
        }
        Ok(conn)
    }

    /// SASL `EXTERNAL` with an empty authorization identity: the peer uses the
    /// credentials of the socket.
    fn authenticate(&mut self) -> Result<(), BusError> {
        self.write_all(b"\0AUTH EXTERNAL\r\n")?;
        let line = self.read_line()?;
        if line != "DATA" && !line.starts_with("OK ") {
            return Err(BusError::Auth(line));
        }
        if line == "DATA" {
            self.write_all(b"DATA\r\n")?;
            let line = self.read_line()?;
            if !line.starts_with("OK ") {
                return Err(BusError::Auth(line));
            }
        }
        self.write_all(b"BEGIN\r\n")
    }

    fn read_line(&mut self) -> Result<String, BusError> {
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            if let Some(end) = self.input.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.input.drain(..end + 2).take(end).collect();
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.input.len() > 4096 {
                return Err(BusError::Auth("an overlong line".into()));
            }
            self.fill(deadline)?;
        }
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), BusError> {
        while !bytes.is_empty() {
            match nix::sys::socket::send(self.socket.as_raw_fd(), bytes, nix::sys::socket::MsgFlags::MSG_NOSIGNAL) {
                Ok(n) => bytes = &bytes[n..],
                Err(Errno::EINTR) => {}
                Err(e) => return Err(BusError::Io(e)),
            }
        }
        Ok(())
    }

    /// Reads what the socket has, waiting until `deadline` for something.
    fn fill(&mut self, deadline: Instant) -> Result<(), BusError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) if Instant::now() >= deadline => return Err(BusError::TimedOut(CALL_TIMEOUT)),
            Ok(0) | Err(Errno::EINTR) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(BusError::Io(e)),
        }
        let mut buf = [0u8; 16 * 1024];
        match nix::unistd::read(&self.socket, &mut buf) {
            Ok(0) => Err(BusError::Closed),
            Ok(n) => {
                self.input.extend_from_slice(&buf[..n]);
                Ok(())
            }
            Err(Errno::EINTR | Errno::EAGAIN) => Ok(()),
            Err(e) => Err(BusError::Io(e)),
        }
    }

    /// The next whole message from the socket.
    fn next_message(&mut self, deadline: Instant) -> Result<MarshalledMessage, BusError> {
        loop {
            if let Some(len) = message_length(&self.input)? {
                if self.input.len() >= len {
                    let bytes: Vec<u8> = self.input.drain(..len).collect();
                    return decode(&bytes);
                }
            }
            self.fill(deadline)?;
        }
    }

    fn send(&mut self, message: &MarshalledMessage) -> Result<u32, BusError> {
        self.serial = self.serial.wrapping_add(1).max(1);
        let mut bytes = Vec::new();
        rustbus::wire::marshal::marshal(message, self.serial, &mut bytes)
            .map_err(|e| BusError::Malformed(format!("{e:?}")))?;
        bytes.extend_from_slice(message.get_buf());
        self.write_all(&bytes)?;
        Ok(self.serial)
    }

    /// Sends a call and returns its reply, keeping signals that come first.
    fn roundtrip(&mut self, message: MarshalledMessage) -> Result<MarshalledMessage, BusError> {
        let serial = self.send(&message)?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let reply = self.next_message(deadline)?;
            match reply.typ {
                MessageType::Signal => self.signals.push_back(reply),
                MessageType::Reply if reply.dynheader.response_serial == Some(serial) => return Ok(reply),
                MessageType::Error if reply.dynheader.response_serial == Some(serial) => {
                    let name = reply.dynheader.error_name.clone().unwrap_or_default();
                    let message = reply.body.parser().get::<String>().unwrap_or_default();
                    return Err(BusError::Remote { name, message });
                }
                // Replies to nothing we wait for, calls to us: not ours to answer.
                _ => {}
            }
        }
    }
}

/// The length of the message at the start of `input`, once its fixed header is there.
fn message_length(input: &[u8]) -> Result<Option<usize>, BusError> {
    if input.len() < 16 {
        return Ok(None);
    }
    let (_, header) =
        rustbus::wire::unmarshal::unmarshal_header(input, 0).map_err(|e| BusError::Malformed(format!("{e:?}")))?;
    let field_bytes = match header.byteorder {
        rustbus::ByteOrder::LittleEndian => u32::from_le_bytes([input[12], input[13], input[14], input[15]]),
        rustbus::ByteOrder::BigEndian => u32::from_be_bytes([input[12], input[13], input[14], input[15]]),
    } as usize;
    let len = (16 + field_bytes).div_ceil(8) * 8 + header.body_len as usize;
    if len > MAX_MESSAGE {
        return Err(BusError::Malformed(format!("a message of {len} bytes")));
    }
    Ok(Some(len))
}

fn decode(bytes: &[u8]) -> Result<MarshalledMessage, BusError> {
    let malformed = |e: rustbus::wire::errors::UnmarshalError| BusError::Malformed(format!("{e:?}"));
    let (used, header) = rustbus::wire::unmarshal::unmarshal_header(bytes, 0).map_err(malformed)?;
    let (fields, dynheader) =
        rustbus::wire::unmarshal::unmarshal_dynamic_header(&header, bytes, used).map_err(malformed)?;
    let (_, message) = rustbus::wire::unmarshal::unmarshal_next_message(&header, dynheader, bytes, used + fields)
        .map_err(malformed)?;
    Ok(message)
}

/// The message for `call`, ready to send.
pub fn encode(call: &Call) -> Result<MarshalledMessage, BusError> {
    let mut message = MessageBuilder::new()
        .call(call.member)
        .on(call.path.clone())
        .with_interface(call.interface)
        .at(DESTINATION)
        .build();
    for arg in &call.args {
        let param = match arg {
            Arg::Str(s) => Param::Base(Base::String(s.clone())),
            Arg::Bool(b) => Param::Base(Base::Boolean(*b)),
            Arg::Pids(pids) => value_param(&Value::U32s(pids.clone()))?,
            Arg::Properties(props) => properties_param(props)?,
            Arg::NoAuxUnits => {
                Param::Container(Container::Array(Array { element_sig: sig("(sa(sv))")?, values: Vec::new() }))
            }
        };
        message.body.push_old_param(&param).map_err(|e| BusError::Malformed(format!("{e:?}")))?;
    }
    Ok(message)
}

fn sig(text: &str) -> Result<Type, BusError> {
    signature::Type::parse_description(text)
        .map_err(|e| BusError::Malformed(format!("{e:?}")))?
        .pop()
        .ok_or_else(|| BusError::Malformed(text.into()))
}

fn properties_param(props: &[Property]) -> Result<Param<'static, 'static>, BusError> {
    let mut values = Vec::new();
    for p in props {
        let value = value_param(&p.value)?;
        let variant = Variant { sig: value.sig(), value };
        values.push(Param::Container(Container::Struct(vec![
            Param::Base(Base::String(p.name.to_string())),
            Param::Container(Container::Variant(Box::new(variant))),
        ])));
    }
    Ok(Param::Container(Container::Array(Array { element_sig: sig("(sv)")?, values })))
}

fn value_param(value: &Value) -> Result<Param<'static, 'static>, BusError> {
    let array = |element: &str, values: Vec<Param<'static, 'static>>| -> Result<Param<'static, 'static>, BusError> {
        Ok(Param::Container(Container::Array(Array { element_sig: sig(element)?, values })))
    };
    Ok(match value {
        Value::Bool(b) => Param::Base(Base::Boolean(*b)),
        Value::U64(n) => Param::Base(Base::Uint64(*n)),
        Value::Str(s) => Param::Base(Base::String(s.clone())),
        Value::U32s(v) => array("u", v.iter().map(|n| Param::Base(Base::Uint32(*n))).collect())?,
        Value::Bytes(v) => array("y", v.iter().map(|n| Param::Base(Base::Byte(*n))).collect())?,
        Value::Pairs(v) => array(
            "(ss)",
            v.iter()
                .map(|(a, b)| {
                    Param::Container(Container::Struct(vec![
                        Param::Base(Base::String(a.clone())),
                        Param::Base(Base::String(b.clone())),
                    ]))
                })
                .collect(),
        )?,
    })
}

/// A reply's first argument, as far as systemd's replies go (`o`, `v` of `t`/`s`/`b`).
fn reply_of(message: &MarshalledMessage) -> Result<Reply, BusError> {
    if message.get_sig().is_empty() {
        return Ok(Reply::Empty);
    }
    let mut parser = message.body.parser();
    let param = parser.get_param().map_err(|e| BusError::Malformed(format!("{e:?}")))?;
    let base = match param {
        Param::Base(b) => b,
        Param::Container(Container::Variant(v)) => match v.value {
            Param::Base(b) => b,
            other => return Err(BusError::Malformed(format!("unexpected variant {other:?}"))),
        },
        other => return Err(BusError::Malformed(format!("unexpected reply {other:?}"))),
    };
    Ok(match base {
        Base::ObjectPath(p) => Reply::ObjectPath(p),
        Base::String(s) => Reply::Value(Value::Str(s)),
        Base::Uint64(n) => Reply::Value(Value::U64(n)),
        Base::Uint32(n) => Reply::Value(Value::U64(n.into())),
        Base::Boolean(b) => Reply::Value(Value::Bool(b)),
        other => return Err(BusError::Malformed(format!("unexpected value {other:?}"))),
    })
}

/// `JobRemoved(u id, o job, s unit, s result)`: the job and its result.
fn job_removed(message: &MarshalledMessage) -> Option<(String, String)> {
    if message.dynheader.member.as_deref() != Some("JobRemoved")
        || message.dynheader.interface.as_deref() != Some("org.freedesktop.systemd1.Manager")
    {
        return None;
    }
    let mut parser = message.body.parser();
    let _id = parser.get::<u32>().ok()?;
    let job = parser.get::<rustbus::wire::ObjectPath<String>>().ok()?;
    let _unit = parser.get::<String>().ok()?;
    let result = parser.get::<String>().ok()?;
    Some((job.as_ref().to_string(), result))
}

impl Bus for Connection {
    fn call(&mut self, call: &Call) -> Result<Reply, BusError> {
        let reply = self.roundtrip(encode(call)?)?;
        reply_of(&reply)
    }

    fn watch_jobs(&mut self) -> Result<(), BusError> {
        if !self.bus {
            return Ok(());
        }
        let mut add = MessageBuilder::new()
            .call("AddMatch")
            .on("/org/freedesktop/DBus")
            .with_interface("org.freedesktop.DBus")
            .at("org.freedesktop.DBus")
            .build();
        add.body
            .push_param(
                "type='signal',sender='org.freedesktop.systemd1',path='/org/freedesktop/systemd1',\
                 interface='org.freedesktop.systemd1.Manager',member='JobRemoved'",
            )
            .map_err(|e| BusError::Malformed(format!("{e:?}")))?;
        self.roundtrip(add).map(drop)
    }

    fn wait_job(&mut self, job: &str, timeout: Duration) -> Result<String, BusError> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(signal) = self.signals.pop_front() {
                if let Some((removed, result)) = job_removed(&signal) {
                    if removed == job {
                        return Ok(result);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(BusError::TimedOut(timeout));
            }
            let message = self.next_message(deadline)?;
            if message.typ == MessageType::Signal {
                self.signals.push_back(message);
            }
        }
    }
}

/// Whether `path` is a socket one could connect to (not whether anyone listens).
pub fn socket_exists(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[cfg(test)]
mod tests {
    use super::super::properties::prop;
    use super::*;

    #[test]
    fn addresses_name_a_unix_socket() {
        assert_eq!(parse_address("unix:path=/run/user/1000/bus").unwrap(), Address::Path("/run/user/1000/bus".into()));
        assert_eq!(
            parse_address("tcp:host=x;unix:path=/tmp/a%20b,guid=123").unwrap(),
            Address::Path("/tmp/a b".into())
        );
        assert_eq!(parse_address("unix:abstract=/tmp/dbus-x").unwrap(), Address::Abstract(b"/tmp/dbus-x".to_vec()));
        assert!(parse_address("tcp:host=localhost,port=1").is_err());
        assert!(parse_address("unix:path=%zz").is_err());
    }

    #[test]
    fn start_transient_unit_is_encoded_with_systemds_signature() {
        let call = Call {
            path: "/org/freedesktop/systemd1".into(),
            interface: "org.freedesktop.systemd1.Manager",
            member: "StartTransientUnit",
            args: vec![
                Arg::Str("runc-x.scope".into()),
                Arg::Str("replace".into()),
                Arg::Properties(vec![
                    prop("Delegate", Value::Bool(true)),
                    prop("PIDs", Value::U32s(vec![42])),
                    prop("MemoryMax", Value::U64(52_428_800)),
                    prop("Slice", Value::Str("system.slice".into())),
                    prop("AllowedCPUs", Value::Bytes(vec![3])),
                    prop("DeviceAllow", Value::Pairs(vec![("/dev/char/1:3".into(), "rwm".into())])),
                ]),
                Arg::NoAuxUnits,
            ],
        };
        let message = encode(&call).unwrap();
        assert_eq!(message.get_sig(), "ssa(sv)a(sa(sv))");
        // Through the wire and back: the header says who it is for, the body what it asks.
        let mut bytes = Vec::new();
        rustbus::wire::marshal::marshal(&message, 7, &mut bytes).unwrap();
        bytes.extend_from_slice(message.get_buf());
        assert_eq!(message_length(&bytes).unwrap(), Some(bytes.len()));
        let back = decode(&bytes).unwrap();
        assert_eq!(back.dynheader.member.as_deref(), Some("StartTransientUnit"));
        assert_eq!(back.dynheader.destination.as_deref(), Some("org.freedesktop.systemd1"));
        assert_eq!(back.dynheader.serial, Some(7));
        let mut parser = back.body.parser();
        assert_eq!(parser.get::<String>().unwrap(), "runc-x.scope");
        assert_eq!(parser.get::<String>().unwrap(), "replace");
        let Param::Container(Container::Array(props)) = parser.get_param().unwrap() else { panic!("not an array") };
        assert_eq!(props.values.len(), 6);
        let Param::Container(Container::Struct(first)) = &props.values[1] else { panic!("not a struct") };
        assert_eq!(first[0], Param::Base(Base::String("PIDs".into())));
        let Param::Container(Container::Variant(v)) = &first[1] else { panic!("not a variant") };
        assert_eq!(
            v.value,
            Param::Container(Container::Array(Array {
                element_sig: sig("u").unwrap(),
                values: vec![Param::Base(Base::Uint32(42))]
            }))
        );
    }

    #[test]
    fn a_short_or_oversized_stream_is_not_a_message() {
        assert_eq!(message_length(b"l\x01\x00\x01").unwrap(), None);
        let mut huge = b"l\x01\x00\x01".to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&1u32.to_le_bytes());
        huge.extend_from_slice(&0u32.to_le_bytes());
        assert!(message_length(&huge).is_err());
    }

    #[test]
    fn job_removed_signals_are_recognised() {
        let mut signal = MessageBuilder::new()
            .signal("org.freedesktop.systemd1.Manager", "JobRemoved", "/org/freedesktop/systemd1")
            .build();
        signal.body.push_param(7u32).unwrap();
        signal.body.push_param(rustbus::wire::ObjectPath::new("/org/freedesktop/systemd1/job/7").unwrap()).unwrap();
        signal.body.push_param("runc-x.scope").unwrap();
        signal.body.push_param("done").unwrap();
        let mut bytes = Vec::new();
        rustbus::wire::marshal::marshal(&signal, 3, &mut bytes).unwrap();
        bytes.extend_from_slice(signal.get_buf());
        let back = decode(&bytes).unwrap();
        assert_eq!(job_removed(&back), Some(("/org/freedesktop/systemd1/job/7".into(), "done".into())));
    }
}
