"""``relais roster``, ``invites``, ``staff``, ``attempts`` and ``forget``: who takes part."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
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
    read_input,
)
from bot.content import load_content
from bot.settings import Settings
from bot.storage import Database
from bot.storage.repo import Role


def register(sub: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``roster import``, ``invites``, ``supervisors invite|forget``, ``staff …``, ``attempts
    reopen`` and ``forget``."""
    roster = group(sub, "roster", "manage the participants' roster")
    imp = command(roster, "import", _roster_import, "import or update participants from a CSV file")
    imp.add_argument("file", type=Path)

    invites = command(
        sub, "invites", _invites, "issue one invite link per participant not enrolled"
    )
    invites.add_argument("--out", type=Path, default=Path("invites.csv"), help="CSV to write")
    invites.add_argument("--qr", type=Path, metavar="DIR", help="also write one QR code PNG each")
    invites.add_argument("--cohort", help="only this cohort")
    invites.add_argument(
        "--participant",
        metavar="KEY",
        help="only this person's new link, for a lost one (code, external id or e-mail); "
        "their old link stops working (as /newlink in the chat)",
    )
    invites.add_argument("--bot-username", help="bot username for the links (else from settings)")

    supervisors = group(sub, "supervisors", "the participants' line managers")
    sup = command(
        supervisors,
        "invite",
        _supervisor_invites,
        "issue one invite link per supervisor named by the roster and not enrolled",
    )
    sup.add_argument("--out", type=Path, default=Path("supervisor-invites.csv"), help="CSV")
    sup.add_argument("--bot-username", help="bot username for the links (else from settings)")
    sup_forget = command(
        supervisors,
        "forget",
        _supervisor_forget,
        "erase a supervisor's identity, Telegram account and links to whom they supervise",
    )
    sup_forget.add_argument("email", help="the supervisor's e-mail, as in the roster")
    sup_forget.add_argument("--answers", action="store_true", help="delete their answers too")

    staff = group(sub, "staff", "manage staff roles")
    sinv = command(staff, "invite", _staff_invite, "issue a single-use staff invite link")
    sinv.add_argument("--role", required=True, choices=[r.value for r in Role])
    sinv.add_argument("--label", help="who it is for (kept in the audit log)")
    sinv.add_argument("--qr", type=Path, metavar="FILE", help="also write the link as a QR PNG")
    sinv.add_argument("--bot-username", help="bot username for the link (else from settings)")
    command(staff, "list", _staff_list, "list staff roles")
    revoke = command(staff, "revoke", _staff_revoke, "take a role away from a Telegram user")
    revoke.add_argument("user_id", type=int)
    revoke.add_argument("--role", required=True, choices=[r.value for r in Role])

    attempts = group(sub, "attempts", "manage questionnaire attempts")
    reopen = command(
        attempts,
        "reopen",
        _reopen,
        "let a participant answer a submitted questionnaire stage again",
    )
    reopen.add_argument("participant", help="participant code, external id or e-mail")
    reopen.add_argument("instrument", help="questionnaire id, e.g. kat")
    reopen.add_argument("stage", help="stage id, e.g. pre or post")

    forget = command(sub, "forget", _forget, "erase a participant's identity and Telegram binding")
    forget.add_argument("participant", help="participant code, external id or e-mail")
    forget.add_argument("--answers", action="store_true", help="delete their answers too")


