"""Shared parts of the bench/ scripts: a `stirling serve --sandbox` on free loopback ports in a
temporary directory, its HTTP API, /metrics, /proc readings and sipp runs.

Everything here connects to 127.0.0.1 only. Python 3 standard library only.
"""

import glob
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
# BENCH_BINARY runs another build of the service (e.g. an older commit) under the same scripts.
BINARY = os.environ.get("BENCH_BINARY") or os.path.join(TARGET, "release", "stirling")
SCENARIOS = os.path.join(REPO, "crates", "stirling", "tests", "sipp")
TOKEN_LINE = "API token (operator of tenant demo): "
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# sip::ServerConfig::udp_recv_buffer defaults to 2 MiB and `stirling serve` keeps that default;
# the kernel grants it when net.core.rmem_max allows (checked and printed in machine_facts).
UDP_RECV_BUFFER = 2 * 1024 * 1024

# The demo entry as `demo.rs` creates it (the sandbox STI-PA's seeded account, OCN 1234).
DEMO_ENTRY = {
    "name": "Demo SPID 1234",
    "spid": "1234",
    "sti_pa_account_id": "1234",
    "sti_pa_user_id": "sandbox",
    "sti_pa_password": "sandbox",
    "environment": "sandbox",
}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def cargo_build(*extra):
    """`cargo build --release -p stirling` (plus `extra`), from the repository root."""
    cmd = ["cargo", "build", "--release", "-p", "stirling", *extra]
    log("+", " ".join(cmd))
    subprocess.run(cmd, cwd=REPO, check=True)


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_sip_port():
    """A port free for both UDP and TCP (the SIP listeners share it)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free SIP port")


def cores():
    return os.cpu_count() or 1


def pinned(cmd, core):
    """`cmd` pinned to `core` with taskset when the machine has two cores or more."""
    if cores() >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *cmd]
    return cmd


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine_facts():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        with open("/proc/sys/net/core/rmem_max") as f:
            rmem_max = int(f.read())
    except OSError:
        rmem_max = None
    pinning = (
        "server on core 0, load generator on core 1 (taskset)"
        if cores() >= 2 and shutil.which("taskset")
        else "not pinned (fewer than 2 cores or no taskset)"
    )
    return {
        "nproc": cores(),
        "cpu": model,
        "ecdsa p-256 sign": ecdsa_speed_text(),
        "loadavg": loadavg(),
        "udp_recv_buffer": f"{UDP_RECV_BUFFER} bytes asked (sip::ServerConfig default); "
        f"net.core.rmem_max={rmem_max}",
        "pinning": pinning,
    }


# `openssl speed ecdsap256` sign/s on the machine the targets and earlier figures come
# from (ES256 there: about 17 us per signature with aws-lc-rs).
REFERENCE_OPENSSL_SIGNS = 51500
_ecdsa_speed = None


def ecdsa_speed():
    """openssl's ECDSA P-256 signatures per second on the server's core (0), measured once:
    the machine's speed, to compare CPU-us figures taken on different machines."""
    global _ecdsa_speed
    if _ecdsa_speed is None:
        _ecdsa_speed = float("nan")
        if shutil.which("openssl"):
            out = subprocess.run(
                pinned(["openssl", "speed", "-seconds", "3", "ecdsap256"], 0),
                capture_output=True, text=True,
            ).stdout
            m = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([0-9.]+)", out)
            if m:
                _ecdsa_speed = float(m.group(1))
    return _ecdsa_speed


def ecdsa_speed_text():
    speed = ecdsa_speed()
    if math.isnan(speed):
        return "unknown (no openssl)"
    ratio = REFERENCE_OPENSSL_SIGNS / speed
    pace = f"x{ratio:.2f} slower" if ratio >= 1 else f"x{1 / ratio:.2f} faster"
    return (f"{speed:.0f}/s (openssl speed ecdsap256, core 0; {REFERENCE_OPENSSL_SIGNS}/s on the "
            f"machine of the issue's figures: this one is {pace})")


def at_reference_speed(cpu_us):
    """`cpu_us` scaled to the reference machine's speed (an estimate: kernel work need not scale
    like ECDSA)."""
    return cpu_us * ecdsa_speed() / REFERENCE_OPENSSL_SIGNS


def print_facts(facts):
    for k, v in facts.items():
        print(f"{k + ':':<18}{v}")


