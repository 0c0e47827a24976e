"""README's "A tour with the demo data", run as printed: every command of its ```sh blocks, in
order, in a fresh folder, against the store `mesgate demo` makes there, so that the README and
the binary cannot drift apart.

`mesgate serve …` starts the gateway on that folder (conftest's Server: free loopback ports, health
awaited); later commands have the README's default addresses (127.0.0.1:50051 for gRPC,
127.0.0.1:9464 for the admin listener) replaced by the server's. Every other line runs in bash with
`mesgate` on PATH being the binary under test; each must exit 0. A few answers are checked too.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, Server, ServerStartError

SECTION = "## A tour with the demo data"
GRPC_DEFAULT = "127.0.0.1:50051"
ADMIN_DEFAULT = "127.0.0.1:9464"
MIN_COMMANDS = 12

# What some answers must say (the command's line, a pattern its standard output must match).
EXPECTED = [
    ("mesgate demo ", r"41 event\(s\) stored.*\n(.*\n)*  outbox row 1: the scrap of SEAL lot SE-309"),
    ("mesgate exceptions ", r"unknown_lot event demo-\d+ .*SEAL lot SE-311"),
    ("mesgate event correct demo-032 ", r"Replaced demo-032 \(#\d+\) by demo-032\.c1 \(#\d+\): correction 1"),
    ("mesgate history --data ./mesgate-demo --product SEAL --lot SE-311",
     r"demo-032 from .*\n +REPLACED by demo-032\.c1: correction 1 by .*: SE-311 was mistyped at the line"),
    ("mesgate trace --data ./mesgate-demo --forward --product RESIN --lot R-1042",
     r"shipped to Hydro Services GmbH(.*\n)*.*shipped to AquaTech Ltd"),
    ("mesgate hold ", r"Held RESIN lot R-1042 and what is made from it: 7 item\(s\)(.*\n)*RECALL NEEDED: 2 shipment"),
    ("mesgate history --server", r"HOUSING lot H-1201-B check wall thickness: fail"),
    ("mesgate outbox list --data ./mesgate-demo --state skipped",
     r"#1 seq \d+ scrapped \S+ skipped attempts 0  skipped: booked by hand in Odoo"),
    ("mesgate outbox retry 1 ", r"1 posting\(s\) due again"),
    ("mesgate audit verify ", r"audit trail intact"),
    ("mesgate audit list ", r"hold_placed hold:\d+ HOUSING lot H-1201-B(.*\n)*.*hold_placed hold:\d+ RESIN lot R-1042"),
]


def tour_commands() -> list[str]:
    """The command lines of the README's tour: every line of its ```sh blocks but comments."""
    text = (REPO / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else len(text)]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def test_the_tour_has_commands_for_each_user():
    commands = tour_commands()
    assert len(commands) >= MIN_COMMANDS, commands
    assert all(c.startswith(("mesgate ", "curl ")) for c in commands), commands
    assert commands[0].startswith("mesgate demo "), commands[0]
    assert sum(c.startswith("mesgate serve ") for c in commands) == 1, commands
    text = (REPO / "README.md").read_text()
    section = text[text.index(SECTION):]
    for user in ("MES integrator", "quality engineer", "auditor", "integration administrator"):
        assert f"**The {user}**" in section[: section.find("\n## ", 1)], user


def test_every_command_of_the_tour_runs_as_printed(binary, tmp_path):
    work = tmp_path / "tour"
    work.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mesgate").symlink_to(binary)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MESGATE_DATA", None)
    env.pop("MESGATE_TOKEN", None)
    server: Server | None = None
    ran = []
    try:
        for line in tour_commands():
            words = shlex.split(line, comments=True)
            if words[:2] == ["mesgate", "serve"]:
                data = words[words.index("--data") + 1]
                rest = [w for i, w in enumerate(words[2:], 2) if w != "--data" and words[i - 1] != "--data"]
                server = Server(binary, work / data, tmp_path / "logs", extra_args=rest)
                try:
                    server.start()
                except ServerStartError as e:
                    pytest.fail(f"{line}: {e}", pytrace=False)
                ran.append(line)
                continue
            command = line
            if server is not None:
                command = command.replace(GRPC_DEFAULT, server.address)
                command = command.replace(ADMIN_DEFAULT, f"127.0.0.1:{server.admin_port}")
            elif GRPC_DEFAULT in line or ADMIN_DEFAULT in line:
                pytest.fail(f"{line}: calls the gateway before the tour starts it", pytrace=False)
            r = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, f"{line}\nexit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
            for prefix, pattern in EXPECTED:
                if line.startswith(prefix):
                    assert re.search(pattern, r.stdout), f"{line}\nstdout does not match {pattern!r}:\n{r.stdout}"
            ran.append(line)
    finally:
        if server is not None:
            assert server.stop() == 0, server.stderr_tail()
    assert len(ran) >= MIN_COMMANDS
    assert server is not None, "the tour never starts the gateway"
    # What the auditor's exports wrote is there and says what it should.
    assert re.search(r'"type": ?"EPCISDocument"', (work / "sn77.jsonld").read_text())
    assert "R-1042" in (work / "r1042-recall.csv").read_text()
    assert "<html" in (work / "sn77.html").read_text() and "SN-77" in (work / "sn77.html").read_text()
    status = (work / "status.html").read_text()
    assert "<title>mesgate status</title>" in status and "Posting to Odoo is off" in status, status[:2000]
    assert Path(work / "demo-backup.sqlite").stat().st_size > 0


def test_demo_refuses_a_store_that_holds_events(binary, tmp_path):
    first = subprocess.run([str(binary), "demo", "--data", str(tmp_path / "d")], capture_output=True, text=True,
                           timeout=60)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([str(binary), "demo", "--data", str(tmp_path / "d")], capture_output=True, text=True,
                           timeout=60)
    assert again.returncode != 0 and "holds 41 event(s) already" in again.stderr and "--force" in again.stderr
    forced = subprocess.run([str(binary), "demo", "--data", str(tmp_path / "d"), "--force"], capture_output=True,
                            text=True, timeout=60)
    assert forced.returncode == 0, forced.stderr
    assert "0 event(s) stored" in forced.stdout and "41 event(s) were in the store already" in forced.stdout
    # The store is as one demo made it: 41 events, one hold.
    con = sqlite3.connect(f"file:{tmp_path / 'd' / 'genealogy.sqlite'}?mode=ro", uri=True)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 41
        assert con.execute("SELECT count(*) FROM holds").fetchone()[0] == 1
        # 33 events, the hold and the activity of its failed check (quality_alert)
        assert con.execute("SELECT count(*) FROM outbox").fetchone()[0] == 35
    finally:
        con.close()
