"""A real SMTP server for the delivery tests, run as a process of its own (aiosmtpd).

    python -m tests.notifications.smtp_server --port N --mode accept|refuse|drop --spool DIR
        [--tls CERT KEY [--implicit-tls]] [--auth USER:PASS]

Every message it accepts is written to DIR as `<n>.eml` with `<n>.json` beside it (envelope, whether the
session was encrypted, who authenticated), each renamed into place when complete, so a reader never sees
half a message. Modes:
- accept: accepts every message (AUTH offered, not required, once the session is encrypted);
- refuse: 550 at RCPT, except for recipients whose local part starts with "data", refused with 550
  after DATA;
- drop: closes the connection after the message's data, without a reply, the first time it sees a
  Message-ID; accepts it when it comes again (a server that fails once mid-message).
A port with nothing listening stands for a server that is down. "ready PORT" on stdout when listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class Handler:
    def __init__(self, mode: str, spool: Path) -> None:
        self.mode = mode
        self.spool = spool
        self.dropped: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.mode == "refuse" and not address.startswith("data"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.mode == "refuse":
            return "550 5.7.1 message refused"
        content = envelope.original_content or b""
        message_id = str(message_from_bytes(content).get("Message-ID", ""))
        if self.mode == "drop" and message_id not in self.dropped:
            self.dropped.add(message_id)
            # Gone before the reply: the client cannot know whether the message was taken.
            assert server.transport is not None
            server.transport.abort()
            return "421 gone"
        assert server.transport is not None
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self._store(content, envelope, session, encrypted=encrypted)
        return "250 2.0.0 accepted"

    def _store(self, content: bytes, envelope: Envelope, session: Session, *, encrypted: bool) -> None:
        number = len(list(self.spool.glob("*.eml"))) + 1
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": encrypted,
            "login": session.auth_data.login.decode() if session.authenticated else None,
        }
        for suffix, data in ((".json", json.dumps(meta).encode()), (".eml", content)):
            partial = self.spool / f"{number}{suffix}.part"
            partial.write_bytes(data)
            partial.rename(self.spool / f"{number}{suffix}")


def _authenticator(credentials: str | None) -> Any:
    user, _, password = (credentials or "").partition(":")

    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = (
            credentials is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == (user, password)
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return check


async def serve(args: argparse.Namespace) -> None:
    spool = Path(args.spool)
    spool.mkdir(parents=True, exist_ok=True)
    handler = Handler(args.mode, spool)
    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.tls)
    implicit = context if args.implicit_tls else None

    def protocol() -> SMTP:
        return SMTP(
            handler,
            hostname="smtp.test",
            tls_context=None if implicit else context,
            authenticator=_authenticator(args.auth),
            # Over implicit TLS the whole session is encrypted; aiosmtpd counts only STARTTLS as such.
            auth_require_tls=implicit is None,
        )

    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", args.port, ssl=implicit)
    print(f"ready {args.port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("accept", "refuse", "drop"), default="accept")
    parser.add_argument("--spool", required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth", metavar="USER:PASS")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
