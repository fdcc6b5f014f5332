#!/usr/bin/env python3
"""The dashboard with many routes in headless Chromium: time until the page is rendered and
answers a filter keystroke, and the page's main-thread CPU while idle and under traffic with
live updates on. Driven by bench/dashboard.sh (which starts portier); needs selenium
(pip install selenium) and chromium + chromium-driver."""
import json, statistics, sys, threading, time, urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

web, http, routes = sys.argv[1], sys.argv[2], int(sys.argv[3])
idle_s = float(sys.argv[4]) if len(sys.argv) > 4 else 30

opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,900"]:
    opts.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
d.execute_cdp_cmd("Performance.enable", {})

def wait(js, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        v = d.execute_script(js)
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for: {js}")

def metrics():
    return {x["name"]: x["value"] for x in d.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}

def task_ms():
    return metrics()["TaskDuration"] * 1000

PARTS = ["ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration"]

def per_second(a, b, secs):
    return {k.replace("Duration", ""): round((b[k] - a[k]) * 1000 / secs, 2) for k in PARTS}

try:
    url = f"http://{web}/dashboard/"
    rendered, filtered = [], []
    for _ in range(5):
        d.get("about:blank")
        d.get(url)
        t = wait("return performance.getEntriesByName('portier:rendered')[0]?.startTime")
        rows = d.execute_script("return document.querySelectorAll('#frontends tbody tr').length")
        assert rows >= routes, f"{rows} rows rendered, {routes} expected"
        rendered.append(t)
        # Interactive: a filter keystroke narrows the rows within one frame.
        f = d.execute_async_script("""
            const done = arguments[0];
            const input = document.querySelector('#filter');
            const t0 = performance.now();
            input.value = 'gen-09';
            input.dispatchEvent(new Event('input'));
            requestAnimationFrame(() => requestAnimationFrame(() => {
              const shown = [...document.querySelectorAll('#frontends tbody tr')].filter(r => !r.hidden).length;
              done([performance.now() - t0, shown]);
            }));""")
        filtered.append(f[0])
        assert f[1] < rows, f"the filter did not narrow: {f}"
    live = d.execute_script("return document.querySelector('#live').textContent")
    # Idle with live updates: main-thread task time per second.
    d.execute_script("document.querySelector('#filter').value = ''; document.querySelector('#filter').dispatchEvent(new Event('input'))")
    time.sleep(3)
    a = metrics(); time.sleep(idle_s); b = metrics()
    idle = per_second(a, b, idle_s)
    live_after_idle = d.execute_script("return document.querySelector('#live').textContent")
    # Under traffic: 10 routes answered continuously, so counts move every second.
    stop = threading.Event()
    sent = [0]
    def load():
        while not stop.is_set():
            for i in range(10):
                req = urllib.request.Request(f"http://{http}/", headers={"Host": f"gen-{i:04}.local"})
                try:
                    urllib.request.urlopen(req, timeout=5).read()
                except Exception:
                    pass
                sent[0] += 1
            time.sleep(0.05)
    th = threading.Thread(target=load); th.start()
    time.sleep(3)
    a = metrics(); t0 = time.time(); time.sleep(idle_s); b = metrics(); busy_s = time.time() - t0
    stop.set(); th.join()
    busy = per_second(a, b, busy_s)
    live_after_load = d.execute_script("return document.querySelector('#live').textContent")
    print(json.dumps({
        "routes": routes,
        "rendered_ms": {"median": round(statistics.median(rendered)), "max": round(max(rendered)), "runs": [round(x) for x in rendered]},
        "filter_ms": {"median": round(statistics.median(filtered), 1), "max": round(max(filtered), 1)},
        "idle_main_thread_ms_per_s": idle,
        "loaded_main_thread_ms_per_s": busy,
        "requests_during_load": sent[0],
        "live_badge": [live, live_after_idle, live_after_load],
    }, indent=1))
finally:
    d.quit()
