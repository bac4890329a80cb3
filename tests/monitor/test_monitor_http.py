"""The Monitor without a browser: its JSON endpoints (Starlette's TestClient), the snapshots against the job's
own histograms (inline and on processes), localhost-only and token access, address errors, clean ends."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the monitor needs hepreco[monitor] (starlette, uvicorn)")
pytest.importorskip("uvicorn", reason="the monitor needs hepreco[monitor] (starlette, uvicorn)")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its TestClient and warns with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import hepreco
from hepreco.errors import ConfigError
from hepreco.monitor.server import MonitorServer, make_app, parse_address
from hepreco.monitor.state import MonitorState

LOCAL = "http://127.0.0.1"  # a loopback Host header: what a browser on this machine sends


def client(state: MonitorState, *, local: bool = True, token: str | None = None) -> TestClient:
    return TestClient(make_app(state, local=local, token=token), base_url=LOCAL)


def uhi_values(entry: dict[str, Any]) -> np.ndarray:
    return np.asarray(entry["storage"]["values"], dtype=float)


def monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hepreco-monitor"]


# --- addresses -----------------------------------------------------------------------------------------
def test_parse_address_forms_and_errors():
    assert parse_address("8765") == ("127.0.0.1", 8765)
    assert parse_address("localhost:0") == ("localhost", 0)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("", "http://x:1", "host:", "host:port", "70000", ":80", "a b:1"):
        with pytest.raises(ValueError, match=r"\[HOST:\]PORT"):
            parse_address(bad)


@pytest.mark.slow  # spawns processes
def test_bad_monitor_flag_says_the_form(tmp_path, monitor_job):
    cfg = tmp_path / "job.yaml"
    cfg.write_text(json.dumps(monitor_job(10)))
    proc = subprocess.run(
        [sys.executable, "-m", "hepreco", "run", str(cfg), "--monitor", "localhost:http"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "[HOST:]PORT" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow  # spawns processes
def test_without_the_extra_the_monitor_names_it(tmp_path, monitor_job):
    cfg = tmp_path / "job.yaml"
    cfg.write_text(json.dumps(monitor_job(10)))
    block = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('starlette', 'uvicorn'):\n"
        "            raise ModuleNotFoundError(name, name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from hepreco.cli import main\n"
        f"sys.exit(main(['run', {str(cfg)!r}, '--monitor', '0']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "pip install 'hepreco[monitor]'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_port_in_use_names_the_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is in use"):
            MonitorServer(MonitorState("x"), f"127.0.0.1:{port}")


def test_bad_address_in_config_is_a_config_error(monitor_job):
    with pytest.raises(ConfigError, match=r"\[HOST:\]PORT"):
        hepreco.prepare(monitor_job(10, monitor={"address": "here:there"}), quiet=True)


# --- the job's histograms, reports and progress ---------------------------------------------------------
def test_inline_job_snapshots_equal_the_jobs_histograms(monitor_job):
    plan = hepreco.prepare(monitor_job(1000, monitor={}), quiet=True)
    result = hepreco.execute(plan)
    state = plan.services["Monitor"].state
    assert not monitor_threads(), "the server's thread outlived the job"
    with client(state) as c:
        status = c.get("/api/status").json()
        body = c.get("/api/histograms").json()
    assert status["finished"] and status["progress"]["events"] == 1000 == result.events
    assert status["progress"]["total"] == 1000 and status["progress"]["chunks_done"] == 1
    assert {h["name"] for h in status["histograms"]} == {"h_x/h_x", "h_xy/h_xy"}
    assert "TrigReport Events total = 1000" in status["reports"]["trig_text"]
    assert "TimeReport" in status["reports"]["time_text"]
    assert status["reports"]["trig"]["paths"]["p"]["passed"] == 1000
    for name in ("h_x", "h_xy"):
        h = result.histograms[name][name]
        shown = uhi_values(body["histograms"][f"{name}/{name}"]["h"])
        np.testing.assert_array_equal(shown, h.values(flow=True))
    assert body["events"] == 1000


def test_snapshots_follow_the_job_while_it_runs(monitor_job):
    """Every snapshot holds the histograms of exactly the events processed when it was taken."""
    plan = hepreco.prepare(monitor_job(800, monitor={"interval": 0.0}), quiet=True)
    seen: list[tuple[int, np.ndarray]] = []
    svc = plan.services["Monitor"]
    orig = svc.watch_progress

    def spy(batch: Any) -> None:
        orig(batch)
        st = svc.state
        seen.append((st.progress["events"], st.histogram("h_x/h_x").values(flow=True).copy()))

    svc.watch_progress = spy  # type: ignore[method-assign]
    hepreco.execute(plan)
    events = [e for e, _ in seen]
    assert events == sorted(events) and events[-1] == 800 and len(set(events)) >= 8
    for n, values in seen[::3]:
        if n == 0:
            continue
        expected = hepreco.run(monitor_job(n), quiet=True).histograms["h_x"]["h_x"].values(flow=True)
        np.testing.assert_array_equal(values, expected)


@pytest.fixture(scope="module")
def dask_scheduler() -> Any:
    """A LocalCluster of 2 single-threaded worker processes for the Dask case."""
    import logging

    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.mark.slow  # spawns processes
@pytest.mark.parametrize("kind", ["processes", "dask"])
def test_pool_job_shows_merged_histograms_as_chunks_arrive(monitor_job, request, monkeypatch, kind):
    """One snapshot per merged chunk; the running counts are the chunks submitted and not finished; the event
    display is the first event of the last batch of the chunk that arrived last (sent back by its worker)."""
    from hepreco.executors._chunked import Backend

    executor: dict[str, Any] = {"kind": kind, "workers": 2, "chunk_size": 200}
    if kind == "dask":
        executor["scheduler"] = request.getfixturevalue("dask_scheduler")
        del executor["workers"]
        from hepreco.executors.dask import _Cluster as backend_class
    else:
        from hepreco.executors.processes import _Pool as backend_class
    submitted: list[int] = []
    submit = backend_class.submit

    def counting_submit(self: Backend, task: Any) -> Any:
        assert task.sample is not None and ("x", "y", "e") in task.sample.fields  # the displays' products
        submitted.append(task.index)
        return submit(self, task)

    monkeypatch.setattr(backend_class, "submit", counting_submit)
    cfg = monitor_job(1200, monitor={"interval": 0.0}, executor=executor)
    plan = hepreco.prepare(cfg, quiet=True)
    svc = plan.services["Monitor"]
    waiting: list[tuple[int, int]] = []  # while the client waits (between snapshots): (shown, expected)
    wait = backend_class.wait

    def watched_wait(self: Backend, futures: Any) -> Any:
        prog = svc.state.status_json()["progress"]
        waiting.append((prog["running"], len(submitted) - prog["chunks_done"]))
        return wait(self, futures)

    monkeypatch.setattr(backend_class, "wait", watched_wait)
    seen: list[tuple[int, int, float]] = []
    running: list[tuple[int, int, int]] = []
    displayed: list[tuple[int, list[int], int]] = []
    orig = svc.watch_progress

    def spy(batch: Any) -> None:
        orig(batch)
        st = svc.state
        h = st.histogram("h_x/h_x") if "h_x/h_x" in st.histograms else None
        done = sum(r["chunks"] for r in st.progress["rows"].values())
        seen.append((st.progress["events"], done, h.sum() if h else 0))
        prog = st.status_json()["progress"]
        row = prog["rows"][st.status.executor]
        running.append((prog["running"], row["running"], len(submitted) - done))
        d = st.display("toy.xy")
        displayed.append((batch.chunk, d["event"], len(d["panels"][0]["x"])))

    svc.watch_progress = spy  # type: ignore[method-assign]
    result = hepreco.execute(plan)
    assert [c for _, c, _ in seen] == list(range(1, 7)), seen  # one snapshot per merged chunk
    events = [e for e, _, _ in seen]  # merged in chunk order: a chunk that finishes early waits for those before
    assert events == sorted(events) and events[-1] == 1200 and all(e % 200 == 0 for e in events)
    sums = [s for _, _, s in seen]
    assert sums == sorted(sums) and sums[-1] > 0  # 0 while chunk 0 is not merged yet
    # running: submitted and not finished, the same in the total and in the executor's row
    assert all(total == row == expected for total, row, expected in running), running
    assert running[-1][0] == 0 and max(r for r, _, _ in running) >= 1
    assert all(shown == expected for shown, expected in waiting) and waiting[0][0] >= 2, waiting
    if kind == "dask":  # every chunk is submitted at once
        assert [r for r, _, _ in running] == [5, 4, 3, 2, 1, 0] and waiting[0] == (6, 6)
    # the display: event 200 i + 101 (event numbers start at 1; batches of 100) of chunk i, drawn on the client
    assert sorted(c for c, _, _ in displayed) == list(range(6))
    for chunk, event, hits in displayed:
        assert event == [1, 0, 200 * chunk + 101] and hits == event[2] % 7 + 1
    with client(svc.state) as c:
        body = c.get("/api/histograms").json()
        status = c.get("/api/status").json()
        assert [d["name"] for d in status["displays"]] == ["toy.xy"]
        shown = c.get("/api/display/toy.xy").json()
    np.testing.assert_array_equal(
        uhi_values(body["histograms"]["h_x/h_x"]["h"]), result.histograms["h_x"]["h_x"].values(flow=True)
    )
    assert status["progress"]["chunks"] == 6 and status["progress"]["chunks_failed"] == 0
    assert status["progress"]["running"] == 0
    assert shown["chunk"] == displayed[-1][0] and shown["panels"][0]["x"]


def test_take_sample_keeps_one_event_of_the_products_asked_for():
    import awkward as ak

    from hepreco.core.events import EventIDs, ProductStore
    from hepreco.core.sample import EventSample, SampleRequest, take_sample

    ids = EventIDs(np.ones(3, np.uint32), np.zeros(3, np.uint32), np.array([7, 8, 9], np.uint64))
    store = ProductStore(ids)
    hits = ak.Array([[{"x": 1.0, "y": 2.0, "e": 3.0}], [], [{"x": 4.0, "y": 5.0, "e": 6.0}] * 2])
    store.add("hits", "", hits, None)
    store.add("reco", "tracks", ak.Array([[{"a": 1}], [], []]), None)  # no display draws it
    store.add("imager", "adc_W", ak.Array(np.arange(3 * 4 * 5.0).reshape(3, 4, 5)), None)
    store.add("sel", "hits", hits[[0, 2]], np.array([0, 2]))  # put after a filter: option type
    request = SampleRequest(fields=(("x", "y", "e"),)) | SampleRequest(products=("adc_W",))
    sample = take_sample(store, request, chunk=4)
    assert sample is not None and sample.error is None and sample.chunk == 4
    assert list(sample.products) == ["hits", "imager:adc_W", "sel:hits"]
    assert all(len(a) == 1 for a in sample.products.values()) and sample.ids.event.tolist() == [7]
    assert sample.products["hits"].tolist() == [[{"x": 1.0, "y": 2.0, "e": 3.0}]]
    np.testing.assert_array_equal(np.asarray(sample.products["imager:adc_W"][0]), np.arange(20.0).reshape(4, 5))

    class Broken(ProductStore):
        def get(self, tag: Any, view: Any) -> Any:
            raise RuntimeError("unreadable")

    bad = Broken(ids)
    bad.add("hits", "", hits, None)
    failed = take_sample(bad, request, chunk=2)  # never raises: the error is the sample's
    assert isinstance(failed, EventSample) and "unreadable" in (failed.error or "") and not failed.products
    assert take_sample(None, request) is None


def _journaled(tmp_path: Path, monitor_job: Any, **monitor: Any) -> dict[str, Any]:
    """The toy job chunk by chunk in this process (inline with a journal: the pools' code path), with the
    broken display's product."""
    cfg = monitor_job(600, monitor=monitor or None)
    cfg["executor"] = {"kind": "inline", "chunk_size": 200, "journal": str(tmp_path / "journal")}
    cfg["modules"]["boom"] = {"module": "MonitorBoomHits"}
    cfg["paths"]["p"].append("boom")
    return cfg


def test_no_sample_without_a_monitor(tmp_path, monitor_job, monkeypatch):
    import hepreco.core.sample as sample

    taken: list[int] = []
    take = sample.take_sample
    monkeypatch.setattr(sample, "take_sample", lambda *a, **k: taken.append(k["chunk"]) or take(*a, **k))
    hepreco.run(_journaled(tmp_path / "a", monitor_job), quiet=True)
    assert taken == []  # no watcher asked: nothing taken
    hepreco.run(_journaled(tmp_path / "b", monitor_job, interval=0.0), quiet=True)
    assert taken == [0, 1, 2]  # one event per chunk


def test_a_failing_display_or_sample_is_shown_not_raised(tmp_path, monitor_job):
    from hepreco.core.sample import EventSample

    plan = hepreco.prepare(_journaled(tmp_path, monitor_job, interval=0.0), quiet=True)
    result = hepreco.execute(plan)
    assert result.events == 600
    state = plan.services["Monitor"].state
    with client(state) as c:
        assert {d["name"] for d in c.get("/api/status").json()["displays"]} == {"toy.xy", "toy.broken"}
        broken = c.get("/api/display/toy.broken")
        good = c.get("/api/display/toy.xy").json()
    assert broken.status_code == 200
    assert broken.json()["kind"] == "error" and "this display always fails" in broken.json()["error"]
    assert good["event"] == [1, 0, 501] and good["chunk"] == 2
    state.tick(EventSample(chunk=3, error="no event sample from chunk 3: boom"))  # a worker could not take one
    with client(state) as c:
        listed = c.get("/api/status").json()["displays"]
        assert {
            "name": "event-sample",
            "title": "event sample",
            "error": "no event sample from chunk 3: boom",
        } in listed
        assert c.get("/api/display/toy.xy").json()["event"] == [1, 0, 501]  # the last good sample stays


@pytest.mark.parametrize("fails", [False, True])
def test_linger_only_after_a_job_that_ended_well(monitor_job, monkeypatch, fails):
    import hepreco.monitor.service as service

    slept: list[float] = []
    monkeypatch.setattr(service.time, "sleep", slept.append)
    cfg = monitor_job(1000, monitor={"linger": 7.0})
    if fails:
        cfg["modules"]["boom"] = {"module": "MonitorFailAt", "batch": 3}
        cfg["end_paths"]["e"].append("boom")
    plan = hepreco.prepare(cfg, quiet=True)
    if fails:
        with pytest.raises(hepreco.ModuleError, match="MonitorFailAt"):
            hepreco.execute(plan)
    else:
        hepreco.execute(plan)
    assert [s for s in slept if s > 0] == ([] if fails else [7.0])  # the throttle sleeps 0 s
    assert not monitor_threads() and plan.services["Monitor"].server is None
    status = plan.services["Monitor"].state.status_json()
    assert status["finished"] and status["progress"]["events"] == (200 if fails else 1000)


def test_event_display_of_the_last_batch(monitor_job):
    plan = hepreco.prepare(monitor_job(300, monitor={}), quiet=True)
    hepreco.execute(plan)
    state = plan.services["Monitor"].state
    with client(state) as c:
        names = [d["name"] for d in c.get("/api/status").json()["displays"]]
        assert "toy.xy" in names
        d = c.get("/api/display/toy.xy").json()
        assert c.get("/api/display/nope").status_code == 404
    assert d["kind"] == "scatter" and d["product"] == "hits"
    event = d["event"][2]
    assert len(d["panels"][0]["x"]) == event % 7 + 1


def test_image_display_is_sent_as_bytes():
    state = MonitorState("img")
    img = np.arange(600 * 3000, dtype=np.float32).reshape(600, 3000)
    state.fixed_displays["big"] = {"kind": "image", "image": img, "title": "big"}
    with client(state) as c:
        meta = c.get("/api/display/big").json()
        data = c.get("/api/display/big/image").content
    assert (meta["height"], meta["width"]) == (600, 3000) and meta["vmin"] == 0.0
    px = np.frombuffer(data, dtype=np.uint8).reshape(600, 3000)
    assert px[0, 0] == 0 and px[-1, -1] == 255


# --- who may connect --------------------------------------------------------------------------------
def test_local_monitor_refuses_other_hosts():
    state = MonitorState("x")
    with client(state) as c:
        assert c.get("/api/status").status_code == 200
        assert c.get("/").status_code == 200 and "hepreco" in c.get("/").text
        r = c.get("/api/status", headers={"host": "evil.example.com"})
        assert r.status_code == 403 and "Host" in r.text
    with TestClient(make_app(state, local=True, token=None), base_url="http://localhost:8765") as c:
        assert c.get("/api/status").status_code == 200


def test_token_required_when_bound_elsewhere():
    state = MonitorState("x")
    with TestClient(make_app(state, local=False, token="s3cret"), base_url="http://example.org") as c:
        assert c.get("/").status_code == 403
        assert c.get("/api/status?token=wrong").status_code == 403
        assert c.get("/?token=s3cret").status_code == 200
        assert c.get("/api/status", headers={"X-Hepreco-Token": "s3cret"}).status_code == 200


def test_a_server_bound_elsewhere_makes_a_token():
    server = MonitorServer(MonitorState("x"), "0.0.0.0:0")
    try:
        assert not server.local and server.token and f"?token={server.token}" in server.url
    finally:
        server.stop()
    local = MonitorServer(MonitorState("x"), "127.0.0.1:0")
    try:
        assert local.local and local.token is None and "token" not in local.url
    finally:
        local.stop()


def _outside_address() -> str | None:
    """An address of this machine that is not loopback, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def test_local_monitor_cannot_be_reached_from_outside():
    import httpx

    server = MonitorServer(MonitorState("x"), "127.0.0.1:0")
    server.start()
    try:
        assert server.sock.getsockname()[0] == "127.0.0.1"
        assert httpx.get(f"http://127.0.0.1:{server.port}/api/status", timeout=10).status_code == 200
        ip = _outside_address()
        if ip is None:
            pytest.skip("this machine has no non-loopback address to connect through")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{ip}:{server.port}/api/status", timeout=5)
    finally:
        server.stop()
    assert not monitor_threads()


# --- clean ends ---------------------------------------------------------------------------------------
def _start_job(tmp_path: Path, config: dict, *extra: str) -> tuple[subprocess.Popen, str]:
    cfg = tmp_path / "job.yaml"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hepreco", "run", str(cfg), "--monitor", "127.0.0.1:0", "--no-reports", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr is not None
    t0 = time.monotonic()
    lines = []
    while time.monotonic() - t0 < 120:
        line = proc.stderr.readline()
        lines.append(line)
        if "monitor at " in line:
            return proc, line.split("monitor at ", 1)[1].split()[0]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail("the job printed no monitor URL:\n" + "".join(lines))


@pytest.mark.slow
def test_job_ends_cleanly_with_a_client_connected(tmp_path, monitor_job):
    import httpx

    proc, url = _start_job(tmp_path, monitor_job(2000, throttle=0.05))
    polls = 0
    with httpx.Client(timeout=5) as c:  # keep-alive: one connection held open for the whole job
        while proc.poll() is None:
            try:
                c.get(url + "api/status")
                c.get(url + "api/histograms")
                polls += 1
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Error" not in err, err
    assert polls > 3
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "api/status", timeout=2)


@pytest.mark.slow
@pytest.mark.parametrize(("signal_name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_interrupted_job_stops_the_monitor(tmp_path, signal_name, code, monitor_job):
    import signal

    import httpx

    proc, url = _start_job(tmp_path, monitor_job(100000, throttle=0.05))
    with httpx.Client(timeout=5) as c:
        assert c.get(url + "api/status").status_code == 200
        proc.send_signal(getattr(signal, signal_name))
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err, err
    with pytest.raises(httpx.ConnectError):  # nothing listens there any more
        httpx.get(url + "api/status", timeout=2)
    port = int(url.rsplit(":", 1)[1].strip("/"))
    server = MonitorServer(MonitorState("again"), f"127.0.0.1:{port}")  # the port can be served again at once
    server.stop()


# --- finished files -------------------------------------------------------------------------------------
def test_monitor_files_compares_with_a_reference(tmp_path):
    import hist

    from hepreco.monitor.files import load_files
    from hepreco.services.histograms import write_histograms
    from hepreco.services.results import Graph

    def h(scale: float) -> Any:
        out = hist.Hist.new.Reg(10, 0, 1, name="x").Weight()
        out.fill(np.linspace(0.05, 0.95, 10), weight=scale)
        return out

    graph = Graph([0.0, 0.5, 1.0], [0.0, 0.7, 1.0])
    ref_graph = Graph([0.0, 0.25, 0.5, 1.0], [0.0, 0.2, 0.6, 1.0], title="the reference's ROC")
    write_histograms(
        tmp_path / "new.root",
        {"mod": {"h": h(2.0), "only_new": h(1.0)}},
        {"mod": {"roc": graph, "eff": graph}},
    )
    write_histograms(tmp_path / "ref.root", {"mod": {"h": h(1.0)}}, {"mod": {"roc": ref_graph}, "other": {"g": graph}})
    state = load_files(tmp_path / "new.root", tmp_path / "ref.root")
    with client(state) as c:
        status = c.get("/api/status").json()
        body = c.get("/api/histograms").json()
    assert status["mode"] == "compare" and status["finished"]
    assert {x["name"]: x["ref"] for x in status["histograms"]} == {"mod/h": True, "mod/only_new": False}
    new, ref = body["histograms"]["mod/h"]["h"], body["histograms"]["mod/h"]["ref"]
    np.testing.assert_allclose(uhi_values(new)[1:-1], 2 * uhi_values(ref)[1:-1])
    assert body["graphs"]["results/mod/roc"]["y"] == [0.0, 0.7, 1.0]
    # a graph in both files carries the reference's (drawn dashed under it, with the ratio); one only here not
    assert body["graphs"]["results/mod/roc"]["ref"]["x"] == [0.0, 0.25, 0.5, 1.0]
    assert body["graphs"]["results/mod/roc"]["ref"]["y"] == [0.0, 0.2, 0.6, 1.0]
    assert "ref" not in body["graphs"]["results/mod/eff"] and "results/other/g" not in body["graphs"]
    assert status["graphs"] == ["results/mod/eff", "results/mod/roc"] and status["graph_refs"] == ["results/mod/roc"]


def test_monitor_files_shows_histograms_and_displays_of_a_jobs_files(tmp_path, monitor_job):
    from hepreco.monitor.files import load_files

    cfg = monitor_job(500)
    cfg["modules"]["out"] = {"module": "RootOutput", "file": str(tmp_path / "events.root"), "keep": ["hits"]}
    cfg["end_paths"]["save"] = ["out"]
    cfg["services"]["Histograms"] = {"file": str(tmp_path / "hists.root")}
    result = hepreco.run(cfg, quiet=True)
    with client(load_files(tmp_path / "hists.root")) as c:
        body = c.get("/api/histograms").json()
    np.testing.assert_array_equal(
        uhi_values(body["histograms"]["h_x/h_x"]["h"]), result.histograms["h_x"]["h_x"].values(flow=True)
    )
    with client(load_files(tmp_path / "events.root")) as c:
        assert [d["name"] for d in c.get("/api/status").json()["displays"]] == ["toy.xy"]
        d = c.get("/api/display/toy.xy").json()
    assert d["event"] == [1, 0, 1] and len(d["panels"][0]["x"]) == 1 % 7 + 1


@pytest.mark.slow
def test_monitor_command_serves_a_file_until_ctrl_c(tmp_path):
    import signal

    import hist
    import httpx

    from hepreco.services.histograms import write_histograms

    h = hist.Hist.new.Reg(5, 0, 1, name="x").Double()
    h.fill([0.1, 0.2, 0.9])
    write_histograms(tmp_path / "a.root", {"mod": {"h": h}})
    proc = subprocess.Popen(
        [sys.executable, "-m", "hepreco", "monitor", str(tmp_path / "a.root"), "--ref", str(tmp_path / "a.root"),
         "--address", "127.0.0.1:0"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "monitor at http://127.0.0.1:" in line and "1 histogram" in line, line
    url = line.split("monitor at ", 1)[1].split()[0]
    status = httpx.get(url + "api/status", timeout=10).json()
    assert status["mode"] == "compare" and status["histograms"] == [{"name": "mod/h", "dim": 1, "ref": True}]
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_monitor_files_missing_file_is_a_clear_error(tmp_path):
    from hepreco.monitor.files import load_files

    with pytest.raises(ConfigError, match="no such file"):
        load_files(tmp_path / "nope.root")


# --- cheap to import --------------------------------------------------------------------------------
@pytest.mark.slow  # spawns processes
def test_importing_hepreco_and_help_load_no_web_server():
    code = (
        "import sys, hepreco\n"
        "assert not [m for m in sys.modules if m.startswith('hepreco.monitor')]\n"
        "import hepreco.cli\n"
        "hepreco.cli.build_parser()\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'httpx', 'anyio', 'numpy')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout
