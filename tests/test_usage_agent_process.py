"""The reference agent (agent/sanjiao_agent.py, standard library only) talking to a real server process
over HTTP: events queued on disk while the server is away, delivered in order when it is back."""

import json
import subprocess
import sys

import pytest

from usage.models import AgentEvent, UsageSession
from usage.services import agent_key_rotate

from .servers import ROOT, MakeRunServer, free_port

pytestmark = [pytest.mark.slow]
AGENT = ROOT / "agent" / "sanjiao_agent.py"


def run_agent(server: str, instrument_id: int, key_file, queue, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(AGENT),
            "--server",
            server,
            "--instrument",
            str(instrument_id),
            "--key-file",
            str(key_file),
            "--queue",
            str(queue),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # nothing of the project's environment: the agent stands alone
    )


@pytest.fixture
def server(transactional_db):
    s = MakeRunServer().wait_ready()
    yield s
    s.stop()


def test_agent_queues_offline_and_delivers_to_a_real_server(world, server, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(agent_key_rotate(actor=world.manager, instrument=world.instrument))
    queue = tmp_path / "queue"
    nowhere = f"http://127.0.0.1:{free_port()}"

    # Offline: start and a heartbeat wait on disk (exit status 3: still queued).
    for command in ("start", "heartbeat"):
        done = run_agent(nowhere, world.instrument.pk, key_file, queue, command, "--user", "res")
        assert done.returncode == 3, done.stderr
    queued = sorted(queue.glob("*.json"))
    assert [json.loads(p.read_text())["type"] for p in queued] == ["start", "heartbeat"]
    assert not AgentEvent.objects.exists()

    # Back online: the stop goes out after what was queued, in order; the queue is empty.
    done = run_agent(server.http, world.instrument.pk, key_file, queue, "stop", "--user", "res")
    assert done.returncode == 0, done.stderr
    assert not list(queue.glob("*.json"))
    assert list(AgentEvent.objects.order_by("at", "id").values_list("kind", flat=True)) == [
        "start",
        "heartbeat",
        "stop",
    ]
    (session,) = UsageSession.objects.all()
    assert (session.source, session.user_id, session.ended_by) == ("agent", world.researcher.pk, "stop")
    assert session.end is not None

    # A wrong key is refused (exit status 2) and the event stays queued for when the key is fixed.
    key_file.write_text("wrong")
    done = run_agent(server.http, world.instrument.pk, key_file, queue, "heartbeat")
    assert done.returncode == 2 and "403" in done.stderr
    assert len(list(queue.glob("*.json"))) == 1
