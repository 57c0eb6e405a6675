//! Log capture for the "no secret in a log line" tests (catalogue row C14): every log at TRACE
//! (Latchkey and the HTTP, TLS and keychain libraries under it), the provider's own log off.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The captured log. The subscriber is process-wide: every test of a binary shares one capture.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Route every TRACE event of this process into the capture (installed on first use; later
    /// calls return the same capture, which holds the logs of every test of the binary).
    pub fn install() -> LogCapture {
        static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
        CAPTURE
            .get_or_init(|| {
                let capture = LogCapture::default();
                let writer = capture.clone();
                tracing_subscriber::fmt()
                    .with_env_filter(tracing_subscriber::EnvFilter::new(
                        "trace,latchkey_devidp=off",
                    ))
                    .with_writer(move || writer.clone())
                    .with_ansi(false)
                    .try_init()
                    .expect("no other tracing subscriber in a test binary that captures logs");
                capture
            })
            .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Panics if any of `secrets`, or a 12-character slice from its middle (a token cut in a
    /// log line), appears in the log. Never prints the secret.
    pub fn assert_holds_none(&self, secrets: &[String]) {
        let log = self.text();
        for secret in secrets {
            assert!(secret.len() >= 16, "a secret too short to search for");
            let start = secret.len().saturating_sub(12) / 2;
            let slice = &secret[start..start + 12];
            assert!(
                !log.contains(secret.as_str()) && !log.contains(slice),
                "a secret value appears in the TRACE log"
            );
        }
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
