//! What a window manager does to a window, for tests under Xvfb (which has none): close it
//! the way the title bar's × does, by sending it WM_DELETE_WINDOW.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, Window};
use x11rb::CURRENT_TIME;

/// Ask every top-level window titled `title` to close (WM_DELETE_WINDOW); how many were asked.
pub fn close_windows_titled(title: &str) -> usize {
    let (conn, screen) = x11rb::connect(None).expect("an X display (DISPLAY)");
    let root = conn.setup().roots[screen].root;
    let atom = |name: &str| {
        conn.intern_atom(false, name.as_bytes())
            .expect("intern_atom")
            .reply()
            .expect("atom")
            .atom
    };
    let (protocols, delete) = (atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW"));
    let windows: Vec<Window> = all_windows(&conn, root)
        .into_iter()
        .filter(|w| window_title(&conn, *w).as_deref() == Some(title))
        .filter(|w| speaks(&conn, *w, protocols, delete))
        .collect();
    for window in &windows {
        let event =
            ClientMessageEvent::new(32, *window, protocols, [delete, CURRENT_TIME, 0, 0, 0]);
        conn.send_event(false, *window, EventMask::NO_EVENT, event)
            .expect("send WM_DELETE_WINDOW");
    }
    conn.flush().expect("flush the X connection");
    windows.len()
}

fn all_windows(conn: &impl Connection, root: Window) -> Vec<Window> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(window) = stack.pop() {
        if let Ok(Ok(tree)) = conn.query_tree(window).map(|c| c.reply()) {
            found.extend(&tree.children);
            stack.extend(&tree.children);
        }
    }
    found
}

fn window_title(conn: &impl Connection, window: Window) -> Option<String> {
    let reply = conn
        .get_property(false, window, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 1024)
        .ok()?
        .reply()
        .ok()?;
    (!reply.value.is_empty()).then(|| String::from_utf8_lossy(&reply.value).into_owned())
}

/// Whether `window` lists WM_DELETE_WINDOW among its WM_PROTOCOLS.
fn speaks(conn: &impl Connection, window: Window, protocols: u32, delete: u32) -> bool {
    let Ok(Ok(reply)) = conn
        .get_property(false, window, protocols, AtomEnum::ATOM, 0, 64)
        .map(|c| c.reply())
    else {
        return false;
    };
    reply
        .value32()
        .is_some_and(|mut atoms| atoms.any(|a| a == delete))
}
