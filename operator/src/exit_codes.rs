//! The exit codes of `elbow`, one per way a process ends, so that a pod's last state
//! (`kubectl get pod -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}'`)
//! says which it was without reading logs. Listed in docs/operations.md.

/// A clean stop: SIGINT or SIGTERM.
pub const SUCCESS: u8 = 0;
/// `elbow plan` found user errors in the manifests it read (its output says which).
pub const PLAN_FOUND_ERRORS: u8 = 1;
/// The command line is wrong: an unknown flag or a value the flag refuses (clap's own code).
pub const USAGE: u8 = 2;
/// `elbow run` could not start: no Kubernetes configuration, a port in use, inconsistent
/// leader-election timings; or another command failed on its input (`elbow inventory`: on
/// reading the network from AWS).
pub const CONFIGURATION: u8 = 3;
/// This replica lost the leader-election lease and exits so that a fresh process stands by.
/// Expected now and then (a slow API server); often, it points at the API server or the node.
pub const LOST_LEADERSHIP: u8 = 4;
/// `elbow gc` left orphaned stacks in place: it ran without `--delete`, some were inside the
/// grace period, or a deletion failed (its output says which, stack by stack).
pub const ORPHANS_LEFT: u8 = 5;
/// A bug: Rust's exit code for a panic. The log's last lines carry the panic message.
pub const CRASH: u8 = 101;
