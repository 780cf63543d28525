"""listening.py — waiting for a served generated program to be ready: it prints one line
`NAME: listening on ENDPOINT (plan ID)...` on stdout (docs/serving.md); the endpoint there is
the one actually bound (an ephemeral tcp port resolved), and ending one. Shared by the tests that
start servers."""
import select
import subprocess
import time


def wait_listening(p, timeout):
    """The endpoint process p (stdout a text pipe) reports listening on, or None if it exits or
    says nothing of the kind within timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if r:
            line = p.stdout.readline()
            if "listening on " in line:
                return line.split("listening on ")[1].split()[0]
        if p.poll() is not None:
            return None
    return None


def stop_server(p, timeout=10):
    """Ends a served program: SIGTERM, then SIGKILL if it has not exited within timeout seconds."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
