//! What the window shows, measured in the real webview for app_window's scenario: where lines
//! wrap, whether placeholders fit, which buttons are on screen, what the inspector writes.

use fantoccini::Client;
use latchkey_testkit::webdriver::{click, js_string, wait_js};
use serde_json::Value;

/// Runs `body` (a function body that returns JSON) in the window.
async fn run(app: &Client, body: &str) -> Value {
    app.execute(body, vec![]).await.expect("script runs")
}

/// Where the text of `css` wraps when its box is `width` wide: for each line break, the
/// character before it. The box is narrowed for the measure only, then restored.
pub async fn wrap_points(app: &Client, css: &str, width: &str) -> Vec<String> {
    let script = format!(
        r#"const el = document.querySelector({css:?});
        const box = el.parentElement;
        const before = box.style.width;
        box.style.width = {width:?};
        const chars = [];
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
          for (let i = 0; i < node.length; i++) {{
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rect = range.getClientRects()[0];
            if (rect) chars.push([node.data[i], rect.top]);
          }}
        }}
        box.style.width = before;
        const breaks = [];
        for (let i = 1; i < chars.length; i++) {{
          if (chars[i][1] > chars[i - 1][1] + 2) breaks.push(chars[i - 1][0]);
        }}
        return breaks;"#
    );
    let breaks = run(app, &script).await;
    serde_json::from_value(breaks).expect("a list of characters")
}

/// Asserts that `css`'s identifier, in a box `width` wide, wraps, and only after `:` `/` `-`.
pub async fn assert_wraps_at_separators(app: &Client, css: &str, width: &str) {
    let breaks = wrap_points(app, css, width).await;
    assert!(!breaks.is_empty(), "{css} wraps in {width}");
    assert!(
        breaks.iter().all(|c| [":", "/", "-"].contains(&c.as_str())),
        "{css} wraps only after : / - (it wrapped after {breaks:?})"
    );
}

/// The placeholders of the visible single-line inputs that are wider than their field.
pub async fn cut_off_placeholders(app: &Client) -> Vec<String> {
    let cut = run(
        app,
        r#"const canvas = document.createElement("canvas").getContext("2d");
        const cut = [];
        for (const input of document.querySelectorAll("input[placeholder]")) {
          if (input.offsetParent === null) continue;
          const style = getComputedStyle(input);
          canvas.font = style.font;
          const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          if (canvas.measureText(input.placeholder).width > room) cut.push(`#${input.id}: ${input.placeholder}`);
        }
        return cut;"#,
    )
    .await;
    serde_json::from_value(cut).expect("a list of fields")
}

/// The visible checkboxes inside a label that do not sit on the first line of the label's text
/// (a checkbox stretched to the field width lands on a line of its own, above its text).
pub async fn checkboxes_off_their_label_line(app: &Client) -> Vec<String> {
    let off = run(
        app,
        r#"const off = [];
        for (const input of document.querySelectorAll("label input[type=checkbox]")) {
          if (input.offsetParent === null) continue;
          const walker = document.createTreeWalker(input.closest("label"), NodeFilter.SHOW_TEXT);
          let text = walker.nextNode();
          while (text && !text.data.trim()) text = walker.nextNode();
          if (!text) continue;
          const range = document.createRange();
          range.selectNodeContents(text);
          const line = range.getClientRects()[0];
          const box = input.getBoundingClientRect();
          const middle = box.top + box.height / 2;
          if (!line || middle < line.top || middle > line.bottom) off.push(`#${input.id}`);
        }
        return off;"#,
    )
    .await;
    serde_json::from_value(off).expect("a list of checkboxes")
}

/// Whether the element `css` is on screen (present and not hidden by itself or a parent).
pub async fn visible(app: &Client, css: &str) -> bool {
    js_string(
        app,
        &format!("(() => {{ const e = document.querySelector({css:?}); return Boolean(e && e.offsetParent !== null); }})()"),
    )
    .await
        == "true"
}

/// The buttons on screen whose label is `label`.
pub async fn visible_buttons(app: &Client, label: &str) -> usize {
    js_string(
        app,
        &format!(
            "Array.from(document.querySelectorAll('button')).filter(b => b.offsetParent !== null && b.textContent.trim() === {label:?}).length"
        ),
    )
    .await
    .parse()
    .expect("a count")
}

