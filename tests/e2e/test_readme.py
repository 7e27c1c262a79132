"""README's LAN example runs as written: the certificate command, a server
with it, and the curl line with --cacert answer a decision; the ports and
hosts of README's examples are the servers of openapi.yaml."""

import os
import re
import shlex
import subprocess
import tempfile

import harness
from harness import Server, run_cli, slow, REPO_ROOT, repo_file

ROOT = REPO_ROOT
_read = repo_file


def _lan_section():
    text = _read("README.md")
    start = text.index("### Serving the LAN, with keys")
    end = text.index("\n## ", start)
    return text[start:end]


def _commands(block):
    """The shell commands of the ```sh blocks of block, continuation lines
    joined, comments dropped."""
    out = []
    for code in re.findall(r"```sh\n(.*?)```", block, re.S):
        code = code.replace("\\\n", " ")
        for line in code.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def _servers():
    spec = _read("openapi.yaml")
    block = spec[spec.index("\nservers:"):spec.index("\nsecurity:")]
    return re.findall(r"url:\s*(\S+)", block)


def test_readme_tls_example_runs_with_its_certificate():
    cmds = _commands(_lan_section())
    openssl = [c for c in cmds if c.startswith("openssl req")]
    curls = [c for c in cmds if c.startswith("curl") and "https://" in c]
    assert openssl, "README's LAN section shows no command to make a certificate"
    assert curls, "README's LAN section shows no https curl line"
    d = tempfile.mkdtemp(prefix="shikaku-readme-")
    sub = lambda c: c.replace("/etc/shikaku", d)  # noqa: E731
    p = subprocess.run(shlex.split(sub(openssl[0])), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, cwd=d)
    assert p.returncode == 0, p.stderr[-500:]
    db = os.path.join(d, "shikaku.db")
    p = run_cli(["key", "create", "--db", db, "--role", "writer"])
    assert p.returncode == 0, p.stderr
    key = p.stdout.splitlines()[0].strip()
    with Server(["--tls-cert", os.path.join(d, "cert.pem"),
                 "--tls-key", os.path.join(d, "key.pem")], no_auth=False, db_path=db) as s:
        for line in curls:
            argv = shlex.split(sub(line))
            url = [a for a in argv if a.startswith("https://")][0]
            m = re.match(r"https://([^/:]+):(\d+)(/.*)", url)
            assert m, url
            host, path = m.group(1), m.group(3)
            argv = [a.replace("$K", "Authorization: Bearer " + key) for a in argv]
            argv = [("https://%s:%d%s" % (host, s.port, path)) if a == url else a for a in argv]
            argv += ["--resolve", "%s:%d:127.0.0.1" % (host, s.port), "--max-time",
                     str(slow(20)), "-w", "\n%{http_code}"]
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120, cwd=ROOT, env=harness.clean_env())
            assert r.returncode == 0, "README's curl line fails: %s" % r.stderr.decode()[-300:]
            body, code = r.stdout.decode().rsplit("\n", 1)
            assert code == "200" and '"certificate"' in body, r.stdout[:300]


def test_readme_ports_are_openapis_servers():
    servers = _servers()
    assert len(servers) >= 2, servers
    readme = _read("README.md")
    local, lan = servers[0], servers[1]
    assert local.startswith("http://127.0.0.1:"), local
    for url in set(re.findall(r"http://127\.0\.0\.1:\d+", readme)):
        assert url == local, "README uses %s, openapi.yaml's first server is %s" % (url, local)
    lan_urls = set(re.findall(r"https://[a-z.\-]+:\d+", readme))
    assert lan_urls, "README shows no https server"
    for url in lan_urls:
        assert url == lan.rstrip("/"), "README uses %s, openapi.yaml's LAN server is %s" % (
            url, lan)
    section = _lan_section()
    assert "--cacert" in section, "the TLS example cannot work with a self-signed certificate"
    assert re.search(r"new database holds no persons", section), \
        "README does not say that a new database has no demo persons"
