"""The hub role (ansible/roles/hub) provisions a working regional hub into a fresh Debian
bookworm root, as an image build would: ansible-playbook -c local inside the root with
image_build=true, a second run that changes nothing, then the root booted with
`systemd-nspawn --boot --private-network`. From inside the container's network namespace,
nginx answers /healthz over TLS (self-signed certificate) from the hub started by its own
unit, the hub's data lives in PostgreSQL, the first admin signs in over HTTPS, and the
nightly backup's pg_dump reads back.

Needs root, debootstrap, systemd-nspawn and nsenter (the base root comes from
images/rootfs.sh --no-role, cached per day in build/cache, as are the .deb files); about
4-5 minutes, each step's time printed as it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.provision.conftest import (
    CACHE,
    REPO,
    BootedRoot,
    booted,
    build_root,
    chroot_mounts,
    parse_recap,
    remove_root,
    require_root_build,
)

WHEELHOUSE = REPO / "build" / "wheels-hub-x86_64"
PROVISION = "/var/lib/epn-provision"
HUB_NAME = "test-hub"
SERVER_NAME = "hub.test"
ADMIN = ("ada", "correct-horse-battery-9")
DATA = "/var/lib/epn-hub/data"
BACKUPS = "/var/backups/epn-hub"
EXTRA_VARS = {
    "image_build": True,
    "epn_wheelhouse": f"{PROVISION}/wheelhouse-hub",
    "epn_hub_name": HUB_NAME,
    "epn_hub_server_name": SERVER_NAME,
    "epn_hub_admin_user": ADMIN[0],
    "epn_hub_admin_password": ADMIN[1],
    "epn_hub_backup_keep_days": 7,
}


@dataclass
class Timings:
    """Prints each step's time on the terminal as it ends (past pytest's output capture)."""

    config: pytest.Config
    started: float = field(default_factory=time.monotonic)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.say(f"[hub role] {name}: {time.monotonic() - start:.1f} s")

    def say(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capture is None:
            print(line)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


@dataclass
class Provisioned:
    root: Path
    first: str
    second: str
    timings: Timings


def changed_tasks(output: str) -> list[str]:
    """Names of the tasks reported changed (to say which one broke idempotence)."""
    names, current = [], ""
    for line in output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            current = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif line.startswith("changed:") and current not in names:
            names.append(current)
    return names


def build_wheelhouse(timings: Timings) -> None:
    with timings.step("wheelhouse (scripts/wheelhouse.py --hub, downloads cached)"):
        done = subprocess.run([sys.executable, str(REPO / "scripts/wheelhouse.py"), "--hub", "--arch", "x86_64",
                               "--out", str(WHEELHOUSE)], capture_output=True, text=True, timeout=900,
                              check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]


def prepare_provisioning(root: Path) -> None:
    """The ansible tree, the hub's wheelhouse, an inventory naming this machine the hub."""
    provision = root / PROVISION.lstrip("/")
    provision.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "ansible", provision / "ansible", ignore=shutil.ignore_patterns("inventory"))
    shutil.copytree(WHEELHOUSE, provision / "wheelhouse-hub")
    (provision / "hub-inventory.yml").write_text(
        "# This machine as the hub, provisioned by itself.\n"
        "hub:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: /usr/bin/python3\n", encoding="utf-8")
    (provision / "hub-vars.yml").write_text(json.dumps(EXTRA_VARS), encoding="utf-8")


@contextlib.contextmanager
def apt_cache(root: Path) -> Iterator[None]:
    """The .deb files kept between runs, so a rerun downloads nothing (a directory of its
    own: apt locks it, and images/rootfs.sh may be using its own at the same time)."""
    archives = CACHE / "apt-amd64-hub"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    target = root / "var/cache/apt/archives"
    subprocess.run(["mount", "--bind", str(archives), str(target)], check=True, timeout=30)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False, timeout=30)


