"""``relais certificates``: who is ready, approve, write the PDF, revoke, verify a code."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from bot.cli.common import (
    CLI_ACTOR,
    EXIT_INVALID,
    EXIT_OK,
    Subparsers,
    bot_username,
    clock,
    command,
    fail,
    group,
)
from bot.content import Content, load_content
from bot.i18n import Translator, load_catalogs
from bot.services import certification as certs
from bot.settings import Settings
from bot.storage import Database
from bot.views import certificates as certificate_views


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``certificates list|approve|issue|revoke|verify``."""
    certificates = group(sub, "certificates", "approve, issue, revoke and verify certificates")
    command(
        certificates,
        "list",
        _certificates,
        "who is ready, who is missing what, what was issued",
    )
    approve = command(
        certificates,
        "approve",
        _certificates,
        "approve a ready certificate (the running bot sends it in the chat)",
    )
    approve.add_argument("participant", nargs="?", help="participant code, external id or e-mail")
    approve.add_argument("level", nargs="?", choices=["participation", "success"])
    approve.add_argument("--all", action="store_true", help="approve everything ready")
    issue = command(
        certificates, "issue", _certificates, "write the PDF of an approved certificate"
    )
    issue.add_argument("code", help="the certificate's verification code")
    issue.add_argument("--out", type=Path, help="PDF file (default: <code>.pdf)")
    issue.add_argument("--bot-username", help="bot username for the QR code (default: settings)")
    revoke = command(certificates, "revoke", _certificates, "revoke a certificate")
    revoke.add_argument("code")
    revoke.add_argument("--reason", required=True)
    verify = command(
        certificates, "verify", _certificates, "what anyone checking this code is told"
    )
    verify.add_argument("code")


async def _certificates(settings: Settings, args: argparse.Namespace) -> int:
    """One of the actions; the terminal's messages are in English."""
    load_catalogs()
    content = load_content(settings.content_dir)
    t = Translator("en", content.programme.tz)
    now = clock().now()
    action = args.certificates_command
    async with Database.opened(settings.database) as db:
        if action == "list":
            return await _certificates_list(db, content, t, now)
        if action == "approve":
            return await _certificates_approve(db, content, args, now)
        if action == "revoke":
            status, cert = await certs.revoke(
                db, args.code, actor=CLI_ACTOR, reason=args.reason, now=now
            )
            if status is certs.RevokeStatus.UNKNOWN:
                return fail(f"no certificate with code {args.code!r}")
            assert cert is not None
            done = "revoked" if status is certs.RevokeStatus.REVOKED else "was already revoked"
            print(f"{certs.display_code(cert.code)} ({cert.level}) {done}")
            return EXIT_OK
        if action == "verify":
            result = await certs.verify(db, content, args.code, key="cli", now=now)
            print(certificate_views.verification_text(t, result))
            return EXIT_OK if result.verdict is certs.Verdict.VALID else EXIT_INVALID
        return await _certificates_issue(db, content, settings, args)


async def _certificates_list(db: Database, content: Content, t: Translator, now: datetime) -> int:
    found = await certs.queue(db, content, now)
    if found is None:
        print("relais: this content issues no certificates (certificates.yaml, kat.yaml)")
        return EXIT_INVALID
    for candidate in found.candidates:
        person = candidate.participant
        cells = []
        for level in ("participation", "success"):
            cert = candidate.issued.get(level)
            standing = certs.level_of(candidate.status, level)
            if cert is not None:
                cells.append(
                    f"{level}: issued {cert.approved_at:%Y-%m-%d} {certs.display_code(cert.code)}"
                    f" ({cert.delivery})"
                )
            elif level in candidate.ready():
                cells.append(f"{level}: READY")
            elif standing.obtained:
                cells.append(f"{level}: met, waiting for the final quiz to close")
            else:
                cells.append(f"{level}: missing {certificate_views.missing_text(t, standing)}")
        print(f"{person.code}  {person.full_name}  {person.cohort}  " + " | ".join(cells))
    print(
        f"{len(found.ready)} ready, {len(found.issued)} issued, "
        f"{len(found.candidates)} participants"
    )
    return EXIT_OK


async def _certificates_approve(
    db: Database, content: Content, args: argparse.Namespace, now: datetime
) -> int:
    if args.all:
        results = await certs.approve_all(db, content, actor=CLI_ACTOR, now=now) or []
    elif args.participant and args.level:
        person = await certs.find_participant(db, args.participant)
        if person is None:
            return fail(f"no participant {args.participant!r}")
        results = [
            await certs.approve(db, content, person.id, args.level, actor=CLI_ACTOR, now=now)
        ]
    else:
        return fail("give PARTICIPANT LEVEL, or --all")
    failed = False
    for result in results:
        who = result.participant.code if result.participant else args.participant
        if result.status is certs.ApproveStatus.APPROVED:
            assert result.certificate is not None
            print(
                f"{who}: {result.certificate.level} approved, code "
                f"{certs.display_code(result.certificate.code)}; the running bot sends it "
                "within a minute"
            )
        else:
            failed = True
            print(f"relais: {who}: {result.status.value}, nothing done", file=sys.stderr)
    if not results:
        print("nothing is ready")
    return EXIT_INVALID if failed else EXIT_OK


async def _certificates_issue(
    db: Database, content: Content, settings: Settings, args: argparse.Namespace
) -> int:
    from bot.certificate_sender import verification_url
    from bot.i18n import LOCALES
    from bot.runtime import Runtime
    from bot.services.certificate_pdf import CertificateData, render

    cert = await certs.certificate_by_code(db, args.code)
    if cert is None or content.certificates is None:
        return fail(f"no certificate with code {args.code!r}")
    if cert.revoked:
        return fail(f"{certs.display_code(cert.code)} is revoked")
    person = await certs.participant_of(db, cert.participant_id)
    assert person is not None
    username = await bot_username(settings, args.bot_username)
    rt = Runtime(settings=settings, content=content, clock=clock())
    data = CertificateData(
        cert.level,
        person.full_name,
        cert.code,
        cert.approved_at,
        username,
        verification_url(rt, cert.code),
    )
    tz = content.programme.tz
    pdf = render(
        content.certificates,
        data,
        translators={loc: Translator(loc, tz) for loc in LOCALES},
        folder=Path(settings.content_dir),
    )
    out = args.out or Path(f"{cert.code}.pdf")
    out.write_bytes(pdf)
    out.chmod(0o600)  # it names the holder
    print(f"{out}: {cert.level} certificate of {person.code} ({len(pdf) // 1024} KB)")
    return EXIT_OK
