"""A throwaway PostgreSQL for the tests (issue 16): a cluster of its own in a
temporary directory, listening on a Unix socket in that directory only (no
TCP port), removed afterwards.

    cluster = PgCluster()          # initdb + pg_ctl start
    uri = cluster.new_database()   # postgresql:///t_1?host=DIR&user=postgres
    cluster.stop(); cluster.start(); cluster.kill()   # fault tests
    cluster.destroy()

initdb and pg_ctl come from the newest /usr/lib/postgresql/*/bin (Debian's
postgresql package, installed by `make deps`), else from PATH.  PostgreSQL
refuses to run as root: as root the directory is given to the `postgres`
user and every server command runs through `runuser -u postgres --`; as
another user it runs as that user.  fsync is off: the data is thrown away.
"""

import glob
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time


def _bin_dir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: [int(x) if x.isdigit() else 0
                                 for x in d.split("/")[-2].split(".")])
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(os.path.realpath(found))
    raise RuntimeError("no initdb: install PostgreSQL (make deps: postgresql)")


def available():
    """True when a cluster can be made here (initdb found)."""
    try:
        _bin_dir()
        return True
    except RuntimeError:
        return False


class PgCluster:
    def __init__(self, start=True):
        self.bin = _bin_dir()
        self.root = os.geteuid() == 0
        self.user = "postgres" if self.root else None
        self.dir = tempfile.mkdtemp(prefix="shikaku-pg-")
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir          # the socket: DIR/.s.PGSQL.5432
        self.log = os.path.join(self.dir, "server.log")
        self._names = itertools.count(1)
        self.db_user = "postgres" if self.root else _whoami()
        if self.root:
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(["initdb", "-D", self.data, "-A", "trust", "-U", self.db_user,
                   "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], quiet=True)
        if start:
            self.start()

    # -- commands ---------------------------------------------------------
    def _cmd(self, argv):
        argv = [os.path.join(self.bin, argv[0])] + argv[1:]
        if self.root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return argv

    def _run(self, argv, quiet=False, check=True):
        out = subprocess.run(self._cmd(argv), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=self.dir)
        if check and out.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (
                argv[0], out.returncode, out.stdout.decode(errors="replace")[-2000:]))
        return out

    def start(self, timeout=30):
        opts = ("-c listen_addresses='' -c unix_socket_directories='%s' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300 -c shared_buffers=32MB" % self.sock)
        self._run(["pg_ctl", "-D", self.data, "-l", self.log, "-o", opts,
                   "-w", "-t", str(timeout), "start"])

    def stop(self, mode="fast"):
        """Stops the server (mode: smart, fast or immediate)."""
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"],
                  check=False)

    def kill(self):
        """SIGKILL to the postmaster and every process of the server (a
        crash of the whole machine's database); start() recovers it."""
        pid = self.pid()
        if not pid:
            return
        procs = [pid] + _children(pid)
        for p in procs:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in procs):
            time.sleep(0.05)
        # an unreaped (zombie) postmaster still "exists" for the next
        # one's check of postmaster.pid: the lock goes, as after a reboot
        for f in (os.path.join(self.data, "postmaster.pid"),
                  os.path.join(self.sock, ".s.PGSQL.5432.lock")):
            try:
                os.unlink(f)
            except OSError:
                pass

    def pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        pid = self.pid()
        return bool(pid) and _alive(pid)

    # -- databases --------------------------------------------------------
    def uri(self, name="postgres"):
        return "postgresql:///%s?host=%s&user=%s" % (name, self.sock, self.db_user)

    def psql(self, sql, db="postgres"):
        """Runs sql with psql; returns its output (unaligned, tuples only)."""
        out = self._run(["psql", "-h", self.sock, "-U", self.db_user, "-d", db,
                         "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                         "-c", sql])
        return out.stdout.decode()

    def new_database(self, prefix="t"):
        """A fresh, empty database; returns its URI."""
        name = "%s_%d_%d" % (prefix, os.getpid(), next(self._names))
        self.psql('CREATE DATABASE "%s"' % name)
        return self.uri(name)

    def destroy(self):
        if os.path.isdir(self.data) and self.running():
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours is not alive
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid):
    """The processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def _whoami():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name
