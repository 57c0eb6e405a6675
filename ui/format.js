/* Values as people read them: relative and UTC times, a countdown, sizes, JSON, and the
 * message of an error from Rust. Pure functions, no DOM. */

/** "in 5 min" / "2 h ago" for a number of seconds from now. */
export function relative(seconds) {
  const abs = Math.abs(seconds);
  const unit = abs < 90 ? [Math.round(abs), "s"]
    : abs < 5400 ? [Math.round(abs / 60), "min"]
    : abs < 172800 ? [Math.round(abs / 3600), "h"]
    : [Math.round(abs / 86400), "days"];
  return seconds >= 0 ? `in ${unit[0]} ${unit[1]}` : `${unit[0]} ${unit[1]} ago`;
}

/** Unix seconds as "2026-01-02 03:04:05Z". */
export function utc(secs) { return new Date(secs * 1000).toISOString().replace(".000Z", "Z").replace("T", " "); }

/** Now, in Unix seconds. */
export function now() { return Date.now() / 1000; }

/** A countdown: "4:05". */
export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A size in bytes: "512 B", "1.5 KB", "2.0 MB". */
export function bytes(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`;
}

/** A claim's or attribute's value as text (strings as they are, anything else as JSON). */
export function valueText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A JSON body pretty-printed; anything else as it is. */
export function prettyBody(body) {
  try { return JSON.stringify(JSON.parse(body), null, 2); } catch { return body; }
}

/** The message of an error from Rust (`{kind, message}`), a JS Error or a string. */
export function messageOf(err) {
  return typeof err === "string" ? err : (err && err.message) || String(err);
}
