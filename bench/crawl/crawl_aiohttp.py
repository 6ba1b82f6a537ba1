#!/usr/bin/python3
"""The asyncio tutorials' optimised crawler, as samples/crawler.cpp writes it with weft: for a ratio.

    /usr/bin/python3 bench/crawl/crawl_aiohttp.py URL [--requests 100000] [--concurrency 1000]
                                                      [--timeout-ms 1000] [--attempts 3]

GETs URL `requests` times, at most `concurrency` at once (asyncio.Semaphore, one task per
request, gathered), each attempt bounded by aiohttp.ClientTimeout(total=...), transient failures
retried with exponential backoff and full jitter. Prints the same summary lines as the sample
(ok, failed, retries, p50/p99, req/s, wall time). Needs aiohttp (Debian's python3-aiohttp).
"""
import argparse
import asyncio
import random
import time

import aiohttp


class ServerError(Exception):
    pass


async def fetch_once(session, url):
    async with session.get(url) as response:
        body = await response.text()
        if response.status >= 500:
            raise ServerError(f"{url}: HTTP {response.status}")
        response.raise_for_status()
        return body


async def fetch(session, semaphore, url, args, stats):
    async with semaphore:
        start = time.monotonic()
        for attempt in range(1, args.attempts + 1):
            try:
                await fetch_once(session, url)
                stats["ok"] += 1
                break
            except (asyncio.TimeoutError, aiohttp.ClientError, ServerError) as e:
                if attempt == args.attempts:
                    stats["failed"] += 1
                    stats["errors"][type(e).__name__] = stats["errors"].get(type(e).__name__, 0) + 1
                    break
                stats["retries"] += 1
                await asyncio.sleep(random.uniform(0, min(2.0, 0.05 * 2 ** (attempt - 1))))
        stats["latency"].append(time.monotonic() - start)


async def crawl(args):
    stats = {"ok": 0, "failed": 0, "retries": 0, "errors": {}, "latency": []}
    semaphore = asyncio.Semaphore(args.concurrency)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=args.timeout_ms / 1000)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic()
        await asyncio.gather(*(fetch(session, semaphore, args.url, args, stats) for _ in range(args.requests)))
        wall = time.monotonic() - start
    latency = sorted(stats["latency"])
    at = lambda q: latency[int(q * (len(latency) - 1))] * 1000
    print(f"aiohttp crawler: {args.requests} requests to {args.url}, {args.concurrency} at a time")
    print(f"  ok {stats['ok']}  failed {stats['failed']} {stats['errors']}  retries {stats['retries']}")
    print(f"  latency p50 {at(0.5):.1f} ms  p99 {at(0.99):.1f} ms  max {at(1.0):.1f} ms")
    print(f"  throughput {args.requests / wall:.0f} req/s  wall time {wall:.2f} s")
    return 0 if stats["failed"] == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--timeout-ms", type=int, default=1000)
    parser.add_argument("--attempts", type=int, default=3)
    return asyncio.run(crawl(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
