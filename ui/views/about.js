/* The About view: version, commit and the licences of the bundled crates, as Rust reports
 * them (the keyboard shortcuts are static text in index.html). */

import * as bridge from "../bridge.js";
import { setText } from "../dom.js";

export function mount() {
  bridge.onAppInfo(render);
}

/** Draws the build's facts from the app info. */
export function render(info) {
  setText("about-version", info.version);
  setText("about-commit", info.commit);
  setText("about-licences", info.licences);
}