class ProcStat:
    """CPU time and memory of one process from /proc."""

    def __init__(self, pid):
        self.pid = pid

    def cpu_split(self):
        """(user, system) CPU seconds: utime and stime of /proc/PID/stat."""
        with open(f"/proc/{self.pid}/stat") as f:
            stat = f.read()
        # The command name may hold spaces; fields are counted after its closing parenthesis.
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS

    def cpu_seconds(self):
        return sum(self.cpu_split())

    def io(self):
        """{'syscw': write system calls, 'wchar': bytes written} from /proc/PID/io. The kernel
        counts write, pwrite and writev (files, pipes, eventfds), not send/sendto on sockets."""
        counters = {}
        with open(f"/proc/{self.pid}/io") as f:
            for line in f:
                key, value = line.split(":", 1)
                counters[key] = int(value)
        return {k: counters.get(k, 0) for k in ("syscw", "wchar")}

    def cpu_by_thread(self):
        """{thread name: user+system CPU seconds} summed over /proc/PID/task/*/stat. Threads
        that have exited are not counted (their time stays in the process's total)."""
        seconds = {}
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                    stat = f.read()
            except FileNotFoundError:  # exited between the listing and the read
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            seconds[name] = seconds.get(name, 0.0) + cpu
        return seconds

    def context_switches(self):
        """(voluntary, involuntary) context switches summed over /proc/PID/task/*/status: each
        time one of the service's threads waits counts one voluntary switch, so work handed
        between threads shows up here."""
        voluntary = involuntary = 0
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            voluntary += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches:"):
                            involuntary += int(line.split()[1])
            except FileNotFoundError:
                continue
        return voluntary, involuntary

    def status(self, key):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split(":", 1)[1].strip()
        return None

    def rss_mb(self):
        kb = self.status("VmRSS")
        return int(kb.split()[0]) / 1024 if kb else float("nan")


class Profiler:
    """`perf record -g` attached to the running service (on the load generator's core), for
    profiling runs: the sampling interrupts cost the server a little CPU of their own."""

    def __init__(self, service, path, core=1):
        self.proc = subprocess.Popen(
            pinned(["perf", "record", "-q", "-F", "999", "-g", "--call-graph", "dwarf,16384",
                    "-p", str(service.proc.pid), "-o", path], core),
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1)  # perf attaches to every thread before the load starts

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=120)


class InstructionCount:
    """`perf stat` counting the service's instructions (user and kernel) while it runs: unlike
    CPU time, the count barely depends on how fast or how busy the machine is, so it compares
    runs on different machines and days. None of its figures when perf cannot count."""

    def __init__(self, service, core=1):
        self.path = os.path.join(service.dir.name, "perf-stat.csv")
        self.proc = None
        if shutil.which("perf"):
            self.proc = subprocess.Popen(
                pinned(["perf", "stat", "-x", ",", "-o", self.path,
                        "-e", "instructions:u,instructions:k", "-p", str(service.proc.pid)], core),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)

    def stop(self):
        """{'user': n, 'kernel': n} instructions, or {} when perf could not count."""
        if not self.proc:
            return {}
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)
        counts = {}
        try:
            with open(self.path) as f:
                for line in f:
                    fields = line.strip().split(",")
                    if len(fields) > 2 and fields[0].isdigit():
                        kind = "user" if fields[2].endswith(":u") else "kernel"
                        counts[kind] = int(fields[0])
        except OSError:
            pass
        return counts


CALLGRIND_WRAPPER = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


class Callgrind:
    """Instructions the service executes in user space while it runs, counted by callgrind
    (the service must run under `CALLGRIND_WRAPPER`): exact and repeatable for the same build
    and load, on any machine, with or without hardware counters. Kernel work is not in it.
    Each measured stretch is dumped to its own file, which `callgrind_annotate` reads."""

    def __init__(self, service):
        if not shutil.which("callgrind_control"):
            raise RuntimeError("callgrind_control not found (Debian package valgrind)")
        self.service = service
        self.pid = str(service.proc.pid)
        self._control("--zero")
        self._control("--instr=on")

    def _control(self, *args):
        subprocess.run(["callgrind_control", *args, self.pid], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)

    def stop(self):
        """{'user': n} instructions; the dump's path is then in `self.dump`."""
        self._control("--instr=off")
        before = set(glob.glob(os.path.join(self.service.dir.name, "callgrind.out.*")))
        self._control("--dump")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            new = set(glob.glob(os.path.join(self.service.dir.name, "callgrind.out.*"))) - before
            for path in new:
                # The header's "summary:" may say 0; "totals:" closes a complete dump.
                with open(path) as f:
                    for line in f:
                        if line.startswith("totals:"):
                            self.dump = path
                            return {"user": int(line.split()[1])}
            time.sleep(0.2)
        raise RuntimeError("callgrind wrote no dump")


