//! The `latchkey` command.
//!
//! On Linux it starts without std's runtime set-up (`no_main`): that set-up reads
//! /proc/self/maps to find the main thread's stack and installs a stack-overflow handler, a
//! part of every `latchkey token` answered by the agent (a process of about 1.2 ms). What of
//! it the command needs is done here and in `cli::main`: closed standard streams are opened on
//! /dev/null, a panic ends the process with exit code 101, SIGPIPE is set per verb, and the exit
//! flushes standard output. A stack overflow ends the process by SIGSEGV, without std's message.
#![cfg_attr(all(target_os = "linux", not(test)), no_main)]

mod cli;

#[cfg(any(not(target_os = "linux"), test))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(cli::main())
}

#[cfg(all(target_os = "linux", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    standard_streams();
    // The panic hook has printed the message; a panic must not unwind into C.
    let code = std::panic::catch_unwind(cli::main).unwrap_or(101);
    // std's exit flushes standard output first.
    std::process::exit(code.into())
}

/// A closed standard stream would be the number of the next file opened: `accounts.toml` as
/// descriptor 1 would receive what is printed (a token). Each closed one is opened on
/// /dev/null first, as std's runtime does.
#[cfg(all(target_os = "linux", not(test)))]
fn standard_streams() {
    for fd in 0..=2 {
        // SAFETY: fcntl(F_GETFD) and open() before any thread runs; the descriptor opened is
        // the lowest free one, the closed stream's, and stays open for the process's life.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) != fd
            {
                libc::abort();
            }
        }
    }
}
