"""deploy/nginx's site file itself, rendered for a test and run by Debian's nginx.

Only what a test machine must change is changed: the ports (loopback, free ones), the
certificate (self-signed, made here), where logs and temporary files go (the test's folder, so
nginx runs without root), and the web processes' ports in the upstream.  Each change must find
its line exactly once: if the site file is rewritten so that it no longer does, the test says
which line went missing instead of quietly testing something else.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NGINX = Path("/usr/sbin/nginx")
SITE = REPO / "deploy" / "nginx" / "dangjian.conf"
UPSTREAM = REPO / "deploy" / "nginx" / "upstream-native.conf"
NATIVE_WEB_PORTS = (8081, 8082)  # the upstream's ports, as upstream-native.conf lists them


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and localhost, and its key."""
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    command = ["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    command += ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


def _swap(text: str, old: str, new: str, times: int = 1) -> str:
    found = text.count(old)
    assert found == times, f"deploy/nginx: expected {old!r} {times} time(s), found {found}"
    return text.replace(old, new)


def _servers(ports: tuple[int, ...]) -> str:
    return "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in ports)


@dataclass
class Site:
    folder: Path
    conf: Path
    cert: Path
    http_port: int
    https_port: int

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on the rendered configuration."""
        return subprocess.run(
            [str(NGINX), "-t", *self._where()], capture_output=True, text=True, timeout=30
        )

    def start(self) -> subprocess.Popen[bytes]:
        """nginx in the foreground, as the test's child: stopped with terminate()."""
        return subprocess.Popen(
            [str(NGINX), *self._where(), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=self.error_log.open("ab"),
        )

    def _where(self) -> list[str]:
        return ["-p", str(self.folder), "-c", str(self.conf), "-e", str(self.error_log)]


def render(folder: Path, web_ports: tuple[int, ...] = NATIVE_WEB_PORTS) -> Site:
    """The site and the native upstream in `folder`, on free loopback ports, for web processes
    listening on `web_ports` (127.0.0.1)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    http_port, https_port = free_port(), free_port()
    site = SITE.read_text(encoding="utf-8")
    site = _swap(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = _swap(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = _swap(site, "/etc/dangjian/tls/fullchain.pem", str(cert))
    site = _swap(site, "/etc/dangjian/tls/privkey.pem", str(key))
    site = _swap(site, "/var/log/nginx/access.log", str(folder / "access.log"), times=2)
    upstream = _swap(
        UPSTREAM.read_text(encoding="utf-8"), _servers(NATIVE_WEB_PORTS), _servers(web_ports)
    )
    (folder / "site.conf").write_text(site, encoding="utf-8")
    (folder / "upstream.conf").write_text(upstream, encoding="utf-8")
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers would run as `nobody`, who cannot enter the test's folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\n"
        "events { worker_connections 256; }\n"
        f"http {{\n  {temp}\n  include {folder / 'upstream.conf'};\n"
        f"  include {folder / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    return Site(folder, conf, cert, http_port, https_port)
