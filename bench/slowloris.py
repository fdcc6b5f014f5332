#!/usr/bin/env python3
"""Holds N slow-header connections open against HOST:PORT for SECONDS: each sends a request
line and then one more header line every INTERVAL seconds, never ending the head; when the
proxy closes one (as it should at its header timeout), it is counted (with its status, if
any) and reopened. Bounded by time; loopback only.

    bench/slowloris.py 127.0.0.1 19203 1000 20
"""
import asyncio
import sys
import time

HOST, PORT, N, SECONDS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
INTERVAL = 1.0
stats = {"opened": 0, "closed": 0, "answers": {}, "open": 0, "peak": 0, "refused": 0}


async def one(deadline):
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(HOST, PORT)
        except OSError:
            stats["refused"] += 1
            await asyncio.sleep(0.5)
            continue
        stats["opened"] += 1
        stats["open"] += 1
        stats["peak"] = max(stats["peak"], stats["open"])
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: slow.local\r\n")
            await writer.drain()
            answer = b""
            while time.monotonic() < deadline:
                try:
                    answer = await asyncio.wait_for(reader.read(64), INTERVAL)
                    break  # an answer or the close
                except asyncio.TimeoutError:
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
            if answer or time.monotonic() < deadline:
                status = answer[9:12].decode(errors="replace") or "close"
                stats["answers"][status] = stats["answers"].get(status, 0) + 1
                stats["closed"] += 1
        except (ConnectionError, OSError):
            stats["closed"] += 1
            stats["answers"]["reset"] = stats["answers"].get("reset", 0) + 1
        finally:
            stats["open"] -= 1
            writer.close()


async def main():
    deadline = time.monotonic() + SECONDS
    tasks = []
    for i in range(N):
        tasks.append(asyncio.create_task(one(deadline)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    print(
        f"slow connections: peak {stats['peak']} open, {stats['opened']} opened, "
        f"{stats['closed']} closed by the proxy {stats['answers']}, {stats['refused']} refused"
    )


asyncio.run(main())
