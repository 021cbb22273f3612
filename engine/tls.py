"""HTTPS for `bre serve --tls`: a test CA and a certificate made at start, or one's own.

Real consoles answer HTTPS only, and clients are configured with `https://` URLs and a CA
bundle (or `verify=False`). Without `--certfile`, `bre serve --tls` makes a throwaway CA with
`trustme` (a library made for test certificates), issues a server certificate for the names it
serves (the `--host`, localhost and the loopback addresses, the machine's name), and writes the
CA to a file whose path the ready line names (`ca=...`), so a client can trust exactly this
server. The files live in a private temporary folder removed when the server stops.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import ssl
import tempfile

from engine.core.frozen import record
from engine.simulator import SettingsError

#: Names every made certificate carries, besides the served host.
_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@record
class TlsFiles:
    """The PEM files uvicorn serves with, and the CA file clients trust (None: one's own)."""

    certfile: str
    keyfile: str | None = None
    ca: str | None = None

    def check(self) -> None:
        """Refuse, in one line, files that cannot serve (missing, unreadable, key mismatch)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.certfile, self.keyfile)
        except FileNotFoundError as error:
            raise SettingsError(f"--certfile/--keyfile: {error.filename}: no such file") from None
        except (OSError, ssl.SSLError) as error:
            raise SettingsError(
                f"--certfile {self.certfile}"
                + (f" --keyfile {self.keyfile}" if self.keyfile else "")
                + f": not a usable certificate and key ({error})"
            ) from None


def served_names(host: str) -> list[str]:
    """The names a made certificate is valid for: the host unless it is a wildcard address,
    the local names, and the machine's name (for clients reaching `--host 0.0.0.0` by name)."""
    names: list[str] = []
    try:
        if not ipaddress.ip_address(host.strip("[]")).is_unspecified:
            names.append(host.strip("[]"))
    except ValueError:
        names.append(host)
    names.extend(_LOCAL_NAMES)
    hostname = socket.gethostname()
    if hostname:
        names.append(hostname)
    return list(dict.fromkeys(n for n in names if n))


def make_certificate(host: str, directory: str | None = None) -> TlsFiles:
    """A new test CA and a server certificate for `served_names(host)`, written as PEM files
    into `directory` (default: a new private temporary folder)."""
    import trustme  # imported when serving TLS only: `bre --help` stays fast

    folder = directory or tempfile.mkdtemp(prefix="bre-tls-")
    os.chmod(folder, 0o700)
    authority = trustme.CA(organization_name="bre-sim test CA")
    issued = authority.issue_cert(*served_names(host))
    certfile, keyfile, ca = (os.path.join(folder, n) for n in ("cert.pem", "key.pem", "ca.pem"))
    issued.cert_chain_pems[0].write_to_path(certfile)
    for pem in issued.cert_chain_pems[1:]:
        pem.write_to_path(certfile, append=True)
    issued.private_key_pem.write_to_path(keyfile)
    os.chmod(keyfile, 0o600)
    authority.cert_pem.write_to_path(ca)
    return TlsFiles(certfile, keyfile, ca)


def remove(files: TlsFiles) -> None:
    """Remove a made certificate's folder (never one's own files)."""
    if files.ca is not None:
        shutil.rmtree(os.path.dirname(files.ca), ignore_errors=True)


def client_verify(ca: str | None, insecure: bool) -> ssl.SSLContext | bool:
    """What an httpx client passes as `verify` for `--ca FILE` / `--insecure` (httpx 0.28
    deprecates a path, so a context)."""
    if insecure:
        return False
    if ca is None:
        return True
    try:
        return ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as error:
        raise SettingsError(f"--ca {ca}: not a readable CA file ({error})") from None