/// The signed-out screen: its line says why in a sentence (capital first, a full stop last),
/// and the engine's case is `kind`; nobody is signed in, so there is no other user to be.
pub async fn assert_signed_out_reason(app: &Client, kind: &str) {
    wait_js(
        app,
        &format!("document.getElementById('signout-reason').dataset.kind === {kind:?}"),
        &format!("the signed-out reason {kind}"),
    )
    .await;
    let line = js_string(app, "document.getElementById('signout-reason').textContent").await;
    let first = line.chars().next().expect("a sentence");
    assert!(
        first.is_uppercase() && line.ends_with('.') && !line.contains("; "),
        "a sentence for people, not the engine's reason: {line:?}"
    );
    assert_eq!(
        visible_buttons(app, "Sign in as another user").await,
        0,
        "nobody to switch from"
    );
}

/// The signed-in screen: the four buttons explain themselves in tooltips and behind a "?",
/// not in a paragraph; "Sign in as another user" is offered.
pub async fn assert_session_buttons_explained(app: &Client) {
    assert_eq!(visible_buttons(app, "Sign in as another user").await, 1);
    for id in [
        "refresh-now",
        "switch-user",
        "signout",
        "signout-everywhere",
    ] {
        let title = js_string(app, &format!("document.getElementById('{id}').title")).await;
        assert!(title.len() > 20, "#{id} has a tooltip that explains it");
    }
    assert!(
        !visible(app, "#everywhere-help").await,
        "no paragraph under the buttons"
    );
    assert!(!help_open(app).await, "help closed");
    click(app, "#session-help summary").await;
    assert!(help_open(app).await, "help opened");
    assert_eq!(
        js_string(app, "document.querySelectorAll('#session-help dt').length").await,
        "4",
        "one entry a button"
    );
    click(app, "#session-help summary").await;
    assert!(!help_open(app).await, "help closed");
}

/// Whether the "?" beside the session's buttons is open and its box drawn (WebKit keeps
/// `offsetParent` for the content of a closed `<details>`, so its size is what tells).
async fn help_open(app: &Client) -> bool {
    js_string(
        app,
        "document.getElementById('session-help').open && document.querySelector('#session-help .help-box').getBoundingClientRect().height > 0",
    )
    .await
        == "true"
}

/// The inspector's checks and claims: the engine's `code` is drawn as code, never as
/// backticks.
pub async fn assert_inspector_has_no_backticks(app: &Client) {
    let text = js_string(
        app,
        "document.getElementById('checks').textContent + document.getElementById('claims').textContent",
    )
    .await;
    assert!(!text.contains('`'), "no Markdown backticks: {text}");
    let code = js_string(
        app,
        "document.querySelectorAll('#checks .reason code').length",
    )
    .await;
    assert_ne!(code, "0", "the key id is shown as code");
}

/// Profiles & settings: no form until "New profile" or "Edit", titled with which; every
/// placeholder of the form fits its field.
pub async fn assert_profile_form_on_request(app: &Client) {
    click(app, "#nav-settings").await;
    assert!(!visible(app, "#profile-form").await, "no empty form");
    click(app, "#pf-new").await;
    assert!(
        visible(app, "#profile-form").await,
        "the form for a new profile"
    );
    assert_eq!(
        js_string(app, "document.getElementById('pf-title').textContent").await,
        "New profile"
    );
    run(
        app,
        "document.getElementById('pf-aws').open = true; document.getElementById('pf-advanced').open = true; return null;",
    )
    .await;
    assert_eq!(cut_off_placeholders(app).await, Vec::<String>::new());
    assert_eq!(
        checkboxes_off_their_label_line(app).await,
        Vec::<String>::new(),
        "every checkbox of the settings view sits beside its label"
    );
    click(app, "#pf-cancel-edit").await;
    assert!(!visible(app, "#profile-form").await, "closed");
    click(
        app,
        "#profiles li[data-profile=\"Demo\"] button[data-action=\"edit\"]",
    )
    .await;
    wait_js(
        app,
        "document.getElementById('profile-form').dataset.mode === 'edit'",
        "the edit form",
    )
    .await;
    assert!(visible(app, "#profile-form").await, "the form for Demo");
    assert_eq!(
        js_string(app, "document.getElementById('pf-title').textContent").await,
        "Editing profile “Demo”"
    );
    click(app, "#pf-cancel-edit").await;
    assert!(!visible(app, "#profile-form").await, "closed");
}
