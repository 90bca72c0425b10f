"""Run a command where the only network is loopback: a private Linux network namespace with ``lo`` up.

Ray rewrites ``--node-ip-address 127.0.0.1`` to the machine's interface address
(``ray._private.services.resolve_ip_for_localhost``), so a "local" Ray cluster listens on the
machine's network. Inside a network namespace that holds nothing but ``lo``, the only address Ray
can find is 127.0.0.1: a test or benchmark cluster started there cannot be reached from, or reach,
anything else. ``python -m descentlab.engine.loopback CMD ...`` brings ``lo`` up and execs ``CMD``;
:func:`loopback_command` wraps a command in ``unshare`` so that it runs there.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sh22x"  # struct ifreq: the interface name, then ifr_flags (the rest of the union unused)


def interfaces() -> list[str]:
    """The network interfaces of this process's network namespace (not /sys/class/net, which shows the
    namespace sysfs was mounted in)."""
    return sorted(name for _, name in socket.if_nameindex())


def bring_up_loopback() -> None:
    """Set ``lo`` up (a new network namespace starts with it down), as ``ip link set lo up`` does."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(_IFREQ, b"lo", 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))


def loopback_command(command: list[str]) -> list[str]:
    """``command`` wrapped to run in a new network namespace with only ``lo`` (see the module docstring).

    Raises:
      OSError: ``unshare`` (util-linux) is not installed.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        raise OSError("the unshare command (util-linux) is not installed")
    user = [] if os.geteuid() == 0 else ["--map-root-user"]
    return [unshare, "--net", *user, sys.executable, "-m", "descentlab.engine.loopback", *command]


def unavailable_reason() -> str | None:
    """Why a loopback-only namespace cannot be made here, or None when it can."""
    try:
        probe = subprocess.run(
            loopback_command([sys.executable, "-c", "print('ok')"]), capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as err:
        return f"no network namespace: {err}"
    if probe.returncode != 0 or probe.stdout.strip() != "ok":
        return f"no network namespace: {(probe.stderr.strip().splitlines() or ['unshare failed'])[-1]}"
    return None


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m descentlab.engine.loopback COMMAND [ARGS...]")
    bring_up_loopback()
    if interfaces() != ["lo"]:
        raise SystemExit(f"not a loopback-only namespace: interfaces {interfaces()}")
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