async def _roster_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.roster import RosterError, import_roster

    file: Path = args.file
    data = read_input(file)
    if data is None:
        return EXIT_INVALID
    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        try:
            report = await import_roster(
                db,
                data,
                cohort_ids=content.programme.cohort_ids,
                clock=clock(),
                actor=CLI_ACTOR,
            )
        except RosterError as exc:
            print(f"{file}: nothing imported, {len(exc.problems)} problem(s):", file=sys.stderr)
            print(str(exc), file=sys.stderr)
            return EXIT_INVALID
    print(
        f"{file}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )
    return EXIT_OK


async def _invites(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.invites import issue_participant_invites, write_invites_csv, write_qr_codes

    content = load_content(settings.content_dir)
    if args.cohort and args.cohort not in content.programme.cohort_ids:
        known = ", ".join(sorted(content.programme.cohort_ids))
        return fail(f"unknown cohort {args.cohort!r} (known: {known})")
    username = await bot_username(settings, args.bot_username)
    if args.participant:
        return await _invite_one(settings, args, username)
    async with Database.opened(settings.database) as db:
        issued = await issue_participant_invites(
            db,
            clock=clock(),
            ttl=timedelta(days=settings.invite_ttl_days),
            actor=CLI_ACTOR,
            cohort=args.cohort,
        )
    write_invites_csv(args.out, issued, username)
    print(f"{len(issued)} invite(s) written to {args.out}; earlier unused links no longer work")
    if args.qr:
        paths = write_qr_codes(args.qr, issued, username)
        print(f"{len(paths)} QR code(s) written to {args.qr}")
    print("Keep this file private: each link enrols whoever opens it first.")
    return EXIT_OK


async def _invite_one(settings: Settings, args: argparse.Namespace, username: str) -> int:
    from bot.services.invites import ReissueStatus, reissue_invite, write_invites_csv

    async with Database.opened(settings.database) as db:
        status, invite = await reissue_invite(
            db,
            args.participant,
            clock=clock(),
            ttl=timedelta(days=settings.invite_ttl_days),
            actor=CLI_ACTOR,
        )
    if status is ReissueStatus.ENROLLED:
        return fail(f"{args.participant!r} is already enrolled: no new link needed")
    if invite is None:
        return fail(f"no participant {args.participant!r} (code, external id or e-mail)")
    write_invites_csv(args.out, [invite], username)
    print(f"1 invite written to {args.out}; their earlier link no longer works")
    print("Keep this file private: the link enrols whoever opens it first.")
    return EXIT_OK


async def _supervisor_invites(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.invites import issue_supervisor_invites, write_invites_csv

    username = await bot_username(settings, args.bot_username)
    async with Database.opened(settings.database) as db:
        issued = await issue_supervisor_invites(
            db, clock=clock(), ttl=timedelta(days=settings.invite_ttl_days), actor=CLI_ACTOR
        )
    write_invites_csv(args.out, issued, username)
    print(f"{len(issued)} invite(s) written to {args.out}; earlier unused links no longer work")
    print("Keep this file private: each link enrols whoever opens it first.")
    return EXIT_OK


async def _staff_invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.invites import deep_link, issue_staff_invite

    username = await bot_username(settings, args.bot_username)
    async with Database.opened(settings.database) as db:
        invite = await issue_staff_invite(
            db,
            role=Role(args.role),
            label=args.label,
            clock=clock(),
            ttl=timedelta(days=settings.invite_ttl_days),
            actor=CLI_ACTOR,
        )
    link = deep_link(username, invite.token)
    print(link)
    if args.qr:
        import segno

        from bot.storage.files import private_file

        private_file(args.qr)
        segno.make(link, error="m").save(str(args.qr), scale=10, border=4)
        print(f"QR code written to {args.qr}", file=sys.stderr)
    print(f"single use, expires {invite.expires_at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    return EXIT_OK


async def _staff_list(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.services.staff import list_staff

    # The same use case as /staff's list in the chat.
    async with Database.opened(settings.database) as db:
        staff = await list_staff(db, settings.admin_ids)
    for member in staff:
        name = "(RELAIS_ADMIN_IDS)" if member.from_settings else member.display_name or "-"
        granted = f"{member.granted_at:%Y-%m-%d}" if member.granted_at else "-"
        print(f"{member.user_id}\t{member.role.value}\t{name}\t{granted}")
    return EXIT_OK


async def _staff_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.staff import revoke_staff

    # The same use case as /staff's Revoke button in the chat.
    async with Database.opened(settings.database) as db:
        removed = await revoke_staff(
            db, args.user_id, Role(args.role), clock=clock(), actor=CLI_ACTOR
        )
    print("role revoked" if removed else "that user did not have this role")
    return EXIT_OK if removed else EXIT_INVALID


async def _reopen(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.questionnaire import ReopenError, reopen_stage

    content = load_content(settings.content_dir)
    async with Database.opened(settings.database) as db:
        try:
            attempt = await reopen_stage(
                db,
                content,
                args.participant,
                args.instrument,
                args.stage,
                actor=CLI_ACTOR,
                now=clock().now(),
            )
        except ReopenError as exc:
            return fail(str(exc))
    print(
        f"{args.instrument} {args.stage} reopened for {args.participant} "
        f"(attempt {attempt.number}); it shows in their /me while the window is open"
    )
    return EXIT_OK


async def _supervisor_forget(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.supervising import ForgetSupervisorError, forget_supervisor

    async with Database.opened(settings.database) as db:
        try:
            number = await forget_supervisor(
                db, args.email, with_answers=args.answers, actor=CLI_ACTOR, now=clock().now()
            )
        except ForgetSupervisorError as exc:
            return fail(str(exc))
    what = (
        "identity, Telegram account, links and answers"
        if args.answers
        else ("identity, Telegram account and links (answers kept under their pseudonym)")
    )
    print(f"supervisor {number}: {what} erased")
    return EXIT_OK


async def _forget(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.privacy import ForgetError, forget

    async with Database.opened(settings.database) as db:
        try:
            code = await forget(
                db,
                args.participant,
                with_answers=args.answers,
                actor=CLI_ACTOR,
                now=clock().now(),
            )
        except ForgetError as exc:
            return fail(str(exc))
    what = (
        "identity, Telegram binding and answers"
        if args.answers
        else "identity and Telegram binding"
    )
    print(f"{code}: {what} erased")
    return EXIT_OK
