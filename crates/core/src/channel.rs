//! The typed conversation between the runtime and the container's init process over a
//! `SOCK_SEQPACKET` socket pair: one JSON message per packet, file descriptors alongside.
//! The init always sends its error before it exits, so a failure reaches the user as a
//! sentence ("executable file not found in $PATH"), never as "channel closed".

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

/// Largest message: errors carry a sentence, not a file.
const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Runtime → init: your id maps are written and your state saved; join your cgroup
    /// (where the clone did not put you) and go on.
    /// `pid` is the init's pid as the runtime sees it, for the hooks' state.
    Proceed { pid: i32 },
    /// Init → runtime: the mounts are in place; run the prestart and createRuntime hooks.
    RunRuntimeHooks,
    /// Runtime → init: the runtime's hooks succeeded.
    HooksDone,
    /// Init → runtime: the root overlay goes through FUSE; open /dev/fuse.
    OpenFuseDevice,
    /// Runtime → init: /dev/fuse, opened in the container's user namespace, attached as
    /// SCM_RIGHTS.
    FuseDevice,
    /// Init → runtime: FUSE is mounted on the staging root with the device, attached again,
    /// for fuse-overlayfs to serve.
    FuseMounted,
    /// Runtime → init: fuse-overlayfs serves the mount.
    FuseServed,
    /// Init → runtime: the pseudo-terminal master, attached as SCM_RIGHTS.
    Console,
    /// Init → runtime: set up and waiting for `start`.
    Ready,
    /// Init → runtime: setup (or, after `start`, execve) failed.
    Failed(InitFailure),
}

/// Why an init process gave up, as it reports it: its error's chain, and its code, which
/// tells a command that could not be run (126/127) from any other failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitFailure {
    pub message: String,
    pub code: crate::error::Code,
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("cannot create the init socket pair")]
    Create(#[source] nix::Error),
    #[error("cannot send to the container's init")]
    Send(#[source] nix::Error),
    #[error("cannot receive from the container's init")]
    Receive(#[source] nix::Error),
    #[error("malformed message from the container's init")]
    Decode(#[source] serde_json::Error),
    #[error("the container's init closed its channel before saying {expected}")]
    Closed { expected: &'static str },
    #[error("expected {expected} from the other end of the init channel, got {got}")]
    Unexpected { expected: &'static str, got: String },
}

impl ChannelError {
    pub fn code(&self) -> crate::error::Code {
        crate::error::Code::Internal
    }
}

/// One end of the socket pair.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Creates the pair: the first end for the runtime, the second for the init.
pub fn pair() -> Result<(Channel, Channel), ChannelError> {
    let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(ChannelError::Create)?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Channel {
    pub fn send(&self, message: &Message) -> Result<(), ChannelError> {
        self.send_with_fd(message, None)
    }

    /// Sends `message` to a process that may have ended already (killed, or failed and
    /// said why): that is not an error here, because what it sent before, and then
    /// end-of-file, are still there to receive, and they tell how it ended.
    pub fn send_unless_ended(&self, message: &Message) -> Result<(), ChannelError> {
        match self.send(message) {
            Err(ChannelError::Send(nix::errno::Errno::EPIPE | nix::errno::Errno::ECONNRESET)) => Ok(()),
            other => other,
        }
    }

    pub fn send_with_fd(&self, message: &Message, fd: Option<RawFd>) -> Result<(), ChannelError> {
        let bytes = serde_json::to_vec(message).map_err(ChannelError::Decode)?;
        let fds = fd.map(|f| [f]);
        let cmsgs: Vec<ControlMessage> = fds.as_ref().map(|f| vec![ControlMessage::ScmRights(f)]).unwrap_or_default();
        loop {
            match sendmsg::<()>(self.fd.as_raw_fd(), &[IoSlice::new(&bytes)], &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ChannelError::Send(e)),
            }
        }
    }

    /// The next message and any descriptor sent with it; `None` once the peer has closed
    /// its end (for the init, that means a successful execve).
    pub fn recv(&self) -> Result<Option<(Message, Option<OwnedFd>)>, ChannelError> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(self.fd.as_raw_fd(), &mut iov, Some(&mut cmsg_space), MsgFlags::MSG_CMSG_CLOEXEC) {
                Ok(msg) => {
                    let mut fd = None;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            if let ControlMessageOwned::ScmRights(fds) = c {
                                // SAFETY: the kernel just installed these descriptors in
                                // this process for us; nothing else owns them.
                                fd = fds.first().map(|f| unsafe { OwnedFd::from_raw_fd(*f) });
                            }
                        }
                    }
                    break (msg.bytes, fd);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                // The other end was closed with our last message still unread in its
                // queue (the init was OOM-killed or signalled before reading it): the
                // kernel reports a reset instead of end-of-file, and it means the same.
                Err(nix::errno::Errno::ECONNRESET) => return Ok(None),
                Err(e) => return Err(ChannelError::Receive(e)),
            }
        };
        if len == 0 {
            return Ok(None);
        }
        let message = serde_json::from_slice(&buf[..len]).map_err(ChannelError::Decode)?;
        Ok(Some((message, fd)))
    }

    /// Waits for one message that must arrive: the peer closing its end first is a
    /// `Closed` error naming the message (`expected`) that never came.
    pub fn recv_required(&self, expected: &'static str) -> Result<(Message, Option<OwnedFd>), ChannelError> {
        self.recv()?.ok_or(ChannelError::Closed { expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_descriptors_cross() {
        let (a, b) = pair().unwrap();
        a.send(&Message::Proceed { pid: 7 }).unwrap();
        assert_eq!(b.recv().unwrap().unwrap().0, Message::Proceed { pid: 7 });
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        b.send_with_fd(&Message::Console, Some(file.as_raw_fd())).unwrap();
        let (m, fd) = a.recv().unwrap().unwrap();
        assert_eq!(m, Message::Console);
        assert!(fd.is_some());
        let failure = InitFailure { message: "boom".into(), code: crate::error::Code::Internal };
        b.send(&Message::Failed(failure.clone())).unwrap();
        assert_eq!(a.recv().unwrap().unwrap().0, Message::Failed(failure));
        drop(b);
        assert!(a.recv().unwrap().is_none(), "a closed peer reads as None");
    }

    #[test]
    fn a_peer_that_died_without_reading_reads_as_closed() {
        let (a, b) = pair().unwrap();
        a.send(&Message::Proceed { pid: 7 }).unwrap();
        // b never reads the message: closing it resets the connection.
        drop(b);
        assert!(a.recv().unwrap().is_none());
    }

    #[test]
    fn a_peer_that_ended_after_speaking_is_still_heard() {
        let (a, b) = pair().unwrap();
        let failure = InitFailure { message: "killed".into(), code: crate::error::Code::Internal };
        b.send(&Message::Failed(failure.clone())).unwrap();
        drop(b);
        assert!(a.send(&Message::HooksDone).is_err(), "a plain send to an ended peer fails");
        a.send_unless_ended(&Message::HooksDone).unwrap();
        assert_eq!(a.recv().unwrap().unwrap().0, Message::Failed(failure));
        assert!(a.recv().unwrap().is_none());
    }
}
