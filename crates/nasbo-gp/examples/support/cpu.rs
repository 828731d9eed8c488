//! Process CPU time for the timing examples.

/// CPU seconds (user + system, all threads) of this process so far, from `/proc/self/stat`
/// (Linux, 100 ticks per second); `None` elsewhere. Reported beside wall time because benchmark
/// machines are often shared.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
