//! The refresh timers' sleep, on a clock that counts suspend. tokio's timers run on
//! CLOCK_MONOTONIC, which stands still while a laptop sleeps: a refresh due during the night
//! would wait its full delay again after waking. On Linux a timer sleeps on a timerfd of
//! CLOCK_BOOTTIME instead, which keeps counting in suspend, so a deadline passed while asleep
//! fires as soon as the machine wakes; no polling. Elsewhere (or when no timerfd can be made)
//! tokio's timer is used, capped at [`MONOTONIC_CAP`] so that a wake-up catches up within it.

use std::time::Duration;

/// The longest sleep on a clock that may stand still in suspend; the caller recomputes its
/// deadline from the wall clock after every sleep.
pub const MONOTONIC_CAP: Duration = Duration::from_secs(600);

/// Sleeps `wait` of time that passes in suspend too (or at most [`MONOTONIC_CAP`] where that
/// clock is not available: callers loop until their deadline).
pub async fn sleep(wait: Duration) {
    #[cfg(target_os = "linux")]
    if boottime::sleep(wait).await.is_ok() {
        return;
    }
    tokio::time::sleep(wait.min(MONOTONIC_CAP)).await;
}

#[cfg(target_os = "linux")]
mod boottime {
    use std::time::Duration;

    use rustix::time::{
        ClockId, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec,
        clock_gettime, timerfd_create, timerfd_settime,
    };
    use tokio::io::unix::AsyncFd;

    const NANOS: u64 = 1_000_000_000;

    /// `now` plus `wait` on the same clock (saturating far in the future).
    pub fn deadline(now: Timespec, wait: Duration) -> Timespec {
        let nanos = u64::try_from(now.tv_nsec).unwrap_or(0) + u64::from(wait.subsec_nanos());
        let secs = i64::try_from(wait.as_secs() + nanos / NANOS).unwrap_or(i64::MAX);
        Timespec {
            tv_sec: now.tv_sec.saturating_add(secs),
            tv_nsec: (nanos % NANOS) as _,
        }
    }

    /// Sleeps until `wait` from now on CLOCK_BOOTTIME; an error when the timer cannot be made.
    pub async fn sleep(wait: Duration) -> std::io::Result<()> {
        let fd = timerfd_create(
            TimerfdClockId::Boottime,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        let at = deadline(clock_gettime(ClockId::Boottime), wait);
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // An absolute deadline: a task resumed late does not push it back. (All zeros would
        // disarm the timer; a deadline of boot time zero has passed anyway.)
        let spec = Itimerspec {
            it_interval: zero,
            it_value: if at == zero {
                deadline(zero, Duration::from_nanos(1))
            } else {
                at
            },
        };
        timerfd_settime(&fd, TimerfdTimerFlags::ABSTIME, &spec)?;
        // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open and the same until
        // the AsyncFd is dropped (tokio's `register` contract).
        let fd = unsafe { AsyncFd::register(fd) }?;
        loop {
            let mut ready = fd.readable().await?;
            let mut expirations = [0u8; 8];
            match rustix::io::read(fd.get_ref(), &mut expirations) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn at(tv_sec: i64, tv_nsec: i64) -> Timespec {
            Timespec {
                tv_sec,
                tv_nsec: tv_nsec as _,
            }
        }

        #[test]
        fn deadlines_add_the_wait_and_carry_nanoseconds() {
            assert_eq!(deadline(at(100, 0), Duration::from_secs(420)), at(520, 0));
            assert_eq!(
                deadline(at(100, 900_000_000), Duration::from_millis(250)),
                at(101, 150_000_000)
            );
            assert_eq!(
                deadline(at(i64::MAX - 1, 0), Duration::from_secs(u64::MAX)),
                at(i64::MAX, 0)
            );
        }

        #[test]
        fn a_boot_time_sleep_ends_at_its_deadline_on_that_clock() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let wait = Duration::from_millis(120);
            let before = clock_gettime(ClockId::Boottime);
            let started = std::time::Instant::now();
            runtime.block_on(sleep(wait)).unwrap();
            let after = clock_gettime(ClockId::Boottime);
            assert!(after >= deadline(before, wait), "woke before the deadline");
            assert!(started.elapsed() >= wait);
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "never woke in time"
            );
        }
    }
}
