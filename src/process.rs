//! Process-wide protections, set once at start-up.

/// Makes this process non-dumpable (Linux): no core dump can capture the plaintext it
/// holds, and other processes of the same user can neither attach a debugger to it nor
/// read its memory through `/proc/PID/mem`. Only root still can. The command `exec`
/// starts is not affected: `execve` makes a process dumpable again. Best effort: an
/// error (a kernel without prctl) changes nothing else.
pub fn protect_memory() {
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
