#!/usr/bin/env python3
"""Soak test: golemproxy under load while its backends are killed and restarted.

Starts 3 memcached servers and golemproxy (2 workers) on loopback, drives golem-bench
through the proxy for background load, and runs verifying clients whose values carry
their own key: every reply must be the value just stored, a miss (the server was
restarted and lost its data) or a SERVER_ERROR (the server was down) -- never another
key's value, never a hang. A killer restarts a random backend every few seconds. The
proxy's resident memory is sampled; after warm-up it must stop growing. Bounded:
--seconds (default 600). Loopback only; stops everything it started.
"""
import argparse, os, random, signal, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
procs = []
lock = threading.Lock()
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=600)
    options = parser.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "golemproxy"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["swift", "build", "-c", "release", "--product", "golem-bench"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    bin_dir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
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
    workers = [threading.Thread(target=verifier, args=(proxy_port, i, deadline)) for i in range(8)]
    for worker in workers:
        worker.start()
    samples = []
    next_kill = time.time() + 5
    while time.time() < deadline:
        time.sleep(1)
        samples.append((time.time() - start, rss_kb(proxy.pid)))
        if proxy.poll() is not None:
            problems.append(f"golemproxy exited with {proxy.returncode}")
            break
        if time.time() >= next_kill:
            port = random.choice(ports)
            backends[port].kill()
            backends[port].wait()
            time.sleep(1.5)
            backends[port] = memcached(port)
            wait_port(port)
            stats["restarts"] += 1
            next_kill = time.time() + random.uniform(3, 8)
    for worker in workers:
        worker.join(timeout=15)
    bench = load.communicate(timeout=60)[0]
    warm = [rss for t, rss in samples if t >= options.seconds * 0.2]
    half = len(warm) // 2
    growth_kb = (max(warm[half:]) - max(warm[:half])) if half else 0
    print(f"soak: {options.seconds}s, {stats['restarts']} backend restarts, verified {stats['verified']} values, "
          f"{stats['misses']} misses after restarts, {stats['server_errors']} SERVER_ERROR replies, "
          f"{stats['corrupt']} wrong or desynchronised replies, {stats['hangs']} hangs")
    print(f"soak: proxy RSS after warm-up: first half max {max(warm[:half]) if half else 0} KB, "
          f"second half max {max(warm[half:]) if half else 0} KB (growth {growth_kb} KB)")
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


if __name__ == "__main__":
    try:
        code = main()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sys.exit(code)
