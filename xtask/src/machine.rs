//! Which machine ran `cargo xtask bench`, and whether anything else ran beside it: printed
//! after the table and put on top of the `--out` file. A run next to a build is not a
//! measurement, so a load average above the core count at the start or the end of the run is a
//! warning there.

use std::fmt;

/// The machine and its load, read from /proc (Linux; elsewhere the fields say unknown).
pub struct Machine {
    cpu: String,
    cores: usize,
    memory_gib: Option<f64>,
    load_at_start: Option<f64>,
    load_at_end: Option<f64>,
}

impl Machine {
    /// The machine as the run starts.
    pub fn observe() -> Machine {
        Machine {
            cpu: cpu_model().unwrap_or_else(|| "unknown CPU".into()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_gib(),
            load_at_start: load_average(),
            load_at_end: None,
        }
    }

    /// Records the load as the run ends.
    pub fn finished(mut self) -> Machine {
        self.load_at_end = load_average();
        self
    }

    /// Whether the load average (one minute) was above the core count at the start or the end.
    pub fn overloaded(&self) -> bool {
        [self.load_at_start, self.load_at_end]
            .into_iter()
            .flatten()
            .any(|load| load > self.cores as f64)
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let memory = self
            .memory_gib
            .map_or("unknown memory".into(), |g| format!("{g:.0} GiB"));
        let load = |l: Option<f64>| l.map_or("unknown".into(), |l| format!("{l:.2}"));
        writeln!(
            f,
            "machine: {}, {} cores, {memory}; load average (1 min) {} at the start, {} at the end",
            self.cpu,
            self.cores,
            load(self.load_at_start),
            load(self.load_at_end)
        )?;
        if self.overloaded() {
            writeln!(
                f,
                "WARNING: the load average was above the {} cores: other work ran beside this \
                 bench, so its figures are not a measurement. Run it again on a quiet machine.",
                self.cores
            )?;
        }
        Ok(())
    }
}

fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
}

fn memory_gib() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / (1024.0 * 1024.0))
}

/// The one-minute load average, from /proc/loadavg.
fn load_average() -> Option<f64> {
    parse_load_average(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_load_average(loadavg: &str) -> Option<f64> {
    loadavg.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{parse_load_average, Machine};

    fn machine(cores: usize, start: f64, end: f64) -> Machine {
        Machine {
            cpu: "test CPU".into(),
            cores,
            memory_gib: Some(24.0),
            load_at_start: Some(start),
            load_at_end: Some(end),
        }
    }

    #[test]
    fn a_load_above_the_core_count_at_either_end_is_a_warning_in_the_header() {
        assert!(!machine(2, 0.4, 1.9).overloaded());
        assert!(machine(2, 2.5, 0.3).overloaded());
        assert!(machine(2, 0.3, 6.0).overloaded());
        assert!(machine(2, 0.3, 6.0).to_string().contains("WARNING"));
        assert!(!machine(2, 0.3, 1.0).to_string().contains("WARNING"));
    }

    #[test]
    fn the_load_average_is_the_first_field_of_proc_loadavg() {
        assert_eq!(
            parse_load_average("10.96 8.88 5.81 3/512 1234\n"),
            Some(10.96)
        );
        assert_eq!(parse_load_average(""), None);
    }
}
