"""Kill/resume chaos: the job orchestrator's promise, checked from the emulator's side.

A trial: the emulator in its own process (``python -m voiceapi_async.emulator``) with
faults on every API request -- 10 % answered 500/502/503, 5 % of connections reset (half
before the server acts, half after it acted) and bursts of 429 armed at random moments --
and the CLI (``voiceapi-async convert``) on N tiny WAV files, SIGKILLed K times at random
moments (a random number of requests into each run).  Then one run with the faults still
on, and a last one with the faults off.  Checked from the emulator's store and counters,
never from the client's word:

- every input uploaded exactly once and whole, converted exactly once (one order per
  original, one conversion paid per input);
- every conversion delivered exactly once into the output folder, byte for byte what the
  emulator serves for it, with no partial or stray file left;
- the journal agrees: every item done, with the ids the emulator gave, the sizes on disk.

Before the trials (``--no-locks`` skips it): ``plan --out D``, ``convert --dry-run``,
``tts --dry-run``, runs stopped on an unknown or near voice name and runs with a bad
option each leave nothing in D, and the corrected command then completes there.

    .venv/bin/python scripts/chaos.py                        # 20 trials x 200 files, 5 kills each
    .venv/bin/python scripts/chaos.py --trials 2 --files 30  # a quick look
    .venv/bin/python scripts/chaos.py --trial-seed 123 --keep  # replay one trial, keep its folder

Each trial prints its seed; files, fault dice and kill points follow from it (the kill
moments also depend on timing, so a replay is close to, not identical with, the original).
Exit status 1 when any check failed.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import wave
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceapi_async.jobs import JOURNAL_NAME, read_journal  # noqa: E402

FAULTS: dict[str, Any] = {
    "error_rate": 0.10,
    "reset_before_rate": 0.025,
    "reset_after_rate": 0.025,
    "burst_429_retry_after": 1.0,
}
REPORTS = ("report.json", "report.csv")
FAST_POLL = ("--poll-interval", "0.05")  # conversions take 0.05-0.1 s here
RUN_TIMEOUT = 600.0
#: What the last line adds up over the trials.
TOTALS = [
    "kills",
    "dup_uploads",
    "dup_orders",
    "paid_twice",
    "lost",
    "truncated",
    "journal_mismatch",
    "stray",
    "errors_5xx",
    "resets",
    "bursts_429",
]


class EmulatorProcess:
    """The emulator in a process of its own, driven through its ``/_emulator/...`` admin routes."""

    def __init__(self, seed: int, log: IO[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voiceapi_async.emulator", "--port", "0", "--seed", str(seed),
             "--processing-delay", "0.05", "--fast-limit", "1000000/1", "--slow-limit", "1000000/1"],
            stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("to use it:"):  # "to use it: export VOICEAPI_BASE_URL=... VOICEAPI_API_KEY=..."
                env = dict(word.split("=", 1) for word in line.split()[4:])
                self.env = {"VOICEAPI_BASE_URL": env["VOICEAPI_BASE_URL"], "VOICEAPI_API_KEY": env["VOICEAPI_API_KEY"]}
                break
        else:
            raise RuntimeError(f"the emulator did not start (exit {self.proc.wait()})")
        self.base_url = self.env["VOICEAPI_BASE_URL"]

    def call(self, method: str, path: str, body: Any = None, *, api: bool = False) -> Any:
        return json.loads(self.get_bytes(path, method=method, body=body, api=api))

    def get_bytes(self, path: str, *, method: str = "GET", body: Any = None, api: bool = True) -> bytes:
        headers = {"content-type": "application/json"}
        if api:
            headers["api-key"] = self.env["VOICEAPI_API_KEY"]
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            body_bytes: bytes = response.read()
            return body_bytes

    def counters(self) -> dict[str, Any]:
        counters: dict[str, Any] = self.call("GET", "/_emulator/counters")
        return counters

    def set_faults(self, **faults: Any) -> None:
        self.call("POST", "/_emulator/faults", faults)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_inputs(root: Path, n: int, rng: random.Random) -> dict[str, bytes]:
    """``n`` tiny mono WAVs (50-300 ms of noise at 8 kHz) in 4 subfolders, names unique across them."""
    files = {}
    for i in range(n):
        path = root / f"d{i % 4}" / f"take-{i:04d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(rng.randbytes(2 * rng.randint(400, 2400)))
        files[path.name] = path.read_bytes()
    return files


def cli(emu: EmulatorProcess, args: list[str], log: IO[str]) -> subprocess.Popen[bytes]:
    log.write(f"\n$ voiceapi-async {' '.join(args)}\n")
    log.flush()
    return subprocess.Popen(
        [sys.executable, "-m", "voiceapi_async._cli", *args],
        env={**os.environ, **emu.env, "NO_COLOR": "1"}, cwd=ROOT,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def wait(proc: subprocess.Popen[bytes], log: IO[str]) -> int:
    try:
        code = proc.wait(RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = -999
    log.write(f"[exit {code}]\n")
    return code


def run_cli(emu: EmulatorProcess, args: list[str], log: IO[str]) -> int:
    return wait(cli(emu, args, log), log)


def faulted_run(emu: EmulatorProcess, args: list[str], log: IO[str], rng: random.Random, kill_after: int | None) -> str:
    """One run under faults, a burst of 2-10 429s in its first 3 s, then every 7-25 s; SIGKILLed ``kill_after`` requests in (if it lasts).

    Returns ``exit N`` or ``killed@uU/oO/dD``: the server's uploads, orders and downloads so far.
    """
    start = time.monotonic()
    target = emu.counters()["requests_total"] + kill_after if kill_after is not None else None
    next_burst = start + rng.uniform(0.0, 3.0)
    proc = cli(emu, args, log)
    while proc.poll() is None:
        now = time.monotonic()
        if now - start > RUN_TIMEOUT:
            break
        if target is not None and emu.counters()["requests_total"] >= target:
            time.sleep(rng.uniform(0, 0.02))  # not always right on a poll's heels
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                c = emu.counters()  # where the kill landed: uploads, orders, downloads the server had seen
                where = f"u{c['uploads_total']}/o{c['orders_total']}/d{c['requests_by_route'].get('files.get', 0)}"
                log.write(f"[SIGKILL at {where}]\n")
                return f"killed@{where}"
        if now >= next_burst:  # the next one well after this one is over (each 429 asks for 1 s)
            burst = rng.randint(2, 10)
            emu.set_faults(**FAULTS, burst_429=burst, seed=rng.getrandbits(32))
            next_burst = now + burst + rng.uniform(5.0, 15.0)
        time.sleep(0.01)
    return f"exit {wait(proc, log)}"


def left_to_do(emu: EmulatorProcess, files: int) -> int:
    """About how many requests a run still has to make (a kill target is drawn below it)."""
    c = emu.counters()
    routes = c["requests_by_route"]
    done = int(c["uploads_total"]) + int(c["orders_total"]) + int(routes.get("files.get", 0))
    return max(10, 3 * files - done) + 20


def trial(seed: int, files: int, kills: int, work: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    inputs = make_inputs(work / "in", files, rng)
    out = work / "out"
    with open(work / "log.txt", "w") as log:
        emu = EmulatorProcess(seed, log)
        try:
            voice = first_voice(emu)
            args = ["convert", str(work / "in"), "--voice", voice, "--out", str(out), "--plain", *FAST_POLL]
            emu.set_faults(**FAULTS, seed=rng.getrandbits(32))
            runs = [faulted_run(emu, args, log, rng, rng.randint(1, left_to_do(emu, files))) for _ in range(kills)]
            killed = sum(run.startswith("killed") for run in runs)
            runs.append(faulted_run(emu, args, log, rng, None))  # to its end, faults still on
            faulted = emu.counters()
            emu.set_faults()  # off
            final = run_cli(emu, args, log)
            runs.append(f"clean exit {final}")
            result = check(emu, inputs, out, files)
            if final != 0:
                result["problems"].insert(0, f"the run with the faults off exited {final}")
            after = emu.counters()
            result["final_run_uploads"] = after["uploads_total"] - faulted["uploads_total"]
            result["final_run_orders"] = after["orders_total"] - faulted["orders_total"]
            result.update(
                seed=seed,
                kills=killed,
                runs=" | ".join(runs),
                errors_5xx=after["errors_injected"],
                resets=after["resets_injected"],
                bursts_429=after["rate_limited_by_bucket"].get("burst", 0),
            )
            return result
        finally:
            emu.stop()


def check(emu: EmulatorProcess, inputs: dict[str, bytes], out: Path, files: int) -> dict[str, Any]:
    """The invariant, from the emulator's store and counters; ``problems`` says what broke, naming files."""
    problems: list[str] = []
    c = emu.counters()
    recordings = emu.call("GET", "/_emulator/recordings")
    originals = {r["id"]: r for r in recordings if r["type"] == "original"}
    conversions: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in recordings:
        if r["type"] == "converted":
            conversions[r["original_id"]].append(r)
    by_name: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in originals.values():
        by_name[r["file_name"]].append(r)

    # The larger of "more than one per input" in all and per name/original (they count the same duplicates).
    dup_uploads = max(c["uploads_total"] - len(inputs), sum(n - 1 for n in c["uploads_by_user_file"].values()), 0)
    dup_orders = max(c["orders_total"] - len(originals), sum(n - 1 for n in c["orders_by_original"].values()), 0)
    paid_twice = max(0, c["conversions_created"] - len(inputs)) + c["retries_total"]
    if dup_uploads:
        twice = sorted(k.split(":", 1)[1] for k, n in c["uploads_by_user_file"].items() if n > 1)
        problems.append(f"{dup_uploads} duplicate uploads ({c['uploads_total']} for {files} files; twice: {twice[:5]})")
    if dup_orders or paid_twice:
        twice = sorted(k for k, n in c["orders_by_original"].items() if n > 1)
        problems.append(
            f"{dup_orders} duplicate orders, {paid_twice} conversions paid twice "
            f"({c['orders_total']} orders, {c['conversions_created']} conversions; originals ordered twice: {twice[:5]})"
        )
    stray_originals = sorted(set(by_name) - set(inputs))
    if stray_originals:
        problems.append(f"originals the job never had: {stray_originals[:5]}")

    try:
        journal = read_journal(out)
        items = {Path(item.source).name: item for item in journal.items()}
        status = journal.status
    except (OSError, ValueError) as exc:
        problems.append(f"journal unreadable: {exc}")
        items, status = {}, "missing"
    if status != "completed":
        problems.append(f"journal status {status}")

    lost = truncated = bad_uploads = journal_mismatch = 0
    delivered: set[Path] = set()
    for name, data in sorted(inputs.items()):
        found = by_name.get(name, [])
        if not found:
            lost += 1
            problems.append(f"{name}: never uploaded")
            continue
        original = found[0]
        if emu.get_bytes(original["url"]) != data:
            bad_uploads += 1
            problems.append(f"{name}: the uploaded original differs from the input")
        convs = conversions.get(original["id"], [])
        item = items.get(name)
        outputs = [o for o in item.outputs if o.target != "original"] if item is not None else []
        if len(convs) != 1 or convs[0]["state"] != "done":
            lost += not convs
            problems.append(f"{name}: {len(convs)} conversions {[v['state'] for v in convs]}")
            continue
        conv = convs[0]
        if item is None or item.stage != "done" or item.original_id != original["id"] or len(outputs) != 1:
            journal_mismatch += 1
            problems.append(f"{name}: journal item {item and (item.stage, item.original_id)} != {original['id']}")
            lost += 1
            continue
        output = outputs[0]
        path = Path(output.path or "")
        path = path if path.is_absolute() else out / path
        if output.recording_id != conv["id"] or output.state != "downloaded":
            journal_mismatch += 1
            problems.append(f"{name}: journal output {output.recording_id} {output.state} != {conv['id']} downloaded")
        if not path.is_file():
            lost += 1
            problems.append(f"{name}: {path} missing")
            continue
        delivered.add(path)
        got, served = path.read_bytes(), emu.get_bytes(conv["url"])
        if got != served:
            truncated += 1
            problems.append(f"{name}: {path.name} has {len(got)} bytes, the emulator serves {len(served)} (differ)")
        if output.size != len(got):
            journal_mismatch += 1
            problems.append(f"{name}: journal size {output.size} != {len(got)} on disk")

    if len(delivered) != len(inputs):  # two items sharing an output path, or outputs missing
        problems.append(f"{len(delivered)} distinct output files for {len(inputs)} inputs")
    left = {p for p in out.rglob("*") if p.is_file()} - delivered
    stray = sorted(
        str(p.relative_to(out)) for p in left if not p.name.startswith(JOURNAL_NAME) and p.name not in REPORTS
    )
    if stray:
        problems.append(f"{len(stray)} stray files in the output folder: {stray[:5]}")
    return {
        "uploads": c["uploads_total"],
        "orders": c["orders_total"],
        "dup_uploads": dup_uploads,
        "dup_orders": dup_orders,
        "paid_twice": paid_twice,
        "lost": lost,
        "truncated": truncated,
        "bad_uploads": bad_uploads,
        "journal_mismatch": journal_mismatch,
        "delivered": len(delivered),
        "stray": len(stray),
        "problems": problems,
    }