class Service:
    """`stirling serve --sandbox` in a temporary directory on free loopback ports."""

    def __init__(self, core=0, env=None, wrapper=None):
        self.dir = tempfile.TemporaryDirectory(prefix="stirling-bench-")
        self.sip_port = free_sip_port()
        self.http_port = free_port()
        environ = dict(os.environ)
        environ.update(
            {
                "STIRLING_HTTP__LISTEN": f"127.0.0.1:{self.http_port}",
                "STIRLING_REPOSITORY__HTTPS_LISTEN": f"127.0.0.1:{free_port()}",
                "STIRLING_EMBEDDED_SANDBOX__LISTEN": f"127.0.0.1:{free_port()}",
                "STIRLING_SIP__UDP": f"127.0.0.1:{self.sip_port}",
                "STIRLING_SIP__TCP": f"127.0.0.1:{self.sip_port}",
                "STIRLING_LOG__FILTER": "info,sqlx=warn",
            }
        )
        environ.update(env or {})
        self.log_path = os.path.join(self.dir.name, "stirling.log")
        self._log = open(self.log_path, "w")
        # For profiling: e.g. BENCH_SERVER_WRAPPER="valgrind --tool=memcheck" (the tool runs
        # in the same process, so /proc readings still apply). Not STIRLING_*: the service
        # reads those as configuration and refuses unknown keys.
        if wrapper is None:
            wrapper = os.environ.get("BENCH_SERVER_WRAPPER", "").split()
        self.proc = subprocess.Popen(
            pinned([*wrapper, BINARY, "serve", "--sandbox"], core),
            cwd=self.dir.name,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        # taskset execs the binary, so the pid is stirling's own.
        self.stat = ProcStat(self.proc.pid)
        self.token = None
        self._token_seen = threading.Event()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            if TOKEN_LINE in line:
                self.token = line.split(TOKEN_LINE, 1)[1].strip()
                self._token_seen.set()
            # The printed demo logins are secrets: not copied to the log file.

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self.dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def tail_log(self, n=40):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-n:])

    # HTTP ---------------------------------------------------------------------------------

    def request(self, method, path, body=None, token=True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method
        )
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token and self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def json(self, method, path, body=None):
        status, text = self.request(method, path, body)
        return status, (json.loads(text) if text.strip() else None)

    def metrics(self):
        _, text = self.request("GET", "/metrics", token=False)
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    values[name] = float(value)
                except ValueError:
                    pass
        return values

    def results(self, service):
        """Calls of `service` counted so far, by result (`signed`, `passed`, ...)."""
        prefix = f'stirling_calls_total{{service="{service}",result="'
        return {k[len(prefix) : -2]: v for k, v in self.metrics().items() if k.startswith(prefix)}

    def calls(self, service):
        """Calls of `service` (`signing`/`verification`) counted so far, any result."""
        prefix = f'stirling_calls_total{{service="{service}",'
        return sum(v for k, v in self.metrics().items() if k.startswith(prefix))

    def latency_buckets(self, service):
        """Cumulative counts of the server's call-latency histogram for `service`, as
        [(upper bound in ms, count)], from `stirling_call_duration_seconds`."""
        prefix = f'stirling_call_duration_seconds_bucket{{service="{service}",le="'
        out = []
        for k, v in self.metrics().items():
            if k.startswith(prefix):
                le = k[len(prefix) : -2]
                out.append((float("inf") if le == "+Inf" else float(le) * 1000, v))
        return sorted(out)

    def log_counters(self):
        m = self.metrics()
        return {
            "dropped": m.get("stirling_message_log_dropped_total", 0),
            "written": m.get("stirling_message_log_written_total", 0),
            "write_failures": m.get("stirling_message_log_write_failures_total", 0),
            "queue_depth": m.get("stirling_message_log_queue_depth", 0),
        }

    # Start-up -----------------------------------------------------------------------------

    def wait_ready(self, timeout=120):
        """Waits for the demo token, an active certificate and a signing call that works; returns
        an Identity header value from that call (orig +12155550121, dest +12155550131, as the
        sipp scenarios use)."""
        deadline = time.monotonic() + timeout
        while not self._token_seen.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("no API token printed; log:\n" + self.tail_log())
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("stirling exited; log:\n" + self.tail_log())
            identity = self.sign_once()
            if identity:
                return identity
            time.sleep(0.1)
        raise RuntimeError("never signed; log:\n" + self.tail_log())

    def sign_once(self):
        status, body = self.json(
            "POST",
            "/stir/v1/signing",
            {
                "signingRequest": {
                    "attest": "A",
                    "orig": {"tn": "12155550121"},
                    "dest": {"tn": ["12155550131"]},
                }
            },
        )
        if status == 200 and body:
            return body.get("signingResponse", {}).get("identity")
        return None

    def drain_message_log(self, timeout=30):
        """Waits until the message log's queue is empty (its writing is part of a call's cost)."""
        deadline = time.monotonic() + timeout
        written = None
        while time.monotonic() < deadline:
            c = self.log_counters()
            # Empty queue and nothing written for a flush interval: the last batch is in.
            if c["queue_depth"] == 0 and c["written"] == written:
                return True
            written = c["written"] if c["queue_depth"] == 0 else None
            time.sleep(0.3)
        return False


