//! CPU time of processes, from Linux's `/proc`: the bench reports how much CPU the server spent
//! per request (its own threads, and for PostgreSQL the backends under its postmaster), and how
//! much the generator itself used, since a generator that takes most of a core measures itself.

use std::fs;

/// `/proc` counts CPU time in clock ticks of `USER_HZ`, which Linux fixes at 100 for every
/// architecture it exports `/proc/<pid>/stat` on.
const TICKS_PER_SECOND: f64 = 100.0;

/// One process's CPU seconds, from `/proc/<pid>/stat`.
struct Stat {
    ppid: u32,
    /// Its own threads' (user + system).
    own: f64,
    /// Its children's that exited and were waited for (PostgreSQL's backends of closed
    /// connections, pgbench's for one).
    reaped: f64,
}

fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The fields after the command (which may hold spaces and parentheses): state, ppid, … utime,
/// stime, cutime, cstime (the 14th to 17th fields of the line).
fn parse_stat(line: &str) -> Option<Stat> {
    let rest = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Option<f64> { Some(fields.get(i)?.parse::<u64>().ok()? as f64 / TICKS_PER_SECOND) };
    Some(Stat { ppid: fields.get(1)?.parse().ok()?, own: ticks(11)? + ticks(12)?, reaped: ticks(13)? + ticks(14)? })
}

/// CPU seconds used so far by this process.
pub fn own_seconds() -> f64 {
    stat(std::process::id()).map_or(0.0, |s| s.own)
}

/// CPU seconds used so far by each of `pids` and their children: the living ones, and those
/// that exited and were waited for (a PostgreSQL backend's time moves to its postmaster's count
/// when its connection closes). `None` when a pid is not running or `/proc` is not there.
pub fn seconds(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for &pid in pids {
        let s = stat(pid)?;
        total += s.own + s.reaped;
    }
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some(s) = stat(pid)
            && pids.contains(&s.ppid)
            && !pids.contains(&pid)
        {
            total += s.own;
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_after_the_command() {
        let line = "4242 (tills (worker) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 40 10 20 0 8 0 100 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!((s.ppid, s.own, s.reaped), (1, 3.25, 0.5));
        assert!(parse_stat("garbage").is_none());
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
