"""Real Redis, Redis Cluster and PostgreSQL servers for the store tests, on 127.0.0.1 only.

Each server runs in its own temporary directory (TMPDIR/rolltoken-{redis,cluster,pg}-PID-*)
and its own process group (a new session), with a parent-death signal (SIGKILL) on Linux, and
every process is registered for an atexit SIGKILL: nothing outlives the test run. Once a
server is spawned, SIGTERM raises KeyboardInterrupt (pytest then tears the fixtures down), the
test process is a child subreaper (the backends of a killed PostgreSQL are reaped, not left as
zombies), and the directories of earlier runs whose process is gone are removed. Every wait
is bounded; a server that does not come up in time is killed and the error carries the tail
of its log.

    RedisServer(replica_of=None)   redis-server, AOF on with appendfsync always, no RDB
    RedisCluster()                 6 nodes (3 masters, 3 replicas), node timeout 2000 ms
    PostgresServer()               initdb -U postgres -A trust, fsync on; run as the
                                   unprivileged user rolltoken-pg when started as root

start()/stop()/kill()/restart() keep the data directory; close() stops and removes it. The
classes are context managers (start on enter, close on exit). A missing program raises
MissingBinary (a FileNotFoundError) with the program's name.
"""

from __future__ import annotations

import abc

import atexit
import ctypes
import glob
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import AbstractSet, Callable, Dict, List, Optional, Set, Tuple, Type, TypeVar, cast

import psycopg
import redis
from psycopg.rows import TupleRow
from redis.cluster import ClusterNode

HOST = "127.0.0.1"
START_TIMEOUT = 10.0  # until a server answers
STOP_TIMEOUT = 10.0  # graceful stop, then SIGKILL
CLUSTER_TIMEOUT = 30.0  # until a cluster is healthy (created, or a node rejoined)
PG_USER = "rolltoken-pg"  # the unprivileged system user PostgreSQL runs as under root

Address = Tuple[str, int]
_S = TypeVar("_S", bound="_Managed")


class MissingBinary(FileNotFoundError):
    """A server program is not installed."""


class ServerError(RuntimeError):
    """A server did not start, or did not reach the expected state in time."""


# ---------------------------------------------------------------------------------------------
# ports, binaries, processes


_handed_out: Set[int] = set()
_rng = random.Random(os.getpid() ^ time.monotonic_ns())


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(*, with_bus: bool = False) -> int:
    """A TCP port free on 127.0.0.1, below the ephemeral range (so that a restart on the same
    port does not race the kernel handing it to an outgoing connection), never handed out
    twice by this process. with_bus: port + 10000 (the Redis Cluster bus) is free as well."""
    for _ in range(1000):
        port = _rng.randrange(10000, 22700)
        if port in _handed_out or (with_bus and port + 10000 in _handed_out):
            continue
        if _bindable(port) and (not with_bus or _bindable(port + 10000)):
            _handed_out.add(port)
            if with_bus:
                _handed_out.add(port + 10000)
            return port
    raise ServerError("no free port on 127.0.0.1 between 10000 and 22700")


def _postgres_bindirs() -> List[str]:
    def version(d: str) -> float:
        m = re.search(r"/(\d+(?:\.\d+)?)/bin$", d)
        return float(m.group(1)) if m else 0.0

    return sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)


def find_binary(name: str) -> str:
    """name from PATH, then /usr/lib/postgresql/*/bin (newest first), /usr/bin, /usr/sbin,
    /usr/local/bin; MissingBinary when nowhere."""
    found = shutil.which(name)
    if found:
        return found
    for d in [*_postgres_bindirs(), "/usr/bin", "/usr/sbin", "/usr/local/bin"]:
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise MissingBinary(
        f"{name} not found (PATH, /usr/lib/postgresql/*/bin, /usr/bin): "
        "python/run-tests.sh installs redis-server, redis-tools and postgresql"
    )


def find_postgres_binary(name: str) -> str:
    """A PostgreSQL program from the same directory as initdb (PATH's initdb resolved through
    its symlinks, else the newest /usr/lib/postgresql/*/bin), so that initdb, postgres and
    pgbench are one version. /usr/bin/pgbench is Debian's pg_wrapper, not the program."""
    initdb = os.path.realpath(find_binary("initdb"))
    path = os.path.join(os.path.dirname(initdb), name)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return find_binary(name)


