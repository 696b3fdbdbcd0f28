"""Load generator of bench/soak.sh: fixed-rate mixed reads, SSE clients, a Prometheus
outage in the middle, and a per-minute report of errors and the server's RSS."""

import argparse
import asyncio
import json
import os
import random
import signal
import time
import urllib.request
from collections import Counter


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def targets(base):
    """Reads an operator's pages make: headline, rooms, racks, alerts, pages."""
    rooms = json.load(urllib.request.urlopen(f"{base}/api/rooms"))
    room_ids = [r["id"] for r in rooms][:20]
    racks = []
    for r in room_ids[:5]:
        st = json.load(urllib.request.urlopen(f"{base}/api/rooms/{r}/state"))
        racks += list(st.get("racks", {}).keys())[:10]
    urls = ["/api/stats/global", "/api/alerts/active", "/api/stats/prometheus", "/"]
    urls += [f"/api/rooms/{r}/state" for r in room_ids]
    urls += [f"/api/racks/{r}/state" for r in racks]
    urls += [f"/views/room/{r}" for r in room_ids[:5]]
    urls += [f"/views/rack/{r}" for r in racks[:10]]
    return urls


async def get(host, port, path, stats):
    t = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        writer.write(f"GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "garbled"
        stats["status"][status] += 1
        if not status.startswith("2") and not status.startswith("3"):
            stats["errors"][f"http {status}"] += 1
    except Exception as e:  # noqa: BLE001 - every failure is counted by kind
        stats["errors"][type(e).__name__] += 1
    stats["lat"].append(time.monotonic() - t)


async def sse_client(host, port, stats, stop):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET /events HTTP/1.1\r\nhost: {host}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n")[0]:
                stats["errors"]["sse refused"] += 1
                writer.close()
                await asyncio.sleep(5)
                continue
            stats["sse_open"] += 1
            try:
                while not stop.is_set():
                    line = await asyncio.wait_for(reader.readline(), 60)
                    if not line:
                        break
                    if line.startswith(b"data:"):
                        stats["events"] += 1
            finally:
                stats["sse_open"] -= 1
                writer.close()
        except Exception as e:  # noqa: BLE001
            stats["errors"][f"sse {type(e).__name__}"] += 1
            await asyncio.sleep(1)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--prometheus-pid", type=int, required=True)
    p.add_argument("--minutes", type=int, default=10)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--sse", type=int, default=200)
    a = p.parse_args()
    host, port = a.base.split("//")[1].split(":")
    port = int(port)
    urls = targets(a.base)
    stats = {"status": Counter(), "errors": Counter(), "lat": [], "sse_open": 0, "events": 0}
    stop = asyncio.Event()
    clients = [asyncio.create_task(sse_client(host, port, stats, stop)) for _ in range(a.sse)]
    outage = (a.minutes * 60 * 2 // 5, a.minutes * 60 * 3 // 5)
    print(f"{len(urls)} read targets, {a.rate:.0f} reads/s, {a.sse} SSE clients; "
          f"Prometheus stopped from {outage[0]} s to {outage[1]} s")
    print("min  reads  errors  p50_ms  p99_ms  sse_open  events  rss_mib  notes")
    start = time.monotonic()
    next_report, minute, rss_warm, paused = start + 60, 0, None, False
    pending = set()
    i = 0
    while minute < a.minutes:
        now = time.monotonic()
        el = now - start
        if not paused and outage[0] <= el < outage[1]:
            os.kill(a.prometheus_pid, signal.SIGSTOP)
            paused = True
        elif paused and el >= outage[1]:
            os.kill(a.prometheus_pid, signal.SIGCONT)
            paused = False
        target = start + i / a.rate
        if target > now:
            await asyncio.sleep(target - now)
        t = asyncio.create_task(get(host, port, random.choice(urls), stats))
        pending.add(t)
        t.add_done_callback(pending.discard)
        i += 1
        if time.monotonic() >= next_report:
            minute += 1
            lat = sorted(stats["lat"]) or [0]
            rss = rss_mib(a.pid)
            if minute == 1:
                rss_warm = rss
            errs = sum(stats["errors"].values())
            note = "prometheus stopped" if paused else ""
            if stats["errors"]:
                note += " " + ", ".join(f"{k}: {v}" for k, v in stats["errors"].most_common(4))
            print(f"{minute:>3}  {sum(stats['status'].values()):>5}  {errs:>6}  "
                  f"{lat[len(lat) // 2] * 1000:>6.1f}  {lat[int(len(lat) * 0.99)] * 1000:>6.1f}  "
                  f"{stats['sse_open']:>8}  {stats['events']:>6}  {rss:>7.1f}  {note}", flush=True)
            stats["status"].clear()
            stats["errors"].clear()
            stats["lat"].clear()
            stats["events"] = 0
            next_report += 60
    stop.set()
    for c in clients:
        c.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    rss_end = rss_mib(a.pid)
    drift = (rss_end - rss_warm) / rss_warm * 100
    verdict = "within" if abs(drift) <= 10 else "OUTSIDE"
    print(f"RSS after warm-up {rss_warm:.1f} MiB, at the end {rss_end:.1f} MiB "
          f"({drift:+.1f} %, {verdict} the 10 % bound)")


if __name__ == "__main__":
    asyncio.run(main())
