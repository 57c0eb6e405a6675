//! After "sign out everywhere" the provider's logout page sends the browser on to the
//! profile's sign-out URL. When that is a loopback URL nothing listens there any more, so it is
//! answered with a "signed out" page: for a while, until the first visit or the next sign-in.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::bind_host;
use super::request::{Page, RequestHead};
use super::server::{Responder, Server};

/// The sign-out page being served, if any.
static PAGE: Mutex<Option<Serving>> = Mutex::new(None);

struct Serving {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

struct SignedOut {
    path: String,
}

impl Responder for SignedOut {
    type Event = ();

    fn respond(&self, head: &RequestHead) -> (Page, Option<()>) {
        let path = head.target.split('?').next().unwrap_or_default();
        if head.method == "GET" && path == self.path {
            let page = Page::new(
                200,
                "Signed out",
                "You are signed out of Latchkey and of the provider. You can close this tab.",
            );
            return (page, Some(()));
        }
        (
            Page::new(404, "Latchkey", "Nothing here. You can close this tab."),
            None,
        )
    }
}

/// Serve the signed-out page at `uri` (loopback http only, if its port is free) for at most
/// `lifetime`. A page already served (for an earlier sign-out) stops first.
pub async fn serve_signed_out_page(uri: &url::Url, lifetime: Duration) {
    stop().await;
    let (Some(host), Some(port)) = (uri.host_str(), uri.port_or_known_default()) else {
        return;
    };
    if uri.scheme() != "http" || !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        return;
    }
    let Ok(sockets) = bind_host(host, port) else {
        tracing::debug!(port, "sign-out page: port busy; not serving it");
        return;
    };
    let responder = Arc::new(SignedOut {
        path: uri.path().to_owned(),
    });
    let Ok((server, mut visited)) = Server::start(sockets, responder) else {
        return;
    };
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        tokio::select! {
            _ = visited.recv() => tracing::debug!("sign-out page served"),
            _ = stopped => {}
            _ = tokio::time::sleep(lifetime) => {}
        }
        server.stop().await;
    });
    *PAGE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Serving { stop, task });
}

/// Stop the sign-out page, if one is served, and wait until its port is free.
pub(super) async fn stop() {
    let serving = PAGE.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(serving) = serving {
        let _ = serving.stop.send(());
        let _ = serving.task.await;
    }
}