def first_voice(emu: EmulatorProcess) -> str:
    name: str = emu.call("GET", "/api/v2/voices?limit=1", api=True)["list"][0]["name"]
    return name


def locks(work: Path) -> list[str]:
    """Plans, dry runs and failed starts write nothing in D; the corrected command then completes there."""
    problems: list[str] = []
    rng = random.Random(0)
    make_inputs(work / "in", 5, rng)
    lines = work / "lines.txt"
    lines.write_text("One line to say.\nAnother line.\n")
    inp = str(work / "in")
    with open(work / "log.txt", "w") as log:
        emu = EmulatorProcess(0, log)
        try:
            voice = first_voice(emu)
            convert, tts = ["convert", inp, "--voice", voice], ["tts", str(lines), "--voice", voice]
            cases: list[tuple[str, list[str], bool, list[str]]] = [  # (D, command, does it succeed, the corrected one)
                ("plan", ["plan", inp, "--voice", voice], True, convert),
                ("convert-dry-run", [*convert, "--dry-run"], True, convert),
                ("tts-dry-run", [*tts, "--dry-run"], True, tts),
                ("unknown-voice", ["convert", inp, "--voice", "Nobody Atall"], False, convert),
                ("near-voice", ["convert", inp, "--voice", voice[:-1]], False, convert),
                ("tts-near-voice", ["tts", str(lines), "--voice", voice[:-1]], False, tts),
                ("bad-accent", [*convert, "--accent", "No Such Accent"], False, convert),
                ("bad-semitones", [*convert, "--semitones", "1", "--semitones", "2"], False, convert),
                ("bad-tts-voice", [*tts, "--tts-voice", "No Such Speaker"], False, tts),
            ]
            for name, command, succeeds, corrected in cases:
                d = work / name
                code = run_cli(emu, [*command, "--out", str(d), "--plain"], log)
                if (code == 0) != succeeds:
                    problems.append(f"{name}: exit {code}")
                left = sorted(str(p.relative_to(d)) for p in d.rglob("*")) if d.exists() else []
                if left:
                    problems.append(f"{name}: left {left} in D")
                code = run_cli(emu, [*corrected, "--out", str(d), "--plain"], log)
                try:
                    status = read_journal(d).status
                except (OSError, ValueError) as exc:
                    status = str(exc)
                if code != 0 or status != "completed":
                    problems.append(f"{name}: the corrected command exited {code}, journal {status}")
        finally:
            emu.stop()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per trial (a run that ends first is not killed)")
    parser.add_argument("--seed", type=int, default=20261127, help="draws each trial's seed")
    parser.add_argument("--trial-seed", type=int, action="append", help="run only the trial of this seed (repeatable)")
    parser.add_argument("--no-locks", action="store_true", help="skip the nothing-locks-a-folder checks")
    parser.add_argument("--keep", action="store_true", help="keep each trial's folder (inputs, outputs, log.txt)")
    parser.add_argument("--jobs", type=int, default=1, help="trials run at once (each has its own emulator)")
    args = parser.parse_args()
    bad = 0
    started = time.monotonic()
    if not args.no_locks:
        work = Path(tempfile.mkdtemp(prefix="voiceapi-chaos-locks-"))
        problems = locks(work)
        print(("ok   locks" if not problems else "BAD  locks: " + "; ".join(problems)), flush=True)
        bad += bool(problems)
        if problems and args.keep:
            print(f"     kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    master = random.Random(args.seed)
    seeds = args.trial_seed or [master.getrandbits(32) for _ in range(args.trials)]
    totals: collections.Counter[str] = collections.Counter()

    def one(seed: int) -> tuple[dict[str, Any], Path, float]:
        work, t0 = Path(tempfile.mkdtemp(prefix=f"voiceapi-chaos-{seed}-")), time.monotonic()
        try:
            result = trial(seed, args.files, args.kills, work)
        except Exception as exc:  # e.g. an emulator that did not start: a bad trial, not the end of the others
            result = {"seed": seed, "runs": "-", "problems": [f"the trial crashed: {exc!r}"]}
        return result, work, time.monotonic() - t0

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for future in concurrent.futures.as_completed([pool.submit(one, seed) for seed in seeds]):
            result, work, elapsed = future.result()
            problems = result.pop("problems")
            for key in TOTALS:
                totals[key] += result.get(key, 0)
            bad += bool(problems)
            fields = " ".join(f"{k}={v}" for k, v in result.items() if k != "runs")
            print(f"{'ok ' if not problems else 'BAD'}  {fields} ({elapsed:.0f} s)", flush=True)
            print(f"     runs: {result['runs']}", flush=True)
            for problem in problems[:10]:
                print(f"     - {problem}", flush=True)
            if args.keep:
                print(f"     kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    print(
        f"{len(seeds)} trials x {args.files} files: " + " ".join(f"{k}={v}" for k, v in totals.items())
        + f"; {'all checks held' if not bad else f'{bad} BAD'} ({time.monotonic() - started:.0f} s)"
    )  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
