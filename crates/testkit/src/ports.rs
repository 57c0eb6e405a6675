//! Loopback ports for tests. Ports are handed out below Linux's ephemeral range, so a port a
//! test was given is never also picked by the kernel for a socket bound to port 0 elsewhere
//! (a race that made fixed-port tests fail now and then), and never twice in one process.

use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The range handed out: [20000, 32000), below Linux's default ephemeral range (32768–60999).
const FIRST: u32 = 20_000;
const COUNT: u32 = 12_000;

/// A loopback port free on 127.0.0.1 (and on ::1 where the host has IPv6), for a listener the
/// test or a child process binds right after.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Processes start at different offsets, so two test binaries rarely try the same ports.
    let offset = std::process::id().wrapping_mul(7919) % COUNT;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = (FIRST + (offset + n) % COUNT) as u16;
        if port_is_free(port) {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + COUNT)
}

/// Nothing listens on `port` on 127.0.0.1, nor on ::1 where there is IPv6.
pub fn port_is_free(port: u16) -> bool {
    let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok();
    let v6 = match TcpListener::bind((Ipv6Addr::LOCALHOST, port)) {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::AddrInUse,
    };
    v4 && v6
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, what: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until nothing accepts connections on 127.0.0.1:`port`; returns how long that took.
pub fn wait_port_released(port: u16, within: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        if started.elapsed() > within {
            return Err(format!(
                "127.0.0.1:{port} still accepts connections after {within:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(started.elapsed())
}
