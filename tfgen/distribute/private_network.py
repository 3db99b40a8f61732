"""A private network namespace whose only interface is the loopback, for local workers.

TensorFlow's gRPC server listens on `0.0.0.0:<port>` whatever address `TF_CONFIG`
gives (`grpc_server_lib.cc` hard-codes it). `tfgen.launch` starts its workers after
`enter_private_network()`, so they reach each other on 127.0.0.1 and nothing outside
the machine (or on its own interfaces) reaches them: `unshare(CLONE_NEWNET)` as root,
or `unshare(CLONE_NEWUSER | CLONE_NEWNET)` with the user's own uid and gid mapped
otherwise (where unprivileged user namespaces are enabled). Python 3.11 has no
`os.unshare`, so the calls go through `ctypes`.
"""

import ctypes
import errno
import fcntl
import os
import socket
import struct

# <sched.h>, <linux/sockios.h>, <net/if.h>.
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


class NetworkIsolationError(OSError):
    """No private network namespace could be made; the message says why."""


def _syscall(name, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{name}: {os.strerror(number)}")


def _thread_count():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def _bring_up_loopback():
    """Sets the `lo` interface of this thread's network namespace up (as `ip link set lo up`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)  # A `struct ifreq`: name, then flags.
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def _enter_user_and_network_namespace():
    """Unprivileged: a new user namespace (own uid and gid mapped to themselves, so files
    keep their owner) owning a new network namespace, with its loopback up."""
    uid, gid = os.getuid(), os.getgid()
    _syscall("unshare", CLONE_NEWUSER | CLONE_NEWNET)
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{uid} {uid} 1"),
        ("gid_map", f"{gid} {gid} 1"),
    ):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    _bring_up_loopback()


def _probe_user_namespace():
    """Whether `_enter_user_and_network_namespace` works here, tried in a forked child (a
    security module can allow the namespace but deny its capabilities, and a process cannot
    leave a user namespace it entered)."""
    pid = os.fork()
    if pid == 0:
        try:
            _enter_user_and_network_namespace()
            code = 0
        except OSError as error:
            code = min(error.errno or 1, 125)
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise NetworkIsolationError(
            code,
            f"unshare(CLONE_NEWUSER | CLONE_NEWNET) or bringing "
            f"up its loopback failed: {os.strerror(code)}",
        )


def enter_private_network():
    """Moves this thread into a new network namespace whose only interface is `lo`, up.

    Processes started from this thread afterwards inherit the namespace. As root (or with
    CAP_SYS_ADMIN) only the network namespace is new, and the returned file descriptor
    of the previous one lets `leave_private_network` return to it. Otherwise a user
    namespace is made too (the process must have one thread, and cannot leave it
    again), and `None` is returned.

    Raises:
        NetworkIsolationError: if neither works here; nothing was changed.
    """
    try:
        previous = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:  # No /proc, or a kernel older than 3.17.
        raise NetworkIsolationError(
            error.errno, f"no network namespace to return to: {error}"
        ) from error
    try:
        _syscall("unshare", CLONE_NEWNET)
    except OSError as error:
        os.close(previous)
        if error.errno not in (errno.EPERM, errno.EINVAL):  # These: a user namespace may do.
            raise NetworkIsolationError(error.errno, str(error)) from error
    else:
        try:
            _bring_up_loopback()
        except OSError as error:
            leave_private_network(previous)
            raise NetworkIsolationError(error.errno, f"bringing up lo: {error}") from error
        return previous
    if _thread_count() != 1:
        raise NetworkIsolationError(
            errno.EINVAL,
            "unshare(CLONE_NEWNET) is not permitted, "
            "and a user namespace needs a process "
            "with one thread",
        )
    _probe_user_namespace()
    try:
        _enter_user_and_network_namespace()
    except OSError as error:  # It worked in the probe; nothing sensible to fall back to.
        raise RuntimeError(
            f"entering a private network namespace failed half-way: {error}"
        ) from error
    return None


def leave_private_network(previous):
    """Returns this thread to the network namespace `enter_private_network` left."""
    if previous is not None:
        try:
            _syscall("setns", previous, CLONE_NEWNET)
        finally:
            os.close(previous)
