//! The standard `process_*` series (CPU time, resident memory, open and maximum file descriptors,
//! start time) and `elbow_build_info`, read at each scrape. Names and meanings are those of the
//! Prometheus client libraries' process collectors, so existing dashboards and alerts apply.
//!
//! Read from `/proc/self` (Linux, where Elbow runs); elsewhere a series that cannot be read is left
//! out of the scrape rather than reported as zero.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Clock ticks per second of the times in `/proc/<pid>/stat`: `USER_HZ`, which Linux fixes at 100
/// for user space on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Default)]
pub struct ProcessCollector;

/// What one scrape reads about this process; `None` where the system does not tell.
#[derive(Debug, Default, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<i64>,
    pub virtual_bytes: Option<i64>,
    pub open_fds: Option<i64>,
    pub max_fds: Option<i64>,
    pub start_time_seconds: Option<f64>,
}

impl ProcessSample {
    pub fn read() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let fields = stat.as_deref().and_then(stat_fields);
        let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|text| boot_time(&text));
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        Self {
            cpu_seconds: fields.as_ref().map(|f| (f.user_ticks + f.system_ticks) as f64 / TICKS_PER_SECOND),
            resident_bytes: status_kib(&status, "VmRSS:").map(|kib| kib * 1024),
            virtual_bytes: status_kib(&status, "VmSize:").map(|kib| kib * 1024),
            open_fds: std::fs::read_dir("/proc/self/fd").ok().map(|entries| entries.count() as i64),
            max_fds: max_open_files(&limits),
            start_time_seconds: fields.zip(boot_time).map(|(f, boot)| boot + f.start_ticks as f64 / TICKS_PER_SECOND),
        }
    }
}

struct StatFields {
    user_ticks: u64,
    system_ticks: u64,
    start_ticks: u64,
}

/// utime, stime and starttime (fields 14, 15 and 22) of `/proc/<pid>/stat`. The command name
/// (field 2) is in parentheses and may itself contain spaces and parentheses, so fields are counted
/// from the last `)`.
fn stat_fields(stat: &str) -> Option<StatFields> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // after_name starts at field 3 (state).
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(StatFields { user_ticks: field(14)?, system_ticks: field(15)?, start_ticks: field(22)? })
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
fn boot_time(proc_stat: &str) -> Option<f64> {
    proc_stat.lines().find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())
}

/// A `Key:   1234 kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Option<i64> {
    status.lines().find_map(|line| line.strip_prefix(key)?.split_whitespace().next()?.parse().ok())
}

/// The soft limit of `Max open files` in `/proc/<pid>/limits`.
fn max_open_files(limits: &str) -> Option<i64> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

fn gauge<N>(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: Option<N>) -> Result<(), std::fmt::Error>
where
    ConstGauge<N>: EncodeMetric,
{
    let Some(value) = value else { return Ok(()) };
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sample = ProcessSample::read();
        if let Some(seconds) = sample.cpu_seconds {
            let metric = ConstCounter::new(seconds);
            let help = "Total user and system CPU time spent in seconds";
            metric.encode(encoder.encode_descriptor("process_cpu_seconds", help, None, metric.metric_type())?)?;
        }
        gauge(&mut encoder, "process_resident_memory_bytes", "Resident memory size in bytes", sample.resident_bytes)?;
        gauge(&mut encoder, "process_virtual_memory_bytes", "Virtual memory size in bytes", sample.virtual_bytes)?;
        gauge(&mut encoder, "process_open_fds", "Number of open file descriptors", sample.open_fds)?;
        gauge(&mut encoder, "process_max_fds", "Maximum number of open file descriptors", sample.max_fds)?;
        let help = "Start time of the process since unix epoch in seconds";
        gauge(&mut encoder, "process_start_time_seconds", help, sample.start_time_seconds)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name_even_with_spaces_in_it() {
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0 123456 \
                    1000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let fields = stat_fields(stat).expect("parsed");
        assert_eq!((fields.user_ticks, fields.system_ticks, fields.start_ticks), (250, 75, 123456));
        assert!(stat_fields("garbage").is_none());
    }

    #[test]
    fn status_limits_and_boot_time_are_read_by_key() {
        let status = "Name:\telbow\nVmSize:\t  204800 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1048576              1048576              files     \n";
        assert_eq!(max_open_files(limits), Some(1_048_576));
        assert_eq!(boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"), Some(1_700_000_000.0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reports_every_series_with_plausible_values() {
        let sample = ProcessSample::read();
        assert!(sample.resident_bytes.is_some_and(|bytes| bytes > 1024 * 1024), "{sample:?}");
        assert!(sample.open_fds.is_some_and(|n| n >= 3), "{sample:?}");
        assert!(sample.max_fds.is_some_and(|n| n >= sample.open_fds.unwrap_or(0)), "{sample:?}");
        assert!(sample.cpu_seconds.is_some_and(|s| s >= 0.0), "{sample:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64());
        let started = sample.start_time_seconds.expect("start time");
        let now = now.unwrap_or(0.0);
        assert!(started <= now + 1.0 && started > now - 24.0 * 3600.0, "started {started}, now {now}");
    }
}
