#!/usr/bin/env python3
"""Opens N keep-alive client connections to HOST:PORT, sends one request on each (Host: HOST_HEADER)
and reads its whole answer, then keeps them all open and idle. Commands on stdin, one per line:

    probe K   K new requests on fresh connections one after the other, while the idle ones stay;
              prints "probe ok=.. p50_ms=.. p99_ms=.. max_ms=.."
    check     one more request on every idle connection; prints "check ok=.. failed=.."
    close     closes every connection; prints "closed"
    quit      exits

Prints "ready open=N failed=F" once all are open. Loopback only; every wait is bounded.

    bench/idle_clients.py 127.0.0.1 19203 web.local 2000
"""
import asyncio
import sys
import time

HOST, PORT, HOST_HEADER, N = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
REQUEST = f"GET / HTTP/1.1\r\nHost: {HOST_HEADER}\r\n\r\n".encode()
TIMEOUT = 10.0


async def exchange(reader, writer):
    """One request and its whole answer (Content-Length framing); True on a 200."""
    writer.write(REQUEST)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
    return head.startswith(b"HTTP/1.1 200")


async def open_one(conns, sem):
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), TIMEOUT)
            if await exchange(reader, writer):
                conns.append((reader, writer))
                return True
            writer.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        return False


async def probe(k):
    times, ok = [], 0
    for _ in range(k):
        start = time.perf_counter()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), TIMEOUT)
            ok += await exchange(reader, writer)
            writer.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"probe ok={ok} p50_ms={pick(0.5):.3f} p99_ms={pick(0.99):.3f} max_ms={times[-1]:.3f}", flush=True)


async def check(conns):
    async def one(c):
        try:
            return await exchange(*c)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            return False
    sem = asyncio.Semaphore(200)

    async def bounded(c):
        async with sem:
            return await one(c)
    results = await asyncio.gather(*(bounded(c) for c in conns))
    ok = sum(results)
    print(f"check ok={ok} failed={len(results) - ok}", flush=True)


async def main():
    conns = []
    sem = asyncio.Semaphore(200)
    results = await asyncio.gather(*(open_one(conns, sem) for _ in range(N)))
    print(f"ready open={len(conns)} failed={len(results) - sum(results)}", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "probe":
            await probe(int(words[1]))
        elif words[0] == "check":
            await check(conns)
        elif words[0] == "close":
            for _, w in conns:
                w.close()
            conns.clear()
            print("closed", flush=True)


asyncio.run(main())
