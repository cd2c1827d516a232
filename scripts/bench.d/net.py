"""Small network helpers shared by bench.py and its section modules."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ratio_vs(f_rps: float, t_rps: float, t_dur: int) -> tuple[float, str]:
    """funkplan's requests/s over a peer's, as a number and as printed.
    When the peer finished no request in its run of `t_dur` s, its rate is
    below 1 / t_dur, so the ratio is at least funkplan's rate × t_dur: a
    lower bound, said so."""
    if t_rps:
        return f_rps / t_rps, f"{f_rps / t_rps:.1f}×"
    return f_rps * t_dur, f"> {f_rps * t_dur:,.0f}× (tipg finished no request in {t_dur} s)"
