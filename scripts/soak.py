#!/usr/bin/env python3
"""Soak test: golemproxy under load while its backends are killed and restarted.

Starts 3 memcached servers and golemproxy (2 workers) on loopback, drives golem-bench
through the proxy for background load, and runs verifying clients whose values carry
their own key: every reply must be the value just stored, a miss (the server was
restarted and lost its data) or a SERVER_ERROR (the server was down) -- never another
key's value, never a hang. A killer restarts a random backend every few seconds. The
proxy's resident memory is sampled; after warm-up it must stop growing. Bounded:
--seconds (default 600). Loopback only; stops everything it started.

--redis does the same for a Redis pool (redis: true, ketama, auto_eject_hosts,
hash_tag "{}"): 3 redis-servers, redis-benchmark -P 16 in a loop for load, and 8
verifying clients speaking raw RESP that pipeline SET/GET/MGET/MSET/DEL/INCR/EXISTS
and a PING marker, checking every reply's type, order and content. Errors are allowed
only as the proxy's server-failure texts; a nil or an older value of the same key only
when a backend restart or ejection may explain it (see check_suspects).

Builds with `swift build -c release --scratch-path .build-soak`.
"""
import argparse, bisect, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = ".build-soak"
procs = []
stopping = threading.Event()
lock = threading.RLock()
stats = {"verified": 0, "misses": 0, "server_errors": 0, "corrupt": 0, "hangs": 0, "restarts": 0}
problems = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=5):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def memcached(port):
    user = ["-u", "nobody"] if os.getuid() == 0 else []
    proc = subprocess.Popen(["memcached"] + user + ["-l", "127.0.0.1", "-p", str(port), "-t", "1", "-m", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proc)
    return proc


def chaos(proxy, backends, ports, restart, start, deadline, problems, tick=None, disturb=None):
    """Samples the proxy's RSS every second until `deadline` and, every 3-8 s, kills a
    random backend (SIGKILL) and starts it again on its port with `restart(port)`.
    `tick()` runs each second; `disturb()` before and after each restart. Returns the
    RSS samples [(seconds since start, KB)] and the number of restarts."""
    samples, restarts = [], 0
    next_kill = time.time() + 5
    while time.time() < deadline:
        time.sleep(1)
        samples.append((time.time() - start, rss_kb(proxy.pid)))
        if proxy.poll() is not None:
            problems.append(f"golemproxy exited with {proxy.returncode}")
            break
        if tick:
            tick()
        if time.time() >= next_kill:
            port = random.choice(ports)
            if disturb:
                disturb()
            backends[port].kill()
            backends[port].wait()
            time.sleep(1.5)
            backends[port] = restart(port)
            if not wait_port(port):
                problems.append(f"backend on {port} did not restart")
            if disturb:
                disturb()
            restarts += 1
            next_kill = time.time() + random.uniform(3, 8)
    return samples, restarts


def rss_growth(samples, seconds):
    """After the first 20% (warm-up): the largest RSS of the first and second half, KB."""
    warm = [rss for t, rss in samples if t >= seconds * 0.2]
    half = len(warm) // 2
    return (max(warm[:half]), max(warm[half:])) if half else (0, 0)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_line(sock, buf):
    while b"\r\n" not in buf[0]:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("proxy closed the connection")
        buf[0] += data
    line, buf[0] = buf[0].split(b"\r\n", 1)
    return line


def read_exact(sock, buf, n):
    while len(buf[0]) < n:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("proxy closed the connection")
        buf[0] += data
    out, buf[0] = buf[0][:n], buf[0][n:]
    return out


def verifier(port, ident, deadline):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(5)
    buf = [b""]
    counter = 0
    while time.time() < deadline:
        keys = [f"soak:{ident}:{random.randrange(300)}" for _ in range(8)]
        values = {}
        request = b""
        for key in keys:
            counter += 1
            value = f"{key}={counter}:" + "x" * random.randrange(0, 3000)
            values[key] = value
            request += f"set {key} 0 0 {len(value)}\r\n{value}\r\n".encode()
        request += ("get " + " ".join(keys) + "\r\n").encode()
        try:
            sock.sendall(request)
            stored = [read_line(sock, buf) for _ in keys]
            got = {}
            while True:
                line = read_line(sock, buf)
                if line == b"END":
                    break
                if line.startswith(b"SERVER_ERROR"):
                    with lock:
                        stats["server_errors"] += 1
                    break
                parts = line.split()
                if len(parts) != 4 or parts[0] != b"VALUE":
                    raise ValueError(f"unexpected line {line[:80]!r}")
                data = read_exact(sock, buf, int(parts[3]) + 2)[:-2].decode()
                got.setdefault(parts[1].decode(), []).append(data)
        except socket.timeout:
            with lock:
                stats["hangs"] += 1
                problems.append(f"client {ident}: no reply within 5 s")
            return
        except Exception as error:  # protocol desync or close: a failure
            with lock:
                stats["corrupt"] += 1
                problems.append(f"client {ident}: {error}")
            return
        with lock:
            for key, datas in got.items():
                for data in datas:
                    if not data.startswith(key + "="):
                        stats["corrupt"] += 1
                        problems.append(f"key {key} returned another key's value {data[:40]!r}")
                    elif stored[keys.index(key)] == b"STORED" and data != values[key] and \
                            keys.count(key) == 1:
                        stats["corrupt"] += 1
                        problems.append(f"key {key} returned a stale value")
                    else:
                        stats["verified"] += 1
            stats["misses"] += sum(1 for key in set(keys) if key not in got)


def build(*products):
    """Release build in its own scratch directory (one product at a time); returns the bin dir."""
    command = ["swift", "build", "-c", "release", "--scratch-path", SCRATCH]
    for product in products:
        subprocess.run(command + ["--product", product], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return subprocess.run(command + ["--show-bin-path"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


def main_memcache(options):
    bin_dir = build("golemproxy", "golem-bench")
    ports = [free_port() for _ in range(3)]
    backends = {port: memcached(port) for port in ports}
    for port in ports:
        wait_port(port)
    proxy_port = free_port()
    config = os.path.join(tempfile.mkdtemp(prefix="golem-soak-"), "soak.yml")
    with open(config, "w") as f:
        f.write(f"soak:\n  listen: 127.0.0.1:{proxy_port}\n  hash: md5\n  timeout: 1000\n  servers:\n")
        for index, port in enumerate(ports):
            f.write(f"   - 127.0.0.1:{port}:1 s{index}\n")
    proxy = subprocess.Popen([os.path.join(bin_dir, "golemproxy"), "-c", config, "--threads", "2",
                              "-s", str(free_port()), "-a", "127.0.0.1", "-v", "3"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proxy)
    if not wait_port(proxy_port):
        sys.exit("golemproxy did not start")
    start = time.time()
    deadline = start + options.seconds
    load = subprocess.Popen([os.path.join(bin_dir, "golem-bench"), "--port", str(proxy_port), "--duration",
                             str(options.seconds), "--connections", "20", "--ratio", "1:1", "--multiget", "4",
                             "--value-size", "500", "--quiet", "--json"], stdout=subprocess.PIPE, text=True)
    procs.append(load)
    workers = [threading.Thread(target=verifier, args=(proxy_port, i, deadline), daemon=True) for i in range(8)]
    for worker in workers:
        worker.start()
    samples, stats["restarts"] = chaos(proxy, backends, ports, memcached, start, deadline, problems)
    for worker in workers:
        worker.join(timeout=15)
    bench = load.communicate(timeout=60)[0]
    first_half, second_half = rss_growth(samples, options.seconds)
    growth_kb = second_half - first_half
    print(f"soak: {options.seconds}s, {stats['restarts']} backend restarts, verified {stats['verified']} values, "
          f"{stats['misses']} misses after restarts, {stats['server_errors']} SERVER_ERROR replies, "
          f"{stats['corrupt']} wrong or desynchronised replies, {stats['hangs']} hangs")
    print(f"soak: proxy RSS after warm-up: first half max {first_half} KB, "
          f"second half max {second_half} KB (growth {growth_kb} KB)")
    try:
        import json
        result = json.loads(bench)
        print(f"soak: golem-bench load: {result['requests']} requests, {result['errors']} errors (expected while backends restart)")
    except Exception:
        print("soak: golem-bench output unreadable")
    for problem in problems[:10]:
        print("soak: PROBLEM:", problem)
    ok = stats["corrupt"] == 0 and stats["hangs"] == 0 and stats["verified"] > 0 and growth_kb < 20_000 and proxy.poll() is None
    print("soak: PASS" if ok else "soak: FAIL")
    return 0 if ok else 1


# ---------------------------------------------------------------------------- Redis mode

ALLOWED_ERRORS = (b"-ERR Connection refused", b"-ERR Connection timed out", b"-ERR Connection reset by peer",
                  b"-ERR unknown", b"-ERR Invalid argument")
# A disturbance (kill, restart, an error reply, a change of the proxy's server error,
# timeout or ejection counters) may change where keys live for a while: the killed
# server restarts empty, it is ejected and its keys read from another server, then
# the ring changes back after server_retry_timeout (2 s). A nil, or an older value of
# the same key, is a failure only if no disturbance happened from QUIET_BEFORE seconds
# before the value was written until QUIET_AFTER seconds after it was read back.
QUIET_BEFORE = 6.0
QUIET_AFTER = 3.0
UNKNOWN = object()  # the key's contents are not known (a write to it failed)
rstats = {"restarts": 0, "batches": 0, "replies": 0, "values": 0, "nils_allowed": 0, "stale_allowed": 0,
          "errors": 0, "wrong": 0, "desyncs": 0, "hangs": 0, "closed": 0}
error_kinds = {}
disturbances = []  # times, appended under lock
suspects = []  # (written, read, description, exchange): confirmed at the end by check_suspects


def disturb(when=None):
    with lock:
        disturbances.append(time.time() if when is None else when)


def redis_server(port, directory):
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", directory],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proc)
    return proc


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class Desync(Exception):
    pass


class Closed(Exception):
    pass


class RespReader:
    """Buffered RESP reply reader; keeps the raw bytes of the current batch for reports."""

    def __init__(self, sock):
        self.sock, self.buf, self.pos, self.raw = sock, b"", 0, []

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise Closed("proxy closed the connection")
        self.raw.append(data)
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                out, self.pos = self.buf[self.pos:end], end + 2
                return out
            self._fill()

    def exact(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        out, self.pos = self.buf[self.pos:self.pos + n], self.pos + n
        return out

    def reply(self):
        line = self.line()
        kind = line[:1]
        if kind in (b"+", b"-"):
            return kind, line
        try:
            number = int(line[1:])
        except ValueError:
            raise Desync(f"reply line is not RESP: {line[:60]!r}")
        if kind == b":":
            return kind, number
        if kind == b"$":
            if number == -1:
                return kind, None
            data = self.exact(number + 2)
            if data[-2:] != b"\r\n":
                raise Desync(f"bulk of {number} bytes not followed by CRLF: {data[-20:]!r}")
            return kind, data[:-2]
        if kind == b"*":
            return kind, None if number == -1 else [self.reply() for _ in range(number)]
        raise Desync(f"reply line is not RESP: {line[:60]!r}")


class RedisVerifier:
    """One client: pipelines batches of commands on keys only it writes and checks every reply.

    Keys: plain ones spread over the servers, hash-tagged groups that live on one server
    (whole-group MSET/MGET are forwarded without splitting), and INCR counters. Values
    are b"<key>=<serial>:<filler length>:<filler>", so a value names its key and its
    write, and a truncated or spliced value shows. The model holds what each key must
    contain (value, None for absent, UNKNOWN after a failed write) and when that was
    established."""

    def __init__(self, port, ident, deadline):
        self.port, self.ident, self.deadline = port, ident, deadline
        self.plain = [f"soak:{ident}:p{n}" for n in range(200)]
        self.groups = [[f"soak:{{c{ident}g{g}}}:t{n}" for n in range(5)] for g in range(20)]
        self.counters = [f"soak:{ident}:n{j}" for j in range(10)]
        start = time.time()
        self.model = {key: (None, start) for key in self.plain + self.counters + sum(self.groups, [])}
        self.serial = 0
        self.written = {}  # key -> highest serial written
        self.sock = None
        self.request = b""

    # -- connection
    def connect(self):
        if self.sock:
            self.sock.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.sock.settimeout(5)
        self.reader = RespReader(self.sock)

    def value(self, key):
        self.serial += 1
        self.written[key] = self.serial
        size = random.choice((0, 1, 10, 100, 500, 1000, 3000)) if random.random() < 0.98 else random.randrange(60000, 300000)
        return f"{key}={self.serial}:{size}:".encode() + b"v" * size

    # -- checks
    def fail(self, what, exchange):
        with lock:
            rstats["wrong"] += 1
            problems.append(f"client {self.ident}: {what}\n    {exchange}")

    def suspect(self, written, read, what, exchange):
        with lock:
            suspects.append((written, read, f"client {self.ident}: {what}", exchange))

    def check_value(self, key, data, exchange):
        """A bulk reply for `key`: must be a whole value this client wrote for that key."""
        prefix = key.encode() + b"="
        if not data.startswith(prefix):
            self.fail(f"{key} returned {data[:60]!r} (another key's value or garbage)", exchange)
            return False
        try:
            serial, size, filler = data[len(prefix):].split(b":", 2)
            serial, size = int(serial), int(size)
        except ValueError:
            self.fail(f"{key} returned a malformed value {data[:80]!r}", exchange)
            return False
        if len(filler) != size or filler != b"v" * size or serial > self.written.get(key, 0):
            self.fail(f"{key} returned a corrupt value {data[:80]!r} ({len(data)} bytes)", exchange)
            return False
        with lock:
            rstats["values"] += 1
        return True

    def expect_get(self, key, data, now, exchange):
        """GET/MGET element for `key` (None for nil) against the model."""
        if data is not None and not self.check_value(key, data, exchange):
            return
        want, since = self.model[key]
        if want is UNKNOWN or data == want:
            return
        what = "nil" if data is None else "an older value" if want is not None else "a value after DEL"
        with lock:
            rstats["nils_allowed" if data is None else "stale_allowed"] += 1
        self.suspect(since, now, f"GET {key}: {what} {(data or b'')[:40]!r}, expected "
                     f"{'nil' if want is None else want[:40]!r}", exchange)

    def note_error(self, line, exchange):
        with lock:
            rstats["errors"] += 1
            error_kinds[line.decode(errors="replace")] = error_kinds.get(line.decode(errors="replace"), 0) + 1
        disturb()
        if line not in ALLOWED_ERRORS:
            self.fail(f"unexpected error {line[:100]!r}", exchange)

    # -- one batch
    def batch(self):
        commands = []  # (kind, keys, payload for the check)
        plain = random.sample(self.plain, 9)
        sets, msets, loose = plain[:4], plain[4:7], plain[7:]
        group = random.choice(self.groups)
        tagged = random.sample(group, 2)
        for key in sets:
            commands.append(("SET", [key], self.value(key)))
        pairs = [(key, self.value(key)) for key in msets + tagged]
        commands.append(("MSET", [k for k, _ in pairs], [v for _, v in pairs]))
        for key in sets:
            commands.append(("GET", [key], None))
        commands.append(("MGET", sets + msets + tagged + [loose[0], sets[0]], None))
        if random.random() < 0.5:  # a whole tag group: one server, forwarded unsplit
            pairs = [(key, self.value(key)) for key in group]
            commands.append(("MSET", group, [v for _, v in pairs]))
            commands.append(("MGET", group + [group[0]], None))
        commands.append(("GET", [loose[1]], None))
        deleted = random.sample(sets + msets, 2)
        commands.append(("DEL", deleted, None))
        commands.append(("EXISTS", deleted + [sets[2], sets[2], loose[0]], None))
        counter = random.choice(self.counters)
        commands.append(("INCR", [counter], None))
        commands.append(("INCR", [counter], None))
        token = f"mark-{self.ident}-{self.serial}-{random.randrange(10**9)}"
        commands.append(("PING", [], token.encode()))

        wire = []
        for kind, keys, payload in commands:
            if kind == "SET":
                wire.append(resp("SET", keys[0], payload))
            elif kind == "MSET":
                wire.append(resp("MSET", *[x for pair in zip(keys, payload) for x in (pair[0], pair[1])]))
            elif kind == "PING":
                wire.append(resp("PING", payload))
            else:
                wire.append(resp(kind, *keys))
        request = b"".join(wire)
        sent = time.time()
        self.reader.raw = []
        self.request = request
        if random.random() < 0.1:  # sometimes in small pieces, to split frames anywhere
            view, offset = memoryview(request), 0
            while offset < len(request):
                step = random.randrange(1, 4000)
                self.sock.sendall(view[offset:offset + step])
                offset += step
        else:
            self.sock.sendall(request)
        self.pending = set(sum((keys for _, keys, _ in commands), []))

        replies = []
        for kind, keys, payload in commands:
            replies.append(self.reader.reply())
        now = time.time()
        received = b"".join(self.reader.raw)

        def exchange(index):
            kind, keys, _ = commands[index]
            return (f"{kind} {' '.join(keys)} -> {replies[index][0].decode()}"
                    f"{str(replies[index][1])[:120]}")

        for index, ((kind, keys, payload), (rtype, rvalue)) in enumerate(zip(commands, replies)):
            ex = exchange(index)
            with lock:
                rstats["replies"] += 1
            if rtype == b"-":
                self.note_error(rvalue, ex)
                if kind in ("SET", "MSET", "DEL", "INCR"):
                    for key in keys:
                        self.model[key] = (UNKNOWN, sent)
                if kind == "PING":
                    self.fail("PING answered with an error", ex)
                continue
            if kind in ("SET", "MSET"):
                if (rtype, rvalue) != (b"+", b"+OK"):
                    raise Desync(f"{kind} answered {rtype!r} {str(rvalue)[:80]}: {ex}")
                for key, value in zip(keys, payload if kind == "MSET" else [payload]):
                    self.model[key] = (value, sent)
            elif kind == "GET":
                if rtype != b"$":
                    raise Desync(f"GET answered {rtype!r} {str(rvalue)[:80]}: {ex}")
                self.expect_get(keys[0], rvalue, now, ex)
            elif kind == "MGET":
                if rtype != b"*" or rvalue is None or len(rvalue) != len(keys):
                    raise Desync(f"MGET of {len(keys)} keys answered {rtype!r} {str(rvalue)[:80]}: {ex}")
                for key, (etype, element) in zip(keys, rvalue):
                    if etype != b"$":
                        self.fail(f"MGET element for {key} is {etype!r} {str(element)[:60]}", ex)
                    else:
                        self.expect_get(key, element, now, ex)
            elif kind in ("DEL", "EXISTS"):
                if rtype != b":":
                    raise Desync(f"{kind} answered {rtype!r} {str(rvalue)[:80]}: {ex}")
                states = [self.model[key] for key in keys]
                if all(want is not UNKNOWN for want, _ in states):
                    counted = keys if kind == "EXISTS" else set(keys)
                    expected = sum(1 for key in counted if self.model[key][0] is not None)
                    if rvalue != expected:
                        self.suspect(min(since for _, since in states), now,
                                     f"{kind} answered {rvalue}, expected {expected}", ex)
                if kind == "DEL":
                    for key in keys:
                        self.model[key] = (None, sent)
            elif kind == "INCR":
                if rtype != b":":
                    raise Desync(f"INCR answered {rtype!r} {str(rvalue)[:80]}: {ex}")
                want, since = self.model[keys[0]]
                if want is not UNKNOWN and rvalue != (want or 0) + 1:
                    self.suspect(since, now, f"INCR answered {rvalue}, expected {(want or 0) + 1}", ex)
                self.model[keys[0]] = (rvalue, sent)
            elif kind == "PING":
                if (rtype, rvalue) != (b"$", payload):
                    raise Desync(f"PING {payload!r} answered {rtype!r} {str(rvalue)[:80]}: {ex}")
        with lock:
            rstats["batches"] += 1
        self.pending = set()
        return received

    def run(self):
        try:
            self.connect()
        except OSError as error:
            with lock:
                problems.append(f"client {self.ident}: cannot connect: {error}")
            return
        self.pending = set()
        while time.time() < self.deadline and not stopping.is_set():
            try:
                self.batch()
                continue
            except socket.timeout:
                with lock:
                    rstats["hangs"] += 1
                    problems.append(f"client {self.ident}: no reply within 5 s; sent {len(self.request)} bytes "
                                    f"{self.request[:300]!r}... read so far {b''.join(self.reader.raw)[-300:]!r}")
            except Desync as error:
                with lock:
                    rstats["desyncs"] += 1
                    problems.append(f"client {self.ident}: desync: {error}")
            except (Closed, ConnectionError) as error:
                with lock:
                    rstats["closed"] += 1
                    problems.append(f"client {self.ident}: {error}")
            # The batch's writes may or may not have happened: their keys are unknown.
            for key in self.pending:
                self.model[key] = (UNKNOWN, time.time())
            try:
                self.connect()
            except OSError as error:
                with lock:
                    problems.append(f"client {self.ident}: cannot reconnect: {error}")
                return


def check_suspects():
    """Confirm the nils, older values and wrong counts no disturbance explains."""
    times = sorted(disturbances)
    confirmed = []
    for written, read, what, exchange in suspects:
        first = bisect.bisect_left(times, written - QUIET_BEFORE)
        if first == len(times) or times[first] > read + QUIET_AFTER:
            confirmed.append(f"{what} (written {written:.3f}, read {read:.3f}, no disturbance between)\n    {exchange}")
    return confirmed


def proxy_counters(stats_port):
    """Sum of the proxy's per-server error, timeout, eof and ejection counters (or None)."""
    try:
        with socket.create_connection(("127.0.0.1", stats_port), timeout=2) as s:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        pool = json.loads(data)["soak"]
        total = pool.get("server_ejects", 0)
        for value in pool.values():
            if isinstance(value, dict):
                total += sum(value.get(name, 0) for name in ("server_err", "server_timedout", "server_eof"))
        return total
    except (OSError, ValueError, KeyError):
        return None


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = s.recv(100)
                if not chunk:
                    break
                reply += chunk
            return reply == b"+PONG\r\n"
    except OSError:
        return False


def bench_loop(proxy_port, log, runs):
    """redis-benchmark -P 16 through the proxy, restarted whenever it ends, until stopping."""
    command = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(proxy_port), "-c", "20", "-P", "16",
               "-r", "100000", "-n", "200000", "-d", "100", "-q",
               "-t", "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset"]
    while not stopping.is_set():
        with lock:
            if stopping.is_set():
                return
            proc = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            procs.append(proc)
        proc.wait()
        runs.append(proc.returncode)
        if proc.returncode != 0:
            stopping.wait(0.5)


def main_redis(options):
    for tool in ("redis-server", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"soak: {tool} is missing (apt-get install redis-server redis-tools)")
    bin_dir = build("golemproxy")
    work = tempfile.mkdtemp(prefix="golem-soak-redis-")
    ports = [free_port() for _ in range(3)]
    backends = {port: redis_server(port, work) for port in ports}
    for port in ports:
        if not wait_port(port):
            sys.exit(f"redis-server on {port} did not start")
    proxy_port, stats_port = free_port(), free_port()
    config = os.path.join(work, "soak.yml")
    with open(config, "w") as f:
        f.write(f"soak:\n  listen: 127.0.0.1:{proxy_port}\n  redis: true\n  hash: fnv1a_64\n"
                f"  hash_tag: \"{{}}\"\n  distribution: ketama\n  timeout: 1000\n  auto_eject_hosts: true\n"
                f"  server_failure_limit: 2\n  server_retry_timeout: 2000\n  servers:\n")
        for index, port in enumerate(ports):
            f.write(f"   - 127.0.0.1:{port}:1 r{index}\n")
    proxy_log = open(os.path.join(work, "golemproxy.log"), "w")
    proxy = subprocess.Popen([os.path.join(bin_dir, "golemproxy"), "-c", config, "--threads", "2",
                              "-s", str(stats_port), "-a", "127.0.0.1", "-i", "200", "-v", "5"],
                             stdout=proxy_log, stderr=proxy_log)
    procs.append(proxy)
    if not wait_port(proxy_port):
        sys.exit("golemproxy did not start")
    start = time.time()
    deadline = start + options.seconds
    bench_log = open(os.path.join(work, "redis-benchmark.log"), "w")
    runs = []
    load = threading.Thread(target=bench_loop, args=(proxy_port, bench_log, runs), daemon=True)
    load.start()
    workers = [threading.Thread(target=RedisVerifier(proxy_port, i, deadline).run, daemon=True) for i in range(8)]
    for worker in workers:
        worker.start()
    counters = [proxy_counters(stats_port)]

    def watch_counters():
        # A change in the proxy's error, timeout or ejection counters disturbs the pool.
        now = proxy_counters(stats_port)
        if now is not None and now != counters[0]:
            disturb()
            counters[0] = now

    samples, rstats["restarts"] = chaos(proxy, backends, ports, lambda port: redis_server(port, work), start, deadline,
                                        problems, tick=watch_counters, disturb=disturb)
    for worker in workers:
        worker.join(timeout=15)
    hung_workers = sum(1 for worker in workers if worker.is_alive())
    alive = proxy.poll() is None
    answers = alive and ping(proxy_port)
    with lock:
        stopping.set()
        for proc in procs:
            if proc.args[0] == "redis-benchmark" and proc.poll() is None:
                proc.kill()
                proc.wait()
    load.join(timeout=10)
    time.sleep(QUIET_AFTER)  # let a late disturbance (stats lag) count before judging
    confirmed = check_suspects()
    with lock:
        rstats["wrong"] += len(confirmed)
        problems.extend(confirmed)
    rss_minute = next((rss for t, rss in samples if t >= 60), None)
    rss_end = samples[-1][1] if samples else 0
    first_half, second_half = rss_growth(samples, options.seconds)
    growth_kb = second_half - first_half
    print(f"soak --redis: {options.seconds}s, {rstats['restarts']} backend restarts, {rstats['batches']} batches, "
          f"{rstats['replies']} replies verified ({rstats['values']} values), {rstats['wrong']} wrong replies, "
          f"{rstats['desyncs']} desyncs, {rstats['hangs']} hangs, {rstats['closed']} connections closed by the proxy, "
          f"{0 if answers else 1} proxy crashes (running: {alive}, answers PING: {answers})")
    print(f"soak --redis: explained by a restart or ejection: {rstats['nils_allowed']} nils, "
          f"{rstats['stale_allowed']} older values; {rstats['errors']} error replies: "
          + ", ".join(f"{count} {text!r}" for text, count in sorted(error_kinds.items(), key=lambda x: -x[1])))
    trace = [next(f"{t:.0f}s {rss}" for t, rss in samples if t >= mark)
             for mark in range(30, int(samples[-1][0]) + 1, 30)] if samples else []
    print(f"soak --redis: proxy RSS every 30 s (KB): {', '.join(trace)}")
    print(f"soak --redis: proxy RSS at 1 minute {rss_minute if rss_minute is not None else 'n/a'} KB, at the end "
          f"{rss_end} KB; after warm-up: first half max {first_half} KB, "
          f"second half max {second_half} KB (growth {growth_kb} KB)")
    bench_log.flush()
    with open(bench_log.name, errors="replace") as f:
        bench_errors = f.read().count("Error")
    print(f"soak --redis: redis-benchmark -P 16: {len(runs)} runs, {sum(1 for rc in runs if rc > 0)} of them "
          f"stopped by an error reply ({bench_errors} 'Error from server' lines), as expected while backends restart")
    for problem in problems[:10]:
        print("soak: PROBLEM:", problem)
    ok = (rstats["wrong"] == 0 and rstats["desyncs"] == 0 and rstats["hangs"] == 0 and rstats["closed"] == 0
          and hung_workers == 0 and rstats["replies"] > 0 and answers and growth_kb < 20_000)
    print("soak: PASS" if ok else f"soak: FAIL (logs in {work})")
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--redis", action="store_true", help="soak a Redis pool instead of a memcache pool")
    options = parser.parse_args()
    return main_redis(options) if options.redis else main_memcache(options)


def terminate(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)  # also when started in the background with SIGINT ignored
    code = 1
    try:
        code = main()
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        code = 130
    finally:
        with lock:
            stopping.set()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sys.exit(code)
