//! systemd socket activation: the listening socket systemd passes the agent (file descriptor 3,
//! with `LISTEN_FDS=1` and `LISTEN_PID` naming this process), used instead of binding one.

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixListener;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_PASSED_FD: RawFd = 3;

/// Why a socket systemd says it passed cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// Not exactly one socket.
    #[error("systemd passed {0} sockets (LISTEN_FDS); the agent takes exactly one: one ListenStream= in latchkey-agent.socket.")]
    Count(String),
    /// Descriptor 3 is not a listening Unix stream socket.
    #[error("the socket systemd passed is not a listening Unix stream socket ({0}); latchkey-agent.socket's ListenStream= must be a path.")]
    NotListening(std::io::Error),
}

/// The listening socket systemd passed to this process, if it passed one. The variables count
/// only when `LISTEN_PID` is this process (a child of an activated process ignores them).
pub(crate) fn passed_listener() -> Result<Option<UnixListener>, ActivationError> {
    let (Ok(pid), Ok(fds)) = (std::env::var("LISTEN_PID"), std::env::var("LISTEN_FDS")) else {
        return Ok(None);
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        tracing::info!("LISTEN_PID names another process; binding the socket here");
        return Ok(None);
    }
    if fds.trim() != "1" {
        return Err(ActivationError::Count(fds));
    }
    check_listening(FIRST_PASSED_FD).map_err(ActivationError::NotListening)?;
    // SAFETY: systemd opened descriptor 3 for this process (LISTEN_PID is this one, LISTEN_FDS
    // 1), it is a listening socket (checked above), and nothing else in the process owns it.
    let listener = unsafe { UnixListener::from_raw_fd(FIRST_PASSED_FD) };
    listener
        .local_addr()
        .map_err(ActivationError::NotListening)?;
    // Not inherited by the browser or other programs the agent starts.
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe { libc::fcntl(FIRST_PASSED_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    listener
        .set_nonblocking(true)
        .map_err(ActivationError::NotListening)?;
    tracing::info!("using the socket systemd passed");
    Ok(Some(listener))
}

/// Whether `fd` is a stream socket that listens (`SO_ACCEPTCONN`).
fn check_listening(fd: RawFd) -> std::io::Result<()> {
    let option = |name| {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and len are valid for the call; fd is only read.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r == 0 {
            Ok(value)
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    let listening = option(libc::SO_ACCEPTCONN)? == 1;
    let stream = option(libc::SO_TYPE)? == libc::SOCK_STREAM;
    if listening && stream {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "not a listening stream socket",
    ))
}