def play(root: Path) -> subprocess.CompletedProcess[str]:
    """site.yml inside the root, as an image build runs it."""
    command = (f"cd {PROVISION}/ansible && ansible-playbook -c local -i {PROVISION}/hub-inventory.yml "
               f"site.yml -e @{PROVISION}/hub-vars.yml")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root",
           "DEBIAN_FRONTEND": "noninteractive", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_CONFIG": f"{PROVISION}/ansible/ansible.cfg"}
    return subprocess.run(["chroot", str(root), "sh", "-c", command], capture_output=True, text=True,
                          timeout=900, check=False, env=env)


@pytest.fixture(scope="module")
def provisioned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioned]:
    require_root_build()
    timings = Timings(request.config)
    build_wheelhouse(timings)
    root = tmp_path_factory.mktemp("hub-role") / "root"
    try:
        with timings.step("base root (images/rootfs.sh --no-role; debootstrap cached per day)"):
            build_root(root, None, no_role=True)
        prepare_provisioning(root)
        outputs = []
        with chroot_mounts(root), apt_cache(root):
            for label in ("first", "second"):
                with timings.step(f"ansible-playbook site.yml inside the root, {label} run"):
                    done = play(root)
                outputs.append(done.stdout)
                assert done.returncode == 0, f"{label} run failed:\n{done.stdout[-6000:]}{done.stderr[-2000:]}"
        (root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)  # the booted system starts daemons
        yield Provisioned(root, outputs[0], outputs[1], timings)
    finally:
        remove_root(root)


