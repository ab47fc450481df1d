#!/usr/bin/env python3
"""Polls the X screen (xwd) until at least MIN pixels of a colour appear in the top ROWS rows;
prints the elapsed milliseconds since START_NS (argv[1], from `date +%s%N`). argv[2]: 'gone'
waits for the colour to disappear instead. Used by bench.sh to time 'painted'."""
import struct, subprocess, sys, time

start_ns = int(sys.argv[1])
gone = len(sys.argv) > 2 and sys.argv[2] == "gone"
COLOUR = (0x4F, 0x46, 0xE5)  # the light theme's primary button
ROWS, MIN, TIMEOUT = 200, 200, 20.0

def count():
    raw = subprocess.run(["xwd", "-root", "-silent"], capture_output=True).stdout
    header_size, = struct.unpack(">I", raw[:4])
    width, height = struct.unpack(">II", raw[16:24])
    bpl, = struct.unpack(">I", raw[48:52])
    ncolors, = struct.unpack(">I", raw[76:80])
    data = raw[header_size + ncolors * 12:]
    want = bytes((COLOUR[2], COLOUR[1], COLOUR[0]))  # 32-bit BGRx, little-endian server
    n = 0
    for y in range(min(ROWS, height)):
        row = data[y * bpl:(y * bpl) + width * 4]
        n += row.count(want)  # approximate: aligned matches dominate
    return n

t_end = time.time() + TIMEOUT
while time.time() < t_end:
    n = count()
    if (n == 0) if gone else (n >= MIN):
        print((time.time_ns() - start_ns) // 1_000_000)
        sys.exit(0)
sys.exit(1)
