"""Packaging (no Docker engine on CI): the Dockerfile names only files that
exist and the binary path the Makefile builds; the systemd unit is hardened;
make install honours PREFIX and DESTDIR; the man page and --help agree."""

import os
import re
import shutil
import subprocess
import tempfile

from harness import run_cli, REPO_ROOT, repo_file

ROOT = REPO_ROOT
_read = repo_file


def test_dockerfile_copies_existing_files():
    text = _read("docker/Dockerfile")
    copies = re.findall(r"^COPY\s+(?!--from)(.+)$", text, re.M)
    assert copies, "no COPY lines"
    for line in copies:
        parts = line.split()
        for src in parts[:-1]:
            assert os.path.exists(os.path.join(ROOT, src)), "COPY source missing: " + src


def test_dockerfile_binary_is_the_makefile_binary():
    docker = _read("docker/Dockerfile")
    make = _read("Makefile")
    m = re.search(r"^RUN make (\S+)$", docker, re.M)
    assert m, "the build stage runs no make target"
    target = m.group(1)
    assert re.search(r"^%s:" % re.escape(target), make, re.M), "Makefile has no " + target
    assert "COPY --from=build /src/%s " % target in docker, "runtime stage copies another path"
    assert "HEALTHCHECK" in docker and "USER shikaku" in docker
    assert re.search(r"^VOLUME", docker, re.M), "data is not on a volume"


def test_compose_points_at_the_dockerfile():
    compose = _read("docker/compose.yaml")
    m = re.search(r"dockerfile:\s*(\S+)", compose)
    assert m and os.path.exists(os.path.join(ROOT, m.group(1))), compose


def test_systemd_unit_is_hardened():
    unit = _read("packaging/shikakud.service")
    for key in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=shikaku",
                "NoNewPrivileges=yes", "ExecStart=/usr/local/bin/shikakud serve"):
        assert key in unit, "missing " + key


def test_make_install_honours_prefix_and_destdir():
    dest = tempfile.mkdtemp(prefix="shikaku-install-")
    try:
        p = subprocess.run(["make", "-s", "install", "DESTDIR=" + dest, "PREFIX=/opt/shk"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-500:]
        for rel in ("opt/shk/bin/shikakud", "opt/shk/share/man/man1/shikakud.1",
                    "opt/shk/lib/systemd/system/shikakud.service"):
            assert os.path.isfile(os.path.join(dest, rel)), rel
        unit = open(os.path.join(dest, "opt/shk/lib/systemd/system/shikakud.service")).read()
        assert "ExecStart=/opt/shk/bin/shikakud serve" in unit, unit
        assert os.access(os.path.join(dest, "opt/shk/bin/shikakud"), os.X_OK)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_man_page_names_every_command_of_help():
    man = _read("packaging/shikakud.1")
    p = run_cli(["--help"])
    assert p.returncode == 0
    commands = re.findall(r"^  ([a-z]+)\b", p.stdout, re.M)
    assert commands, p.stdout
    for c in commands:
        assert ".B shikakud " + c in man or "shikakud " + c in man, "man page lacks " + c


# ---- docker/compose.yaml's scale-out profile (README, Scaling out) ----------------

def _compose():
    yaml = __import__("pytest").importorskip("yaml", reason="PyYAML (python3-yaml) not installed")
    return yaml.safe_load(_read("docker/compose.yaml"))


def test_compose_default_is_one_sqlite_service_and_scale_out_a_profile():
    services = _compose()["services"]
    default = [n for n, s in services.items() if not s.get("profiles")]
    assert default == ["shikaku"], default
    assert not services["shikaku"]["environment"]["SHIKAKU_DB"].startswith("postgres")
    scale = {n: s for n, s in services.items() if s.get("profiles") == ["scale-out"]}
    assert set(scale) == set(services) - {"shikaku"}, services.keys()
    pg = [n for n, s in scale.items() if s.get("image", "").startswith("postgres:")]
    assert len(pg) == 1, scale
    replicas = [n for n, s in scale.items()
                if str(s.get("environment", {}).get("SHIKAKU_DB", "")).startswith("postgresql://")]
    assert len(replicas) == 2, scale
    for n in replicas:
        env = scale[n]["environment"]
        # the URI names the database service and carries no password
        assert "@%s:" % pg[0] in env["SHIKAKU_DB"], env
        assert not re.search(r"//[^/@]*:[^/@]*@", env["SHIKAKU_DB"]), env["SHIKAKU_DB"]
        assert env["PGPASSWORD"].startswith("${"), "a literal password in compose.yaml"
        assert env["SHIKAKU_LISTEN"].startswith("0.0.0.0:") and "SHIKAKU_NO_AUTH" not in env
        assert pg[0] in scale[n]["depends_on"] and not scale[n].get("volumes")
        assert "/readyz" in " ".join(scale[n]["healthcheck"]["test"])
    lbs = [n for n, s in scale.items() if s.get("image", "").startswith("nginx:")]
    assert len(lbs) == 1 and set(replicas) <= set(scale[lbs[0]]["depends_on"]), scale


def test_compose_nginx_config_exists_proxies_to_both_replicas_and_parses():
    services = _compose()["services"]
    lb = next(s for s in services.values() if s.get("image", "").startswith("nginx:"))
    src = lb["volumes"][0].split(":")[0]
    conf_path = os.path.normpath(os.path.join(ROOT, "docker", src))
    assert os.path.isfile(conf_path), src
    conf = open(conf_path, encoding="utf-8").read()
    for name, s in services.items():
        if str(s.get("environment", {}).get("SHIKAKU_DB", "")).startswith("postgresql://"):
            port = s["environment"]["SHIKAKU_LISTEN"].rsplit(":", 1)[1]
            assert re.search(r"^\s*server\s+%s:%s\b" % (re.escape(name), port), conf, re.M), name
    assert "proxy_request_buffering off" in conf and "client_max_body_size 512m" in conf
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        return
    d = tempfile.mkdtemp(prefix="shikaku-nginx-")
    try:
        local = re.sub(r"\bshikaku-[ab]:", "127.0.0.1:", conf)
        open(os.path.join(d, "site.conf"), "w").write(local)
        open(os.path.join(d, "nginx.conf"), "w").write(
            "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\n"
            "http {\n  access_log off;\n  include %s/site.conf;\n}\n" % (d, d, d))
        p = subprocess.run([nginx, "-t", "-q", "-p", d, "-c", os.path.join(d, "nginx.conf")],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_dockerfile_installs_libpq_when_the_makefile_links_it():
    make = _read("Makefile")
    docker = _read("docker/Dockerfile")
    if "libpq" in make or "-lpq" in make:
        assert "libpq-dev" in docker and "libpq5" in docker, "the image cannot build or run"