def inside(machine: BootedRoot, *command: str, user: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command in the container's namespaces, as `user` if given, in a clean environment."""
    prefix = ["/usr/bin/env", "-i", "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"]
    if user:
        prefix += ["runuser", "-u", user, "--"]
    done = subprocess.run(["nsenter", "-t", str(machine.leader), "-a", "--", *prefix, *command],
                          capture_output=True, text=True, timeout=120, check=False, cwd="/")
    if check:
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done


HTTP_GET = """
import http.client, json, ssl, sys
scheme, host, path = sys.argv[1:4]
if scheme == 'https':
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection('127.0.0.1', 443, context=ctx, timeout=10)
else:
    c = http.client.HTTPConnection('127.0.0.1', 80, timeout=10)
c.request('GET', path, headers={'Host': host})
r = c.getresponse(); body = r.read()
cert = c.sock.getpeercert(binary_form=True) if scheme == 'https' else b''
print(json.dumps({'status': r.status, 'headers': {k.lower(): v for k, v in r.getheaders()},
                  'body': body.decode('latin-1'), 'cert': cert.hex()}))
"""


def http_get(machine: BootedRoot, scheme: str, path: str) -> dict:
    """GET scheme://127.0.0.1/path from the container's network namespace with this host's
    Python (no certificate verification: the role's certificate is self-signed)."""
    done = machine.run(sys.executable, "-c", HTTP_GET, scheme, SERVER_NAME, path, network_only=True,
                       check=False, timeout=30)
    if done.returncode != 0:
        return {"status": 0, "error": done.stderr[-500:]}
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def machine(provisioned: Provisioned) -> Iterator[BootedRoot]:
    timings = provisioned.timings
    with booted(provisioned.root) as booted_root:
        with timings.step("boot with systemd-nspawn until https://127.0.0.1/healthz answers 200"):
            booted_root.wait_until_booted()
            deadline = time.monotonic() + 90
            answer = http_get(booted_root, "https", "/healthz")
            while answer["status"] != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
                answer = http_get(booted_root, "https", "/healthz")
        if answer["status"] != 200:
            state = inside(booted_root, "systemctl", "--no-pager", "status", "epn-hub", "nginx", check=False)
            pytest.fail(f"no 200 from https://127.0.0.1/healthz: {answer}\n{state.stdout[-3000:]}")
        yield booted_root
    timings.say(f"[hub role] total: {time.monotonic() - timings.started:.1f} s")


def out(machine: BootedRoot, *command: str, user: str = "") -> str:
    return inside(machine, *command, user=user).stdout


def test_every_hub_variable_is_documented_with_its_default_in_the_example_group_vars() -> None:
    defaults = yaml.safe_load((REPO / "ansible/roles/hub/defaults/main.yml").read_text(encoding="utf-8"))
    example = yaml.safe_load((REPO / "ansible/inventory/example/group_vars/hub.yml").read_text(encoding="utf-8"))
    derived = {"epn_hub_version"}  # read from the wheelhouse's requirements.txt
    assert sorted(set(defaults) - set(example) - derived) == []
    differing = {key: (defaults[key], example[key]) for key in set(defaults) & set(example)
                 if defaults[key] != example[key] and key != "epn_wheelhouse"}
    assert differing == {}, "group_vars/hub.yml must show the role's defaults"


@pytest.mark.system
def test_role_applies_inside_a_root_and_a_second_run_changes_nothing(provisioned: Provisioned) -> None:
    first, second = parse_recap(provisioned.first)["localhost"], parse_recap(provisioned.second)["localhost"]
    assert first["failed"] == 0 and first["changed"] > 10, first
    assert second["failed"] == 0
    assert second["changed"] == 0, f"second run changed: {changed_tasks(provisioned.second)}"
    root = provisioned.root
    release = root / "opt/epn/releases/0.1.0"
    assert os.readlink(root / "opt/epn/current") == "/opt/epn/releases/0.1.0"
    assert os.readlink(root / "usr/local/bin/epn") == "/opt/epn/current/bin/epn"
    assert (release / ".installed").exists()
    assert list(release.glob("lib/python3*/site-packages/psycopg2")), "the hub's driver is missing"
    # An image build: units enabled (symlinks), nothing left running, PostgreSQL stopped again.
    assert (root / "etc/systemd/system/multi-user.target.wants/epn-hub.service").is_symlink()
    assert (root / "etc/systemd/system/timers.target.wants/epn-hub-backup.timer").is_symlink()
    assert not (root / "var/lib/postgresql/15/main/postmaster.pid").exists()
    # The build's transient PostgreSQL listened on its unix socket only (the chroot shares
    # this host's network). The test runs before the boot, which appends to the same log.
    log = (root / "var/log/postgresql/postgresql-15-main.log").read_text(encoding="utf-8")
    assert "listening on Unix socket" in log and "listening on IPv" not in log, log[-2000:]


@pytest.mark.system
def test_nginx_serves_the_hub_over_tls_with_a_redirect_and_hsts(machine: BootedRoot) -> None:
    answer = http_get(machine, "https", "/healthz")
    assert answer["status"] == 200
    health = json.loads(answer["body"])
    assert health["status"] == "ok" and health["hub"] == HUB_NAME and health["schema"] >= 1
    assert answer["headers"]["strict-transport-security"] == "max-age=31536000"
    # The role's self-signed certificate names the hub.
    pem = ssl.DER_cert_to_PEM_cert(bytes.fromhex(answer["cert"]))
    text = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName"],
                          input=pem, capture_output=True, text=True, check=True).stdout
    assert f"CN = {SERVER_NAME}" in text and f"DNS:{SERVER_NAME}" in text
    redirect = http_get(machine, "http", "/healthz?x=1")
    assert redirect["status"] == 301 and redirect["headers"]["location"] == f"https://{SERVER_NAME}/healthz?x=1"
    # gunicorn listens on the loopback only, behind nginx.
    assert "--host 127.0.0.1 --port 8090" in out(machine, "systemctl", "show", "-p", "ExecStart", "epn-hub")


