//! CPU time of processes, from Linux's `/proc`: the bench reports how much CPU the server spent
//! per request (its own threads, and for PostgreSQL the backends under its postmaster), and how
//! much the generator itself used, since a generator that takes most of a core measures itself.

use std::fs;

/// `/proc` counts CPU time in clock ticks of `USER_HZ`, which Linux fixes at 100 for every
/// architecture it exports `/proc/<pid>/stat` on.
const TICKS_PER_SECOND: f64 = 100.0;

/// (parent pid, user + system CPU seconds) of one process, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, f64)> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The fields after the command (which may hold spaces and parentheses): state, ppid, … utime
/// (the 14th field of the line), stime (the 15th).
fn parse_stat(line: &str) -> Option<(u32, f64)> {
    let rest = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, (utime + stime) as f64 / TICKS_PER_SECOND))
}

/// CPU seconds used so far by this process.
pub fn own_seconds() -> f64 {
    stat(std::process::id()).map_or(0.0, |s| s.1)
}

/// CPU seconds used so far by each of `pids` and their living children (a child that exited
/// since is not counted: PostgreSQL's backends live as long as their connection, which the
/// server's pool keeps). `None` when a pid is not running or `/proc` is not there.
pub fn seconds(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for &pid in pids {
        total += stat(pid)?.1;
    }
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some((ppid, secs)) = stat(pid)
            && pids.contains(&ppid)
            && !pids.contains(&pid)
        {
            total += secs;
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_after_the_command() {
        let line = "4242 (tills (worker) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 8 0 100 0 0";
        assert_eq!(parse_stat(line), Some((1, 3.25)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_uses_some_cpu() {
        let start = own_seconds();
        let mut x = 0u64;
        let until = std::time::Instant::now() + std::time::Duration::from_millis(60);
        while std::time::Instant::now() < until {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(own_seconds() >= start, "CPU time only grows");
        assert!(seconds(&[std::process::id()]).is_some_and(|s| s > 0.0), "this process is running");
        assert_eq!(seconds(&[]), None);
    }
}
