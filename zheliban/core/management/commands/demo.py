import errno
import re
import socket

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re

DEFAULT_ADDR = "127.0.0.1"
DEFAULT_PORT = 8000
OTHER_PORT = 8010


class Command(BaseCommand):
    help = (
        "Set up the embedded demo (migrate, seed) and serve it on http://127.0.0.1:8000/, or on "
        "the port or address:port given, as runserver takes them (demo 8010, demo 0.0.0.0:8010)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport",
            nargs="?",
            default=f"{DEFAULT_ADDR}:{DEFAULT_PORT}",
            help="A port (8010) or an address and port (127.0.0.1:8010); 127.0.0.1:8000 if left "
            "out.",
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare the database and stop without serving."
        )

    def handle(self, *args, addrport, no_serve, **options):
        from django.conf import settings

        addr, port, ipv6 = parse_addrport(addrport)
        if not no_serve:
            # Before the minute of migrating and seeding: a port in use is said at once.
            port_check(addr, port, ipv6=ipv6)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)
        if not no_serve:
            host = f"[{addr}]" if ipv6 else ("0.0.0.0" if addr == "0" else addr)  # noqa: S104
            self.stdout.write(f"Serving the demo on http://{host}:{port}/ (Ctrl+C stops it).")
            call_command(
                "runserver", f"[{addr}]:{port}" if ipv6 else f"{addr}:{port}", use_reloader=False
            )


def parse_addrport(value: str) -> tuple[str, int, bool]:
    """``PORT`` or ``ADDR:PORT`` as runserver takes them → (address, port, whether IPv6)."""
    match = re.match(naiveip_re, value)
    if match is None:
        raise CommandError(
            f'"{value}" is neither a port nor an address:port pair; for example: '
            f"manage.py demo {OTHER_PORT} or manage.py demo {DEFAULT_ADDR}:{OTHER_PORT}"
        )
    addr, _ipv4, ipv6, _fqdn, port = match.groups()
    if ipv6:
        addr = addr[1:-1]
    return addr or DEFAULT_ADDR, int(port), bool(ipv6)


def port_check(addr: str, port: int, *, ipv6: bool = False) -> None:
    """Refuse, naming the port and how to choose another, when the server could not listen on
    it (bound as runserver binds, so a port only in TIME_WAIT still counts as free)."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((addr, port))
        except OSError as exc:
            other = OTHER_PORT if port != OTHER_PORT else OTHER_PORT + 10
            example = f"{other}" if addr == DEFAULT_ADDR else f"{addr}:{other}"
            if exc.errno == errno.EADDRINUSE:
                problem = f"Port {port} on {addr} is already in use (by another server?)"
            else:
                problem = f"Cannot listen on {addr} port {port}: {exc.strerror or exc}"
            raise CommandError(
                f"{problem}. Choose another port, for example: manage.py demo {example}"
            ) from None