_live: Dict[int, "subprocess.Popen[bytes]"] = {}  # pid -> process, each a group leader


_temp_dirs: Set[Path] = set()


_DIR_PREFIXES = ("rolltoken-redis-", "rolltoken-cluster-", "rolltoken-pg-")
_swept = False


def _sweep_stale_dirs() -> None:
    # The directories of a run that was SIGKILLed (no atexit): PREFIX-PID-..., PID gone.
    global _swept
    if _swept:
        return
    _swept = True
    base = Path(tempfile.gettempdir())
    for prefix in _DIR_PREFIXES:
        for path in base.glob(prefix + "*"):
            owner = path.name[len(prefix) :].split("-", 1)[0]
            if owner.isdigit() and int(owner) != os.getpid() and not pid_alive(int(owner)):
                shutil.rmtree(path, ignore_errors=True)


def _mkdtemp(prefix: str) -> Path:
    assert prefix in _DIR_PREFIXES
    _sweep_stale_dirs()
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    _temp_dirs.add(path)
    return path


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    _temp_dirs.discard(path)


def _kill_all_at_exit() -> None:
    for pid, proc in list(_live.items()):
        _kill_group(proc)
        _live.pop(pid, None)
    for path in list(_temp_dirs):
        _rmtree(path)


atexit.register(_kill_all_at_exit)

_PR_SET_PDEATHSIG = 1
_libc: Optional[ctypes.CDLL] = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        _libc = None


def _child_setup() -> None:
    # Runs in the child after setsid and the uid change, before exec: SIGKILL it when the
    # parent (pytest) dies, even by SIGKILL, when atexit cannot run.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _sigterm_to_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _handle_sigterm() -> None:
    # SIGTERM's default kills Python without teardown or atexit; as KeyboardInterrupt, pytest
    # stops and tears the session fixtures down (and the atexit kill runs).
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _sigterm_to_keyboard_interrupt)


def _spawn(
    argv: List[str], *, cwd: Path, log: Path, user: Optional[pwd.struct_passwd] = None
) -> "subprocess.Popen[bytes]":
    _become_subreaper()
    _handle_sigterm()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
    _live[proc.pid] = proc
    return proc


class _Stat:
    """The fields of /proc/PID/stat the cleanup needs."""

    def __init__(self, pid: int, text: str) -> None:
        self.pid = pid
        fields = text[text.rfind(")") + 2 :].split()  # state ppid pgrp session ...
        self.state = fields[0]
        self.ppid = int(fields[1])
        self.pgrp = int(fields[2])
        self.comm = text[text.find("(") + 1 : text.rfind(")")]