# sipp ---------------------------------------------------------------------------------------


# The called number of sign.xml (Request-URI, To and the ACK's Request-URI).
SIGN_DEST = "+12155550131"


def bench_scenario(name, workdir, varied_numbers=False):
    """The test suite's sipp scenario `name` with response-time markers added: timer 1 runs
    from sending the INVITE to receiving the 302. With `varied_numbers` (sign.xml only) the
    calling number (the `orig` key) and the called number come from an injection file's
    fields 0 and 1 instead (see `numbers_file`)."""
    with open(os.path.join(SCENARIOS, name)) as f:
        xml = f.read()
    xml, n1 = re.subn(r'<send retrans="500">', '<send retrans="500" start_rtd="1">', xml, 1)
    xml, n2 = re.subn(r'<recv response="302"/>', '<recv response="302" rtd="1"/>', xml, 1)
    if n1 != 1 or n2 != 1:
        raise RuntimeError(f"{name}: scenario changed; cannot place response-time markers")
    if varied_numbers:
        if "[orig]" not in xml or SIGN_DEST not in xml:
            raise RuntimeError(f"{name}: no [orig] or {SIGN_DEST} to vary")
        xml = xml.replace("[orig]", "[field0]").replace(SIGN_DEST, "[field1]")
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(xml)
    return path


def numbers_file(workdir, count, seed=6):
    """A sipp injection file of `count` (calling, called) pairs of random North American
    numbers in E.164 (+1 NPA NXX XXXX), used in order: real traffic's numbers vary, and the
    SIP Messages log's number indexes cost according to how they spread."""
    rng = random.Random(seed)

    def number():
        npa = f"{rng.randint(2, 9)}{rng.randint(0, 99):02d}"
        nxx = f"{rng.randint(2, 9)}{rng.randint(0, 99):02d}"
        return f"+1{npa}{nxx}{rng.randint(0, 9999):04d}"

    path = os.path.join(workdir, "numbers.inf")  # not .csv: that is how stats() finds sipp's file
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for _ in range(count):
            f.write(f"{number()};{number()};\n")
    return path


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    # Nearest rank.
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