@pytest.mark.system
def test_hub_data_lives_in_postgresql(machine: BootedRoot) -> None:
    added = out(machine, "epn", "hub", "add-epn", "--data", DATA, "--name", "EPN Role Test",
                "--commune", "Saint-Gilles", "--postal-code", "1060", user="epn-hub")
    epn_id = added.splitlines()[-2]
    assert epn_id in out(machine, "epn", "hub", "list-epns", "--data", DATA, user="epn-hub")
    rows = out(machine, "psql", "-XtA", "-d", "epn_hub", "-c", "SELECT id, name FROM hub_epn", user="postgres")
    assert f"{epn_id}|EPN Role Test" in rows.splitlines()
    owner = out(machine, "psql", "-XtA", "-d", "postgres", "-c",
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'epn_hub'", user="postgres")
    assert owner.strip() == "epn-hub"
    config = out(machine, "cat", f"{DATA}/config.yaml")
    assert "database_url: postgresql:///epn_hub" in config and "behind_proxy: true" in config
    assert inside(machine, "test", "-e", f"{DATA}/hub.sqlite3", check=False).returncode == 1, \
        "the hub fell back to SQLite"
    # The first admin account from the inventory, made once.
    assert f"{ADMIN[0]}  admin  active" in out(machine, "epn", "hub", "user", "list", "--data", DATA, user="epn-hub")


SIGN_IN = """
import http.client, json, re, ssl, sys
from urllib.parse import urlencode
host, username, password = sys.argv[1:4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def call(method, path, cookie='', body=None, referer=None):
    c = http.client.HTTPSConnection('127.0.0.1', 443, context=ctx, timeout=20)
    headers = {'Host': host}
    if cookie: headers['Cookie'] = cookie
    if referer: headers['Referer'] = referer
    if body is not None: headers['Content-Type'] = 'application/x-www-form-urlencoded'
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.getheader('Location') or '', r.getheader('Set-Cookie') or '', r.read().decode()
status, _, set_cookie, page = call('GET', '/login')
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
cookie = set_cookie.split(';')[0]
form = urlencode({'csrf_token': token, 'username': username, 'password': password})
posted, location, set_cookie2, _ = call('POST', '/login', cookie, form, referer=f'https://{host}/login')
cookie2 = set_cookie2.split(';')[0] or cookie
after, _, _, dashboard = call('GET', location.replace(f'https://{host}', '') or '/', cookie2)
print(json.dumps({'login': status, 'cookie': set_cookie, 'posted': posted, 'location': location,
                  'after': after, 'signed_in': username in dashboard}))
"""


@pytest.mark.system
def test_the_first_admin_signs_in_over_https_through_nginx(machine: BootedRoot) -> None:
    """hub.tls and hub.behind_proxy as the role sets them: Secure cookies, the strict CSRF
    referrer check passes for https://SERVER_NAME, the redirect stays on https."""
    done = machine.run(sys.executable, "-c", SIGN_IN, SERVER_NAME, *ADMIN, network_only=True, timeout=60)
    answer = json.loads(done.stdout)
    assert answer["login"] == 200 and "Secure" in answer["cookie"], answer
    assert answer["posted"] == 302, answer
    assert answer["location"].startswith(("/", f"https://{SERVER_NAME}/")), answer
    assert answer["after"] == 200 and answer["signed_in"], answer


@pytest.mark.system
def test_units_are_hardened_and_verify_clean(machine: BootedRoot) -> None:
    units = ["/etc/systemd/system/epn-hub.service", "/etc/systemd/system/epn-hub-backup.service",
             "/etc/systemd/system/epn-hub-backup.timer"]
    verified = inside(machine, "systemd-analyze", "verify", *units, check=False)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    shown = out(machine, "systemctl", "show", "epn-hub", "-p",
                "User,NoNewPrivileges,ProtectSystem,PrivateTmp,ReadWritePaths,Restart").splitlines()
    for line in ("User=epn-hub", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                 "ReadWritePaths=/var/lib/epn-hub", "Restart=always"):
        assert line in shown, shown
    # Even root inside the hub's mount namespace cannot write outside its data directory.
    pid = out(machine, "systemctl", "show", "-p", "MainPID", "--value", "epn-hub").strip()
    written = machine.run("nsenter", "-t", pid, "-m", "touch", "/opt/epn/x", check=False)
    assert written.returncode != 0 and "Read-only file system" in written.stderr


@pytest.mark.system
def test_nightly_backup_dumps_the_database_restores_it_and_prunes_old_files(machine: BootedRoot,
                                                                provisioned: Provisioned) -> None:
    assert out(machine, "systemctl", "is-enabled", "epn-hub-backup.timer").strip() == "enabled"
    assert out(machine, "systemctl", "is-active", "epn-hub-backup.timer").strip() == "active"
    old, recent = "epn_hub-20200101T000000Z.dump", "epn-hub-data-20200102T000000Z.tar.gz"
    inside(machine, "sh", "-c", f"cd {BACKUPS} && touch -d '8 days ago' {old} && touch -d '6 days ago' {recent}",
           user="epn-hub")
    with provisioned.timings.step("nightly backup service, started by hand"):
        inside(machine, "systemctl", "start", "epn-hub-backup.service")  # a oneshot: returns when done
    listing = out(machine, "ls", BACKUPS).split()
    assert old not in listing and recent in listing, listing  # older than keep_days (7) only
    dumps = [name for name in listing if name.startswith("epn_hub-") and name.endswith(".dump")]
    assert len(dumps) == 1, listing
    toc = out(machine, "pg_restore", "--list", f"{BACKUPS}/{dumps[0]}")
    assert re.search(r"TABLE DATA public hub_epn ", toc), toc[-2000:]
    tarball = next(name for name in listing if name.startswith("epn-hub-data-") and name != recent)
    members = out(machine, "tar", "-tzf", f"{BACKUPS}/{tarball}").split()
    assert "data/config.yaml" in members and "data/secret_key" in members
    modes = out(machine, "stat", "-c", "%a %U", BACKUPS, f"{BACKUPS}/{dumps[0]}").splitlines()
    assert modes == ["700 epn-hub", "600 epn-hub"], modes
    # Restore as docs say: hub stopped, pg_restore --clean as the owner; what came after is gone.
    out(machine, "epn", "hub", "add-epn", "--data", DATA, "--name", "EPN After Backup",
        "--commune", "Ixelles", "--postal-code", "1050", user="epn-hub")
    inside(machine, "systemctl", "stop", "epn-hub.service")
    inside(machine, "pg_restore", "--clean", "--if-exists", "--single-transaction", "-d", "epn_hub",
           f"{BACKUPS}/{dumps[0]}", user="epn-hub")
    inside(machine, "systemctl", "start", "epn-hub.service")
    listed = out(machine, "epn", "hub", "list-epns", "--data", DATA, user="epn-hub")
    assert "EPN Role Test" in listed and "EPN After Backup" not in listed, listed


@pytest.mark.system
def test_role_run_on_the_live_hub_applies_a_changed_setting(machine: BootedRoot, provisioned: Provisioned) -> None:
    """The same role against the running system (image_build=false), as on a real server:
    services already running stay up, a changed setting rewrites config.yaml and the
    handler restarts the hub, which then answers with it. Runs last: it renames the hub."""
    command = (f"cd {PROVISION}/ansible && ANSIBLE_CONFIG={PROVISION}/ansible/ansible.cfg HOME=/root "
               f"ansible-playbook -c local -i {PROVISION}/hub-inventory.yml site.yml "
               f"-e @{PROVISION}/hub-vars.yml -e image_build=false -e epn_hub_name=renamed-hub")
    with provisioned.timings.step("ansible-playbook on the live hub (image_build=false), a setting changed"):
        done = inside(machine, "sh", "-c", command, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert parse_recap(done.stdout)["localhost"]["failed"] == 0
    changed = changed_tasks(done.stdout)
    assert "hub : Write config.yaml from the inventory" in changed, changed
    assert "hub : Restart the hub" in changed, changed
    deadline = time.monotonic() + 60
    answer = http_get(machine, "https", "/healthz")
    while answer.get("status") != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        answer = http_get(machine, "https", "/healthz")
    assert answer["status"] == 200 and json.loads(answer["body"])["hub"] == "renamed-hub", answer