def _stat(pid: int) -> Optional[_Stat]:
    try:
        return _Stat(pid, Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def _all_stats() -> List[_Stat]:
    stats = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                stats.append(st)
    return stats


def pid_alive(pid: int) -> bool:
    """pid exists and is not a zombie."""
    st = _stat(pid)
    return st is not None and st.state != "Z"


def tree_pids(leader: int) -> List[int]:
    """The live (not zombie) processes of leader's process group and of its descendants
    (PostgreSQL's children each call setsid, so the group alone is not enough)."""
    stats = [st for st in _all_stats() if st.state != "Z"]
    children: Dict[int, List[int]] = {}
    for st in stats:
        children.setdefault(st.ppid, []).append(st.pid)
    found = {st.pid for st in stats if st.pgrp == leader}
    todo = [leader, *found]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return sorted(p for p in found if pid_alive(p))


_PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def _become_subreaper() -> None:
    # The processes a killed server leaves behind (PostgreSQL's backends, a Redis fork) are
    # re-parented to us rather than to PID 1 (which, in a container, may never reap them),
    # so that _reap_orphans can collect them: no zombies left behind.
    global _subreaper
    if _libc is not None and not _subreaper:
        _subreaper = _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _reap_orphans(pids: List[int]) -> None:
    """waitpid those of pids (a killed server's processes, never another Popen's) that were
    re-parented to us and are zombies."""
    me = os.getpid()
    for pid in pids:
        st = _stat(pid)
        if st is not None and st.ppid == me and st.state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    """SIGKILL the leader, its process group and its descendants; wait (bounded) until none
    is left, reaping what was re-parented to us."""
    victims = [p for p in tree_pids(proc.pid) if p != proc.pid]  # the leader is proc's
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    _live.pop(proc.pid, None)
    deadline = time.monotonic() + STOP_TIMEOUT
    while True:
        _reap_orphans(victims)
        left = [p for p in victims if pid_alive(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)


def _stop_group(proc: "subprocess.Popen[bytes]", sig: int, timeout: float = STOP_TIMEOUT) -> None:
    """sig to the leader, again every 0.5 s (redis-server refuses a SIGTERM while it writes
    its initial AOF, e.g. just after a replica's full sync), until it exits or timeout; then
    SIGKILL whatever is left (all of it on timeout)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
    _kill_group(proc)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_until(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while True:
        try:
            if check():
                return
            last = None
        except (redis.RedisError, psycopg.Error, OSError) as e:
            last = e
        if time.monotonic() > deadline:
            raise ServerError(f"{what}: not within {timeout:g} s" + (f" (last error: {last!r})" if last else ""))
        time.sleep(interval)


class _Managed(abc.ABC):
    """Context-manager protocol: start on enter, close on exit. Each server class defines
    both (abstract here, so a class that forgot one cannot be instantiated)."""

    @abc.abstractmethod
    def start(self) -> None:
        """Starts the server and waits until it answers."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stops the server and removes its files; idempotent."""

    def __enter__(self: _S) -> _S:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Redis


def _redis_client(port: int, timeout: float = 2.0) -> "redis.Redis":
    return redis.Redis(host=HOST, port=port, socket_timeout=timeout, socket_connect_timeout=timeout)


def _command(client: "redis.Redis", *args: object) -> object:
    """client.execute_command, which redis-py leaves unannotated."""
    return cast(Callable[..., object], client.execute_command)(*args)


_cluster_node = cast(Callable[[str, int], ClusterNode], ClusterNode)  # unannotated __init__


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _parse_info(reply: object) -> Dict[str, str]:
    """INFO or CLUSTER INFO, raw (key:value lines) or as redis-py parsed it (a dict)."""
    if isinstance(reply, dict):
        return {_text(k): _text(v) for k, v in reply.items()}
    out = {}
    for line in _text(reply).splitlines():
        if ":" in line and not line.startswith("#"):
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def _info(client: "redis.Redis", section: str) -> Dict[str, str]:
    return _parse_info(_command(client, "INFO", section))


class RedisServer(_Managed):
    """One redis-server on 127.0.0.1:port in a temporary directory: AOF with appendfsync
    always and no RDB snapshots, so restart() (same port, same directory) reloads every
    acknowledged write. replica_of: a replica of that (running) server; start() waits until
    its link to the primary is up, so WAIT 1 on the primary can succeed."""

    def __init__(self, *, replica_of: Optional[RedisServer] = None, port: Optional[int] = None) -> None:
        self.binary = find_binary("redis-server")
        self.replica_of = replica_of
        self._port = port if port is not None else free_port()
        self.dir = _mkdtemp("rolltoken-redis-")
        self.log = self.dir / "redis.log"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.extra_args: List[str] = []

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> Address:
        return (HOST, self._port)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self._port}/0"

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def pids(self) -> List[int]:
        """The live processes of this server's process group."""
        return tree_pids(self.proc.pid) if self.proc is not None else []

    def client(self, *, decode_responses: bool = False, socket_timeout: float = 5.0) -> "redis.Redis":
        """A client on 127.0.0.1:port, db 0."""
        return redis.Redis(
            host=HOST,
            port=self._port,
            db=0,
            decode_responses=decode_responses,
            socket_timeout=socket_timeout,
            socket_connect_timeout=2.0,
        )

    def argv(self) -> List[str]:
        argv = [
            self.binary,
            "--port", str(self._port),
            "--bind", HOST,
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--repl-diskless-sync-delay", "0",
            "--dir", str(self.dir),
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip
        if self.replica_of is not None:
            argv += ["--replicaof", HOST, str(self.replica_of.port)]
        return argv + self.extra_args

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if self.running:
            return
        self.proc = _spawn(self.argv(), cwd=self.dir, log=self.log)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, timeout: float) -> None:
        proc = self.proc
        assert proc is not None
        with _redis_client(self._port, 1.0) as c:

            def ready() -> bool:
                if proc.poll() is not None:
                    raise ServerError(f"redis-server on port {self._port} exited ({proc.returncode}):\n{_tail(self.log)}")
                if not c.ping():
                    return False
                if self.replica_of is not None:
                    if _info(c, "replication").get("master_link_status") != "up":
                        return False
                persistence = _info(c, "persistence")  # the initial AOF is written
                return persistence.get("aof_rewrite_in_progress") == "0" and persistence.get("aof_rewrite_scheduled") == "0"

            try:
                _wait_until(f"redis-server on port {self._port}", ready, timeout)
            except ServerError as e:
                raise ServerError(f"{e}\n{_tail(self.log)}") from None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Graceful: SIGTERM (redis-server shuts down, the AOF is fsynced), wait, SIGKILL on
        timeout."""
        if self.proc is not None:
            _stop_group(self.proc, signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL, no shutdown: only what the AOF holds survives (with appendfsync always,
        every acknowledged write)."""
        if self.proc is not None:
            _kill_group(self.proc)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Stop (if running) and start again on the same port with the same directory."""
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        self.stop()
        _rmtree(self.dir)


# ---------------------------------------------------------------------------------------------
# Redis Cluster

_SLOTS = 16384


class ClusterNodeInfo:
    """One line of CLUSTER NODES."""

    def __init__(self, line: str) -> None:
        parts = line.split()
        self.id = parts[0]
        addr = parts[1].split("@")[0].split(",")[0]
        host, _, port = addr.rpartition(":")
        self.host = host
        self.port = int(port) if port else 0
        self.flags = set(parts[2].split(","))
        self.master_id = parts[3] if parts[3] != "-" else None
        self.link = parts[7]
        self.slots: Set[int] = set()
        for item in parts[8:]:
            if item.startswith("["):
                continue  # a slot being imported or migrated
            lo, _, hi = item.partition("-")
            self.slots.update(range(int(lo), int(hi or lo) + 1))

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def failing(self) -> bool:
        return bool(self.flags & {"fail", "fail?", "handshake", "noaddr"})


def _cluster_nodes(client: "redis.Redis") -> List[ClusterNodeInfo]:
    reply = _command(client, "CLUSTER", "NODES")
    if not isinstance(reply, (bytes, str)):
        raise ServerError(f"CLUSTER NODES: unexpected reply {type(reply).__name__}")
    raw = _text(reply)
    return [ClusterNodeInfo(line) for line in raw.splitlines() if line.strip()]


class RedisCluster(_Managed):
    """A 6-node Redis Cluster on 127.0.0.1 (3 masters, each with one replica), every node a
    RedisServer-like process with AOF (appendfsync always) in its own directory; node timeout
    2000 ms and replica validity factor 0, so a replica always takes over from a killed
    master (in about 3 s)."""

    size = 6
    node_timeout_ms = 2000

    def __init__(self) -> None:
        self.redis_server = find_binary("redis-server")
        self.redis_cli = find_binary("redis-cli")
        self.dir = _mkdtemp("rolltoken-cluster-")
        self.ports: List[int] = [free_port(with_bus=True) for _ in range(self.size)]
        self.procs: Dict[int, subprocess.Popen[bytes]] = {}
        self.ids: Dict[int, str] = {}
        self._killed_slots: Dict[int, Set[int]] = {}

    # -- processes

    def _node_dir(self, port: int) -> Path:
        return self.dir / str(port)

    def _argv(self, port: int) -> List[str]:
        return [
            self.redis_server,
            "--port", str(port),
            "--bind", HOST,
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--cluster-replica-validity-factor", "0",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--repl-diskless-sync-delay", "0",
            "--dir", str(self._node_dir(port)),
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip

    def _start_node(self, port: int, timeout: float) -> None:
        d = self._node_dir(port)
        d.mkdir(exist_ok=True)
        log = d / "redis.log"
        proc = _spawn(self._argv(port), cwd=d, log=log)
        self.procs[port] = proc
        with _redis_client(port, 1.0) as c:

            def ready() -> bool:
                if proc.poll() is not None:
                    raise ServerError(f"cluster node {port} exited ({proc.returncode}):\n{_tail(log)}")
                return bool(c.ping())

            _wait_until(f"cluster node {port}", ready, timeout)

    def running(self, port: int) -> bool:
        proc = self.procs.get(port)
        return proc is not None and proc.poll() is None

    def pid(self, port: int) -> Optional[int]:
        return self.procs[port].pid if self.running(port) else None

    def pids(self) -> List[int]:
        """The live processes of every node's process group."""
        return [p for proc in self.procs.values() for p in tree_pids(proc.pid)]

    def start(self, timeout: float = CLUSTER_TIMEOUT) -> None:
        """Start the 6 nodes, create the cluster (redis-cli --cluster create, one replica per
        master) and wait until it is healthy."""
        if self.procs:
            return
        deadline = time.monotonic() + timeout
        try:
            for port in self.ports:
                self._start_node(port, START_TIMEOUT)
            for port in self.ports:
                with _redis_client(port) as c:
                    self.ids[port] = _text(_command(c, "CLUSTER", "MYID"))
            create = [self.redis_cli, "--cluster", "create", *(f"{HOST}:{p}" for p in self.ports),
                      "--cluster-replicas", "1", "--cluster-yes"]  # fmt: skip
            try:
                out = subprocess.run(
                    create,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=max(1.0, deadline - time.monotonic()),
                )
            except subprocess.TimeoutExpired as e:
                raise ServerError(f"redis-cli --cluster create: no answer within {e.timeout:g} s") from None
            if out.returncode != 0:
                raise ServerError(f"redis-cli --cluster create failed:\n{_text(out.stdout)}{_text(out.stderr)}")
            self.wait_healthy(max(1.0, deadline - time.monotonic()))
        except BaseException:
            self.close()
            raise

    def stop(self) -> None:
        """SIGTERM to every node, wait; SIGKILL on timeout. The directories stay."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            _stop_group(proc, signal.SIGTERM)

    def close(self) -> None:
        """Stop every node and remove the directories."""
        self.stop()
        for proc in self.procs.values():
            _kill_group(proc)
        _rmtree(self.dir)

    def kill(self, port: int) -> None:
        """SIGKILL one node (its slots, when a master, are remembered for wait_failover)."""
        if port not in self.procs:
            raise KeyError(f"no cluster node on port {port}")
        for view in self._views(exclude={port})[:1]:
            for n in view:
                if n.port == port and n.is_master and n.slots:
                    self._killed_slots[port] = set(n.slots)
        _kill_group(self.procs[port])

    def restart(self, port: int, timeout: float = CLUSTER_TIMEOUT) -> None:
        """Start a (killed or stopped) node again with its directory and nodes.conf; a former
        master whose slots a replica took over rejoins as that replica's replica. Waits until
        the cluster is healthy again."""
        if self.running(port):
            _stop_group(self.procs[port], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        self._start_node(port, START_TIMEOUT)
        self._killed_slots.pop(port, None)
        self.wait_healthy(max(1.0, deadline - time.monotonic()))

    # -- views

    def _views(self, exclude: AbstractSet[int] = frozenset()) -> List[List[ClusterNodeInfo]]:
        """CLUSTER NODES as seen by each running node (unreachable ones left out)."""
        views = []
        for port in self.ports:
            if port in exclude or not self.running(port):
                continue
            try:
                with _redis_client(port, 1.0) as c:
                    views.append(_cluster_nodes(c))
            except redis.RedisError:
                continue
        return views

    def _view(self) -> List[ClusterNodeInfo]:
        views = self._views()
        if not views:
            raise ServerError("no cluster node answers")
        return views[0]

    @property
    def nodes(self) -> List[Address]:
        """Every node's address, running or not."""
        return [(HOST, p) for p in self.ports]

    def masters(self) -> List[Address]:
        """The masters holding slots (as a running node sees it), by port."""
        return sorted((HOST, n.port) for n in self._view() if n.is_master and n.slots and not n.failing)

    def replicas(self) -> List[Address]:
        """The replicas not flagged failing (as a running node sees it), by port."""
        return sorted((HOST, n.port) for n in self._view() if "slave" in n.flags and not n.failing)

    def replicas_of(self, port: int) -> List[Address]:
        view = self._view()
        ids = {n.id for n in view if n.port == port}
        return sorted((HOST, n.port) for n in view if n.master_id in ids and not n.failing)

    def master_for_key(self, key: bytes) -> Address:
        """The master serving key's slot (CLUSTER KEYSLOT, then CLUSTER NODES)."""
        for port in self.ports:
            if not self.running(port):
                continue
            try:
                with _redis_client(port, 1.0) as c:
                    slot = int(_text(_command(c, "CLUSTER", "KEYSLOT", key)))
                    for n in _cluster_nodes(c):
                        if n.is_master and slot in n.slots:
                            return (HOST, n.port)
            except redis.RedisError:
                continue
        raise ServerError(f"no master for key {key!r}")

    def cluster_state(self, port: int) -> str:
        with _redis_client(port, 1.0) as c:
            return _info_cluster(c).get("cluster_state", "")

    def wait_failover(self, old_master_port: int, timeout: float = 15.0) -> Address:
        """Until every running node sees the slots of the (killed) master on old_master_port
        served by another master and says cluster_state:ok; returns that new master."""
        old_id = self.ids.get(old_master_port)
        slots = self._killed_slots.get(old_master_port)
        if slots is None:
            for n in self._view():
                if n.port == old_master_port:
                    slots = set(n.slots)
        if not slots:
            raise ServerError(f"node {old_master_port} held no slots: nothing to fail over")
        first = min(slots)
        result: List[Address] = []

        def done() -> bool:
            owners = set()
            running = [p for p in self.ports if self.running(p) and p != old_master_port]
            for port in running:
                with _redis_client(port, 1.0) as c:
                    if _info_cluster(c).get("cluster_state") != "ok":
                        return False
                    view = _cluster_nodes(c)
                owner = [n for n in view if n.is_master and first in n.slots]
                if len(owner) != 1 or owner[0].id == old_id or owner[0].port == old_master_port:
                    return False
                owners.add(owner[0].port)
            if len(owners) != 1:
                return False
            result.append((HOST, owners.pop()))
            return True

        _wait_until(f"failover of the master on port {old_master_port}", done, timeout, 0.1)
        return result[0]

    def wait_healthy(self, timeout: float = CLUSTER_TIMEOUT) -> None:
        """Until every node runs and says cluster_state:ok, every node sees all 6 nodes and
        none failing, the slots are covered by 3 masters, and each master has a replica whose
        link is up."""

        def healthy() -> bool:
            for port in self.ports:
                if not self.running(port):
                    raise ServerError(f"cluster node {port} is not running")
            for port in self.ports:
                with _redis_client(port, 1.0) as c:
                    if _info_cluster(c).get("cluster_state") != "ok":
                        return False
                    view = _cluster_nodes(c)
                    if len(view) != self.size or any(n.failing for n in view):
                        return False
                    masters = [n for n in view if n.is_master and n.slots]
                    if len(masters) != self.size // 2 or sum(len(n.slots) for n in masters) != _SLOTS:
                        return False
                    me = [n for n in view if "myself" in n.flags]
                    if me and "slave" in me[0].flags:
                        if _info(c, "replication").get("master_link_status") != "up":
                            return False
            view = self._view()
            for m in (n for n in view if n.is_master and n.slots):
                if not any(n.master_id == m.id and not n.failing for n in view):
                    return False
            return True

        try:
            _wait_until("the cluster to be healthy", healthy, timeout, 0.1)
        except ServerError as e:
            logs = "\n".join(f"--- node {p}:\n{_tail(self._node_dir(p) / 'redis.log', 8)}" for p in self.ports)
            raise ServerError(f"{e}\n{logs}") from None

    def client(self, *, decode_responses: bool = False, socket_timeout: float = 2.0) -> "redis.RedisCluster":
        """A cluster client with every node on 127.0.0.1 as a startup node."""
        return redis.RedisCluster(
            startup_nodes=[_cluster_node(HOST, p) for p in self.ports],
            decode_responses=decode_responses,
            socket_timeout=socket_timeout,
            socket_connect_timeout=1.0,
        )


def _info_cluster(client: "redis.Redis") -> Dict[str, str]:
    return _parse_info(_command(client, "CLUSTER", "INFO"))


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _unprivileged_user() -> Optional[pwd.struct_passwd]:
    """None when not root; else the system user rolltoken-pg (created when missing), since
    initdb and postgres refuse to run as root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        pass
    useradd = find_binary("useradd")
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", PG_USER],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )  # exit status 9 (exists) when another process created it meanwhile
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        raise ServerError(f"could not create the system user {PG_USER} to run PostgreSQL as") from None


class PostgresServer(_Managed):
    """A throwaway PostgreSQL cluster (initdb -U postgres -A trust) on 127.0.0.1:port, its
    Unix socket in its own directory, fsync on. Under root, initdb and postgres run as the
    system user rolltoken-pg (Popen user=/group=, no runuser or su in between, so the
    postmaster is our child and its process group leader)."""

    def __init__(self, *, port: Optional[int] = None) -> None:
        self.initdb = find_postgres_binary("initdb")
        self.postgres = find_postgres_binary("postgres")
        self._port = port if port is not None else free_port()
        self.user = _unprivileged_user()
        self.dir = _mkdtemp("rolltoken-pg-")
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "sock"
        self.log = self.dir / "postgres.log"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.extra_settings: Dict[str, str] = {}
        self._initialized = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{HOST}:{self._port}/postgres"

    @property
    def pgbench_path(self) -> str:
        return find_postgres_binary("pgbench")

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def pids(self) -> List[int]:
        """The live processes of the postmaster's process group (it and its backends)."""
        return tree_pids(self.proc.pid) if self.proc is not None else []

    def connect(self, *, autocommit: bool = False) -> "psycopg.Connection[TupleRow]":
        """A psycopg connection to the postgres database as the superuser postgres."""
        return psycopg.connect(self.dsn, autocommit=autocommit, connect_timeout=5)

    def _initdb(self) -> None:
        self.socket_dir.mkdir(exist_ok=True)
        if self.user is not None:
            for p in (self.dir, self.socket_dir):
                os.chown(p, self.user.pw_uid, self.user.pw_gid)
        argv = [self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync"]  # fmt: skip
        try:
            out = subprocess.run(
                argv,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
                preexec_fn=_child_setup,
                user=self.user.pw_uid if self.user else None,
                group=self.user.pw_gid if self.user else None,
                extra_groups=[] if self.user else None,
            )
        except subprocess.TimeoutExpired:
            raise ServerError("initdb: not done within 60 s") from None
        if out.returncode != 0:
            raise ServerError(f"initdb failed ({out.returncode}):\n{_text(out.stdout)}{_text(out.stderr)}")
        self._initialized = True

    def argv(self) -> List[str]:
        settings = {
            "listen_addresses": HOST,
            "port": str(self._port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            **self.extra_settings,
        }
        argv = [self.postgres, "-D", str(self.data)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if self.running:
            return
        if not self._initialized:
            self._initdb()
        self.proc = _spawn(self.argv(), cwd=self.dir, log=self.log, user=self.user)
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise ServerError(f"postgres on port {self._port} exited ({proc.returncode}):\n{_tail(self.log)}")
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True

        try:
            _wait_until(f"postgres on port {self._port}", ready, max(timeout, 1.0), 0.1)
        except ServerError as e:
            self.kill()
            raise ServerError(f"{e}\n{_tail(self.log)}") from None
        except BaseException:
            self.kill()
            raise

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Fast shutdown (SIGINT to the postmaster, as pg_ctl stop -m fast: sessions are ended,
        a checkpoint is written), wait, SIGKILL the group on timeout."""
        if self.proc is not None:
            _stop_group(self.proc, signal.SIGINT, timeout)

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends: crash recovery replays the WAL at the next
        start (fsync is on, so every committed transaction is there)."""
        if self.proc is not None:
            _kill_group(self.proc)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Stop -m fast (if running), start again on the same port with the same data."""
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        self.stop()
        _rmtree(self.dir)
