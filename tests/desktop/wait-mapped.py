#!/usr/bin/env python3
"""Polls the X server until a window whose title matches TITLE (argv[2], a regex for xdotool)
is mapped (viewable); prints the milliseconds since START_NS (argv[1], from `date +%s%N`).
argv[3] 'gone' waits until no such window is mapped instead. Used by bench.sh to time the
cold start of Latchkey and of the bare Tauri window the same way."""
import subprocess, sys, time

start_ns, title = int(sys.argv[1]), sys.argv[2]
gone = len(sys.argv) > 3 and sys.argv[3] == "gone"
TIMEOUT = 20.0

def mapped():
    r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                       capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() != ""

t_end = time.time() + TIMEOUT
while time.time() < t_end:
    if mapped() != gone:
        print((time.time_ns() - start_ns) // 1_000_000)
        sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