class SippRun:
    """One sipp run at a fixed offered rate: `-r rate -m total`."""

    def __init__(self, service, scenario, rate, total, keys, core=1, transport="u1",
                 varied_numbers=False):
        self.work = tempfile.mkdtemp(prefix="stirling-sipp-")
        self.scenario = bench_scenario(scenario, self.work, varied_numbers)
        self.rate, self.total = rate, total
        timeout = int(total / rate) + 60
        cmd = [
            "sipp",
            f"127.0.0.1:{service.sip_port}",
            "-sf", self.scenario,
            "-t", transport,
            "-i", "127.0.0.1",
            "-p", str(free_sip_port()),
            "-r", str(rate),
            "-m", str(total),
            "-l", str(max(1000, rate * 2)),
            "-buff_size", str(UDP_RECV_BUFFER),
            "-nostdin",
            "-timeout", f"{timeout}s",
            "-timeout_error",
            # sipp writes response times in blocks of -rtt_freq and drops a partial last block.
            "-trace_rtt", "-rtt_freq", str(math.gcd(total, 1000)),
            "-trace_stat", "-fd", "1",
            "-trace_screen",
        ]  # fmt: skip
        for k, v in keys.items():
            cmd += ["-key", k, v]
        if varied_numbers:
            cmd += ["-inf", numbers_file(self.work, min(total, 1_000_000))]
        self.cmd = pinned(cmd, core)

    def start(self):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def wait(self):
        _, err = self.proc.communicate()
        self.elapsed = time.monotonic() - self.started
        self.returncode = self.proc.returncode
        self.stderr = err.decode(errors="replace")
        return self

    def _file(self, suffix):
        for name in os.listdir(self.work):
            if name.endswith(suffix):
                return os.path.join(self.work, name)
        return None

    def stats(self):
        """The last line of sipp's statistics file, as a dict of cumulative counters."""
        path = None
        for name in os.listdir(self.work):
            if name.endswith(".csv") and not name.endswith("_rtt.csv"):
                path = os.path.join(self.work, name)
        if not path:
            return {}
        with open(path) as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        header = lines[0].split(";")
        last = lines[-1].split(";")
        return dict(zip(header, last))

    def response_times(self):
        """(timestamps in s, response times in ms) of every 302, from `-trace_rtt`."""
        path = self._file("_rtt.csv")
        stamps, times = [], []
        if path:
            with open(path) as f:
                for line in f:
                    parts = line.strip().split(";")
                    if len(parts) < 2:
                        continue
                    try:
                        stamps.append(float(parts[0]) / 1000)
                        times.append(float(parts[1]))
                    except ValueError:
                        continue  # the header
        return stamps, times

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)


def summarise_sipp(run):
    """Offered rate, achieved throughput, failure ratio and response-time percentiles."""
    stats = run.stats()

    def counter(name):
        try:
            return int(stats.get(name, "0"))
        except ValueError:
            return 0

    ok, failed = counter("SuccessfulCall(C)"), counter("FailedCall(C)")
    stamps, times = run.response_times()
    span = (max(stamps) - min(stamps)) if len(stamps) > 1 else 0
    times.sort()
    return {
        "offered_rate": run.rate,
        "calls": run.total,
        "successful": ok,
        "failed": failed,
        "failure_ratio": failed / (ok + failed) if ok + failed else float("nan"),
        "retransmissions": counter("Retransmissions(C)"),
        "responses_timed": len(times),
        "throughput": (len(stamps) - 1) / span if span > 0 else float("nan"),
        "p50_ms": percentile(times, 50),
        "p90_ms": percentile(times, 90),
        "p99_ms": percentile(times, 99),
        "max_ms": times[-1] if times else float("nan"),
        "sipp_exit": run.returncode,
        # Which of sipp's failure counters moved, e.g. FailedCannotSendMessage (sipp's own
        # socket) or FailedMaxUDPRetrans (no answer).
        "failures": {
            k[: -len("(C)")]: counter(k)
            for k in stats
            if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and counter(k)
        },
    }


def cpu_by_thread_per_call(before, after, total_s, calls):
    """CPU-us per call by thread name between two `ProcStat.cpu_by_thread` readings, plus
    `other` for what they do not account for (threads that exited) out of `total_s`."""
    if not calls:
        return {}
    per_call = {}
    for name, seconds in after.items():
        delta = seconds - before.get(name, 0.0)
        if delta > 0:
            per_call[name] = delta * 1e6 / calls
    other = total_s * 1e6 / calls - sum(per_call.values())
    if other > 0.05:
        per_call["other"] = other
    return dict(sorted(per_call.items(), key=lambda kv: -kv[1]))


def histogram_percentiles(before, after, ps=(50, 90, 99)):
    """Percentiles of the calls between two `latency_buckets` readings, as the upper bound of
    the bucket each falls in ("at most this many ms")."""
    delta = [(le, a - b) for (le, a), (_, b) in zip(after, before)]
    total = delta[-1][1] if delta else 0
    out = {}
    for p in ps:
        out[p] = next((le for le, n in delta if total and n >= p / 100 * total), float("nan"))
    return out


def median(values):
    return statistics.median(values) if values else float("nan")
