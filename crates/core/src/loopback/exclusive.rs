//! Windows: the callback port is bound with `SO_EXCLUSIVEADDRUSE`. Without it, another process
//! of the same user can bind the same address and port with `SO_REUSEADDR` and be handed the
//! browser's redirect, authorization code included; with it, that bind fails.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::windows::io::AsRawSocket;

use socket2::{Domain, Protocol, Socket, Type};
use windows_sys::Win32::Networking::WinSock::{setsockopt, SOL_SOCKET, SO_EXCLUSIVEADDRUSE};

/// Binds and listens on `addr`, with no other socket allowed to share the address.
/// (socket2 creates the socket non-inheritable, as std does: a browser started by this
/// process does not get a handle to the listener.)
pub(super) fn bind_exclusive(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Before bind: the option decides how the bind itself may share the address.
    set_exclusive_address_use(&socket)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

fn set_exclusive_address_use(socket: &Socket) -> io::Result<()> {
    let on: i32 = 1;
    // SAFETY: a valid socket, and a pointer to an i32 that lives across the call with its size.
    let failed = unsafe {
        setsockopt(
            socket.as_raw_socket() as usize,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&on as *const i32).cast(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if failed == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use windows_sys::Win32::Networking::WinSock::getsockopt;

    use super::*;
    use crate::loopback::LoopbackListener;

    fn exclusive_address_use(listener: &TcpListener) -> bool {
        let mut value: i32 = 0;
        let mut len = std::mem::size_of::<i32>() as i32;
        // SAFETY: a valid socket, and a pointer to an i32 with its size.
        let failed = unsafe {
            getsockopt(
                listener.as_raw_socket() as usize,
                SOL_SOCKET,
                SO_EXCLUSIVEADDRUSE,
                (&mut value as *mut i32).cast(),
                &mut len,
            )
        };
        assert_eq!(failed, 0, "getsockopt: {}", io::Error::last_os_error());
        value != 0
    }

    /// A second socket that asks to share the address, as a port-stealing process would.
    fn bind_shared(addr: SocketAddr) -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1)?;
        Ok(socket)
    }

    #[test]
    fn every_callback_socket_is_bound_for_exclusive_use() {
        for addr in [
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        ] {
            let listener = super::super::bind_one(addr).unwrap();
            assert!(
                exclusive_address_use(&listener),
                "{addr}: SO_EXCLUSIVEADDRUSE is off"
            );
        }
    }

    #[tokio::test]
    async fn another_socket_cannot_share_the_callback_port() {
        for host in ["127.0.0.1", "localhost"] {
            let listener = LoopbackListener::bind(host, "/callback", &[])
                .await
                .unwrap();
            for addr in listener.local_addrs() {
                let stolen = bind_shared(addr);
                assert!(
                    stolen.is_err(),
                    "{host}: a second socket with SO_REUSEADDR bound {addr}"
                );
            }
        }
    }
}
