"""The deployment files are what they claim: the image installs exactly the locked dependencies,
compose and the systemd units run one scheduler beside the web processes, and each file passes
its own tool's check (systemd-analyze verify, nginx -t, docker compose config).

Fast: nothing is started.  tests/integration/test_behind_nginx.py runs the topology for real.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from server.settings import Settings
from tests.nginx_site import NGINX, SITE, render

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/dangjian/venv/bin/dangjian"  # where the units expect the command


# -- the lock ----------------------------------------------------------------------------------


def _locked(lock: str) -> dict[str, str]:
    return {
        canonicalize_name(m["name"]): m["version"]
        for m in re.finditer(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)", lock, re.M)
    }


# The oldest Python the lock serves: Debian 12's 3.11.2 is below some packages' markers (redis
# needs async-timeout below 3.11.3), the image's newer 3.11 above them.
OLDEST_PYTHON = {"python_full_version": "3.11.0", "python_version": "3.11"}


def _needed_but_unlocked(locked: dict[str, str], extras: dict[str, set[str]]) -> list[str]:
    """What the locked packages require, with this platform's Python or the oldest 3.11, that
    the lock lacks.  Read from the installed copies of exactly the locked versions."""
    problems = []
    for name, version in sorted(locked.items()):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        for line in dist.requires or []:
            needed = Requirement(line)
            environments = [
                {**python, "extra": extra}
                for python in ({}, OLDEST_PYTHON)
                for extra in ("", *extras.get(name, ()))
            ]
            if needed.marker and not any(needed.marker.evaluate(e) for e in environments):
                continue
            if canonicalize_name(needed.name) not in locked:
                problems.append(f"{needed.name} (for {name}) is not in requirements.lock")
    return problems


def lock_problems(pyproject: str, lock: str) -> list[str]:
    """Each runtime dependency (this platform's) missing from the lock or pinned outside its
    range, what those need that the lock lacks, and each pin without hashes."""
    locked = _locked(lock)
    problems = []
    extras: dict[str, set[str]] = {}
    for line in tomllib.loads(pyproject)["project"]["dependencies"]:
        wanted = Requirement(line)
        extras[canonicalize_name(wanted.name)] = set(wanted.extras)
        if wanted.marker and not wanted.marker.evaluate():
            continue
        name = canonicalize_name(wanted.name)
        if name not in locked:
            problems.append(f"{wanted.name} is not in requirements.lock")
        elif not wanted.specifier.contains(locked[name], prereleases=True):
            problems.append(f"{wanted.name}=={locked[name]} is outside {wanted.specifier}")
        for extra in sorted(wanted.extras):  # tortoise-orm[asyncpg], redis[hiredis]
            if canonicalize_name(extra) not in locked:
                problems.append(f"{wanted.name}[{extra}]: {extra} is not in requirements.lock")
    problems += _needed_but_unlocked(locked, extras)
    for pin in re.split(r"\n(?=[A-Za-z0-9])", lock):
        if re.match(r"[A-Za-z0-9._-]+==", pin) and "--hash=sha256:" not in pin:
            problems.append(f"{pin.split()[0]} has no hash")
    return problems


def test_the_lock_pins_every_runtime_dependency_with_its_hashes() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    assert lock_problems(pyproject, lock) == [], "run deploy/relock and commit requirements.lock"
    assert "deploy/relock" in lock.split("\n\n")[0]  # its header says how it is made again


def test_a_dependency_added_without_a_relock_is_caught() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    segno, aiohttp = _locked(lock)["segno"], _locked(lock)["aiohttp"]
    added = pyproject.replace('    "tqdm>=4.66,<5",', '    "tqdm>=4.66,<5",\n    "leftpad>=1",')
    raised = pyproject.replace('"aiohttp>=3.9,<4"', '"aiohttp>=3.99,<4"')
    unhashed = re.sub(r"(segno==\S+) \\\n(    --hash=\S+( \\)?\n)+", r"\1\n", lock)
    assert lock_problems(added, lock) == ["leftpad is not in requirements.lock"]
    assert lock_problems(raised, lock) == [f"aiohttp=={aiohttp} is outside <4,>=3.99"]
    assert lock_problems(pyproject, unhashed) == [f"segno=={segno} has no hash"]
    # What a package needs only on an older 3.11 (Debian 12's) must be locked too.
    older = re.sub(r"async-timeout==\S+ \\\n(    --hash=\S+( \\)?\n)+", "", lock)
    assert lock_problems(pyproject, older) == [
        "async-timeout (for redis) is not in requirements.lock"
    ]


# -- the image ---------------------------------------------------------------------------------


def test_the_image_installs_the_lock_then_the_project_and_runs_as_nobody_in_particular() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes --no-deps -r /tmp/requirements.lock" in dockerfile
    assert "pip install --no-deps /src" in dockerfile
    assert re.search(r"^FROM \$\{PYTHON\} AS build$", dockerfile, re.M)
    assert "ARG PYTHON=python:3.11-slim" in dockerfile
    assert re.search(r"^USER dangjian$", dockerfile, re.M)
    assert 'ENTRYPOINT ["dangjian"]' in dockerfile
    assert 'VOLUME ["/var/lib/dangjian"]' in dockerfile
    assert "DANGJIAN_DATA_DIR=/var/lib/dangjian" in dockerfile
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, re.M)
    # Every package the project installs is copied into the build (a new one would be missing
    # from the image while every test passed).
    found = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for pattern in found["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"COPY {package} /src/{package}" in dockerfile, package
    # No secret and no data reach the build.
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for path in (".env", ".venv", ".git", "data", "*.sqlite3", "*.dump", "certs"):
        assert path in ignored, path
    assert not re.search(r"^(ENV|ARG) .*(TOKEN|SECRET|AES_KEY|PASSWORD)", dockerfile, re.M)


def test_the_env_example_names_only_real_settings_and_holds_no_secret() -> None:
    known = {"POSTGRES_PASSWORD"}  # compose.yaml's, for PostgreSQL and the database URL
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        known.update(getattr(alias, "choices", None) or ([alias] if alias else []))
    lines = (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
    settings = [line for line in lines if re.match(r"#? ?[A-Z][A-Z0-9_]+=", line)]
    names = {re.sub(r"^# ?", "", line).split("=")[0] for line in settings}
    assert names - known == set()
    assert {"WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_SECRET", "POSTGRES_PASSWORD"} <= names
    for secret in ("WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_SECRET", "POSTGRES_PASSWORD"):
        assert f"{secret}=\n" in "\n".join(lines) + "\n", f"{secret} must be left empty"


# -- compose -----------------------------------------------------------------------------------


def _services(compose: str) -> dict[str, str]:
    """compose.yaml's services, each as its block of text (the file's own layout: two spaces
    for a service, deeper for what it holds)."""
    lines = compose.splitlines()
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[lines.index("services:") + 1 :]:
        if line and not line[0].isspace() and not line.startswith("#"):
            break  # the next top-level key
        named = re.match(r"^  ([A-Za-z0-9_-]+):\s*$", line)
        if named:
            current = blocks.setdefault(named[1], [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(block) for name, block in blocks.items()}


def _setting(block: str, name: str) -> str | None:
    found = re.findall(rf"^\s+{name}: \"?([^\"\n]*)\"?$", block, re.M)
    assert len(found) <= 1, name
    return found[0] if found else None


def test_compose_runs_one_scheduler_beside_web_processes_nginx_balances() -> None:
    compose = (REPO / "compose.yaml").read_text(encoding="utf-8")
    services = _services(compose)
    scheduling = {name: _setting(b, "DANGJIAN_SCHEDULER") for name, b in services.items()}
    assert [name for name, on in scheduling.items() if on == "true"] == ["scheduler"]
    web = sorted(name for name, on in scheduling.items() if on == "false" and name != "migrate")
    assert len(web) >= 2
    # Shared settings must not decide it: each process says for itself.
    shared = compose[compose.index("x-environment:") : compose.index("services:")]
    assert "DANGJIAN_SCHEDULER" not in shared
    # nginx balances exactly the web processes, never the scheduler (its own port).
    upstream = (DEPLOY / "nginx" / "upstream-compose.conf").read_text(encoding="utf-8")
    assert sorted(re.findall(r"^\s+server (\w+):8080\b", upstream, re.M)) == web
    assert _setting(services["scheduler"], "DANGJIAN_PORT") not in (None, "8080")
    # They start after the one-shot migration, on a healthy database and cache.
    anchor = compose[compose.index("x-dangjian:") : compose.index("x-environment:")]
    assert "<<: *dangjian" in services["scheduler"]
    assert all("<<: *dangjian" in services[name] for name in web)
    assert re.search(r"migrate:\n\s+condition: service_completed_successfully", anchor)
    for needed in ("postgres", "redis"):
        assert re.search(rf"{needed}:\n\s+condition: service_healthy", anchor)
        assert "healthcheck:" in services[needed]
    assert re.search(r"^\s+image: postgres:15$", services["postgres"], re.M)
    assert re.search(r"^\s+image: redis:7$", services["redis"], re.M)
    # Only nginx is published; it mounts the very site file the native install uses.
    assert [name for name, b in services.items() if "ports:" in b] == ["nginx"]
    assert "./deploy/nginx/dangjian.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_is_valid_and_refuses_to_run_without_a_database_password(
    tmp_path: Path,
) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    compose = (REPO / "compose.yaml").read_text(encoding="utf-8")
    if cli[-1].endswith("docker-compose"):
        # docker-compose 1.29 (Debian's) predates the top-level `name`; the rest it checks.
        compose = re.sub(r"^name: .*\n", "", compose, flags=re.M)
    (tmp_path / "compose.yaml").write_text(compose, encoding="utf-8")
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    (tmp_path / "deploy").symlink_to(DEPLOY)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}

    def config(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, "config", *args],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    checked = config("-q", POSTGRES_PASSWORD="0123456789abcdef")
    assert checked.returncode == 0, checked.stderr
    refused = config("-q")
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr
    if cli[-1] == "compose":  # v2 says what it resolved, anchors and env file included
        resolved = json.loads(config("--format", "json", POSTGRES_PASSWORD="x1").stdout)
        scheduling = {
            name: s.get("environment", {}).get("DANGJIAN_SCHEDULER")
            for name, s in resolved["services"].items()
        }
        assert [n for n, on in scheduling.items() if on == "true"] == ["scheduler"]
        assert {n for n, on in scheduling.items() if on == "false"} >= {"web1", "web2"}
        assert resolved["services"]["web1"]["environment"]["DANGJIAN_ENV"] == "production"


# -- systemd -----------------------------------------------------------------------------------


def _units(folder: Path) -> Path:
    """The units with the command where this test can run it (verify checks it exists)."""
    here = Path(sys.executable).parent / "dangjian"
    for unit in UNITS.iterdir():
        text = unit.read_text(encoding="utf-8").replace(INSTALLED, str(here))
        (folder / unit.name).write_text(text, encoding="utf-8")
    return folder


def _verify(folder: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(folder / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
    )


UNIT_NAMES = (
    "dangjian-web@8081.service",
    "dangjian-scheduler.service",
    "dangjian-backup.service",
    "dangjian-backup.timer",
)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    done = _verify(_units(tmp_path), *UNIT_NAMES)
    assert (done.returncode, done.stderr) == (0, "")
    # The check does catch a mistake (a misspelt hardening key is only a warning to systemd).
    broken = tmp_path / "dangjian-scheduler.service"
    broken.write_text(broken.read_text().replace("ProtectSystem=", "ProtectSystm="))
    assert "Unknown key" in _verify(tmp_path, "dangjian-scheduler.service").stderr


def _directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_units_run_one_scheduler_hardened_with_settings_from_one_file() -> None:
    web = _directives((UNITS / "dangjian-web@.service").read_text(encoding="utf-8"))
    scheduler = _directives((UNITS / "dangjian-scheduler.service").read_text(encoding="utf-8"))
    backup = _directives((UNITS / "dangjian-backup.service").read_text(encoding="utf-8"))
    # Set after the env file, on the command line, so the env file cannot undo it.
    assert web["ExecStart"] == [
        f"/usr/bin/env DANGJIAN_SCHEDULER=false {INSTALLED} serve --host 127.0.0.1 --port %i"
    ]
    assert scheduler["ExecStart"] == [
        f"/usr/bin/env DANGJIAN_SCHEDULER=true {INSTALLED} serve --host 127.0.0.1 --port 8090"
    ]
    assert backup["ExecStart"] == [f"{INSTALLED} backup"]
    native = (DEPLOY / "nginx" / "upstream-native.conf").read_text(encoding="utf-8")
    assert ":8090" not in native and "127.0.0.1:8081" in native
    for unit in (web, scheduler, backup):
        assert unit["EnvironmentFile"] == ["/etc/dangjian/env"]
        assert unit["User"] == ["dangjian"]
        assert unit["ProtectSystem"] == ["strict"]
        assert unit["ReadWritePaths"] == ["/var/lib/dangjian"]
        assert unit["NoNewPrivileges"] == ["yes"] and unit["PrivateTmp"] == ["yes"]
        assert unit["CapabilityBoundingSet"] == [""]
        assert "StandardOutput" not in unit  # journald, the default
    assert web["Restart"] == scheduler["Restart"] == ["on-failure"]
    timer = _directives((UNITS / "dangjian-backup.timer").read_text(encoding="utf-8"))
    assert timer["OnCalendar"] == ["*-*-* 02:15"]  # as README's Backups says


# -- nginx -------------------------------------------------------------------------------------


@pytest.mark.skipif(not NGINX.exists(), reason="nginx is not installed (apt-get install nginx)")
def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    site = render(tmp_path)
    checked = site.check()
    assert checked.returncode == 0, checked.stderr
    # And nginx -t does fail on a broken site.
    site.conf.write_text(site.conf.read_text().replace("include", "inclde", 1))
    assert site.check().returncode != 0


def test_the_nginx_site_keeps_wechat_inside_its_5_seconds_and_the_app_s_body_limit() -> None:
    site = SITE.read_text(encoding="utf-8")
    wechat = site[site.index("location ^~ /wechat {") :].split("}")[0]
    for name in ("proxy_read_timeout", "proxy_send_timeout", "proxy_connect_timeout"):
        seconds = re.search(rf"{name} (\d+)s;", wechat)
        assert seconds and int(seconds[1]) <= 5, name
    limit = re.search(r"client_max_body_size (\d+)k;", site)
    assert limit and int(limit[1]) * 1024 == Settings.model_fields["max_body_bytes"].default
    assert "location = /metrics {\n        return 404;" in site
    assert "location ^~ /fake-wechat {\n        return 404;" in site
    # Replaced, never appended to: the caller's own entry must not reach a process.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "$proxy_add_x_forwarded_for" not in site
