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

/// A Markdown table.
pub fn render(rows: &[Row]) -> String {
    let header = [
        "#",
        "Measurement",
        "Median",
        "p99",
        "n",
        "Latchkey/peer",
        "Notes",
    ];
    let body: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                cell(&r.id),
                cell(&r.what),
                cell(&r.median),
                cell(&r.p99),
                cell(&r.n),
                cell(&r.vs_peer),
                cell(&r.note),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &body {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let mut out = String::new();
    out.push_str(&line(header.iter().map(|s| s.to_string()).collect()));
    out.push('\n');
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    out.push('\n');
    for r in body {
        out.push_str(&line(r.to_vec()));
        out.push('\n');
    }
    out
}
