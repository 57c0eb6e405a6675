//! The one table `cargo xtask bench` prints (Markdown, so BENCHMARKS.md can carry it as is).

/// One line of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub id: String,
    pub what: String,
    pub median: String,
    pub p99: String,
    pub n: String,
    /// Latchkey / peer (openid-client) where the peer does the same work.
    pub vs_peer: String,
    pub note: String,
}

impl Row {
    pub fn new(id: &str, what: impl Into<String>) -> Row {
        Row {
            id: id.into(),
            what: what.into(),
            median: "–".into(),
            p99: "–".into(),
            n: "–".into(),
            vs_peer: "".into(),
            note: "".into(),
        }
    }

    pub fn median(mut self, v: impl Into<String>) -> Row {
        self.median = v.into();
        self
    }

    pub fn p99(mut self, v: impl Into<String>) -> Row {
        self.p99 = v.into();
        self
    }

    pub fn n(mut self, n: impl ToString) -> Row {
        self.n = n.to_string();
        self
    }

    pub fn vs_peer(mut self, v: impl Into<String>) -> Row {
        self.vs_peer = v.into();
        self
    }

    pub fn note(mut self, v: impl Into<String>) -> Row {
        self.note = v.into();
        self
    }

    /// Median, p99 and n of `samples`.
    pub fn samples(self, s: &crate::stats::Samples) -> Row {
        self.median(crate::stats::fmt_duration(s.median()))
            .p99(crate::stats::fmt_duration(s.p99()))
            .n(s.len())
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The detailed table (Markdown).
pub fn render(rows: &[Row]) -> String {
    let mut table = vec![[
        "#",
        "Measurement",
        "Median",
        "p99",
        "n",
        "Latchkey/peer",
        "Notes",
    ]
    .map(String::from)];
    table.extend(rows.iter().map(|r| {
        [
            r.id.clone(),
            r.what.clone(),
            r.median.clone(),
            r.p99.clone(),
            r.n.clone(),
            r.vs_peer.clone(),
            r.note.clone(),
        ]
    }));
    markdown(&table)
}

/// A Markdown table whose first row is the header, columns padded to line up.
fn markdown<const N: usize>(rows: &[[String; N]]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cell(c)).collect())
        .collect();
    let mut widths = [0usize; N];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&line(r));
        if i == 0 {
            out.push_str(&line(&widths.map(|w| "-".repeat(w))));
        }
    }
    out
}

/// One target of issue 17, as this run measured it: Latchkey's figure, its baseline's (same
/// run), the ratio, the target and whether it is met.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: u8,
    pub what: &'static str,
    pub target: &'static str,
    pub latchkey: String,
    pub baseline: String,
    pub ratio: String,
    /// `None`: not measured in this run (section skipped or failed).
    pub met: Option<bool>,
}

impl Target {
    /// Rows 1–7 of issue 17, not measured yet.
    pub fn issue_17() -> Vec<Target> {
        [
            (1, "Sign-in overhead / floor (row 1 vs F)", "≤ ×1.5"),
            (
                2,
                "ID-token verification per token vs `jose` (3c vs 7b)",
                "≥ ×2 faster",
            ),
            (
                3,
                "Code exchange + verification vs `openid-client` (1x vs 7a)",
                "≤ ×0.4",
            ),
            (
                4,
                "`latchkey token` process vs `secret-tool lookup` (2e vs 2f)",
                "≤ ×1.5",
            ),
            (
                5,
                "App PSS at idle, signed in, vs hello-world (6c vs 6f)",
                "≤ ×1.05",
            ),
            (
                6,
                "App start → first paint vs hello-world (6a vs 6e)",
                "≤ ×1.1",
            ),
            (7, "Stripped app binary; `.deb` (6d; 6g)", "≤ 12 MB; ≤ 6 MB"),
        ]
        .into_iter()
        .map(|(id, what, target)| Target {
            id,
            what,
            target,
            latchkey: "–".into(),
            baseline: "–".into(),
            ratio: "–".into(),
            met: None,
        })
        .collect()
    }

    /// Records target `id`'s figures.
    pub fn record(
        targets: &mut [Target],
        id: u8,
        latchkey: impl Into<String>,
        baseline: impl Into<String>,
        ratio: impl Into<String>,
        met: bool,
    ) {
        if let Some(t) = targets.iter_mut().find(|t| t.id == id) {
            t.latchkey = latchkey.into();
            t.baseline = baseline.into();
            t.ratio = ratio.into();
            t.met = Some(met);
        }
    }
}

/// The targets as a Markdown table, with a count of those met.
pub fn render_targets(targets: &[Target]) -> String {
    let mut rows = vec![[
        "#".to_string(),
        "Target (issue 17)".into(),
        "Latchkey".into(),
        "Baseline".into(),
        "Ratio".into(),
        "Target".into(),
        "Met".into(),
    ]];
    for t in targets {
        rows.push([
            t.id.to_string(),
            t.what.to_string(),
            t.latchkey.clone(),
            t.baseline.clone(),
            t.ratio.clone(),
            t.target.to_string(),
            match t.met {
                Some(true) => "yes".into(),
                Some(false) => "**no**".into(),
                None => "not measured".into(),
            },
        ]);
    }
    let met = targets.iter().filter(|t| t.met == Some(true)).count();
    format!(
        "{}\n{met} of {} targets met in this run.\n",
        markdown(&rows),
        targets.len()
    )
}
