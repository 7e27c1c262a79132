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
