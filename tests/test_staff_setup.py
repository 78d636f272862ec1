"""Issue 18: a coordinator sets the programme up from Telegram, and every refusal on the way."""

from __future__ import annotations

import csv
import io
import re
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from openpyxl import Workbook
from pypdf import PdfReader

from bot.app import RelaisApp, running, runtime_of
from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.chat import SimulatedUser, Turn, direct_delivery
from bot.sandbox.offline import OfflineBotAPI
from bot.services.attendance import zoom_shares
from bot.settings import Settings
from bot.storage import Database, repo
from bot.storage.repo import Role
from tests.conftest import ADMIN_ID, add_participant, fr, invite_for, offline_app

NewUser = Callable[..., SimulatedUser]

ROSTER = (
    "external_id;full_name;email;gender;cohort\n"
    "T-1;Khadija El Idrissi;khadija@example.org;F;tanger\n"
    "T-2;Youssef Berrada;youssef@example.org;M;tanger\n"
    "A-1;Nadia Alami;nadia@example.org;F;agadir\n"
)
ZOOM = (
    "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
    "Khadija El Idrissi,khadija@example.org,01/13/2027 10:00:00 AM,01/13/2027 11:30:00 AM,90,No\n"
    "Y. Berada,,01/13/2027 10:00:00 AM,01/13/2027 11:25:00 AM,85,Yes\n"
)


def token_in(text: str) -> str:
    found = re.search(r"start=([A-Za-z0-9_-]{32})", text)
    assert found is not None, text
    return found.group(1)


def uploads_of(settings: Settings) -> Path:
    return settings.database.resolve().parent / "uploads"


def pending_files(settings: Settings) -> list[Path]:
    folder = uploads_of(settings)
    return sorted(folder.iterdir()) if folder.exists() else []


def menu_of(api: OfflineBotAPI, user: SimulatedUser) -> set[str]:
    return {c["command"] for c in api.commands.get((f"{user.user_id}:chat", ""), [])}


def document_of(api: OfflineBotAPI, turn: Turn, suffix: str) -> bytes:
    for message in turn.sent:
        if message.document and (api.files[message.document].file_name or "").endswith(suffix):
            return api.files[message.document].content
    raise AssertionError(f"no {suffix} document in {turn.sent}")


async def count_participants(db: Database) -> int:
    async with db.read() as conn:
        return len(await repo.list_participants(conn))


async def coordinator_of(
    app: RelaisApp, api: OfflineBotAPI, new_user: NewUser, name: str = "Salma"
) -> tuple[SimulatedUser, SimulatedUser]:
    """The admin invites a coordinator from /staff; the coordinator opens the link."""
    admin = SimulatedUser(api, direct_delivery(app, api), ADMIN_ID, "Admin", language_code="fr")
    screen = await admin.send("/staff")
    made = await admin.press("Inviter un coordinateur", screen.last)
    coordinator = new_user(name)
    welcome = await coordinator.send(f"/start {token_in(made.text)}")
    assert "Bienvenue" in welcome.text
    return admin, coordinator


async def test_a_coordinator_sets_the_programme_up_from_the_chat(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
    settings: Settings,
) -> None:
    # Staff invited: the admin makes a single-use coordinator link in /staff.
    admin = SimulatedUser(api, direct_delivery(app, api), ADMIN_ID, "Admin", language_code="fr")
    screen = await admin.send("/staff")
    assert screen.last.button_texts == [fr("Invite a coordinator"), fr("Invite an evaluator")]
    made = await admin.press("Inviter un coordinateur", screen.last)
    assert made.last.photo is not None  # the QR code, the link in its caption
    assert "Lien à usage unique pour un nouveau membre de l'équipe (Coordinateur)" in made.text
    salma = new_user("Salma")
    await salma.send(f"/start {token_in(made.text)}")
    intruder = new_user("Intrus")
    await intruder.send(f"/start {token_in(made.text)}")
    async with db.read() as conn:
        assert (await repo.user_record(conn, salma.user_id)).roles == {Role.COORDINATOR}
        assert (await repo.user_record(conn, intruder.user_id)).roles == frozenset()
    menu = menu_of(api, salma)
    assert {"roster", "invites", "newlink", "review", "broadcast", "attendance"} <= menu
    assert "staff" not in menu
    assert "me" not in menu

    # Roster in: checked, summarised by cohort, nothing written before the confirmation.
    summary = await salma.send_document(ROSTER.encode(), "liste.csv")
    assert "3 nouveaux, 0 mis à jour, 0 inchangés" in summary.text
    assert "• Tanger · 2 nouveaux, 0 mis à jour, 0 inchangés" in summary.text
    assert "• Agadir · 1 nouveaux" in summary.text
    assert summary.last.button_texts == [fr("Import"), fr("Cancel")]
    assert await count_participants(db) == 0
    [kept] = pending_files(settings)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(uploads_of(settings).stat().st_mode) == 0o700
    done = await salma.press("Importer", summary.last)
    assert "Liste importée : 3 nouveaux, 0 mis à jour, 0 inchangés." in done.text
    assert await count_participants(db) == 3
    assert pending_files(settings) == []  # the file with identities is gone
    async with db.read() as conn:
        [entry] = await repo.audit_entries(conn, "roster.import")
    assert entry.actor == f"telegram:{salma.user_id}"

    # Invitations out: a PDF with one page each and the CSV.
    choice = await salma.send("/invites")
    assert choice.last.button_texts == [
        "Tous ceux qui ne sont pas encore inscrits",
        "Tanger",
        "Agadir",
        "Marrakech",
    ]
    sent = await salma.press("Tous ceux qui ne sont pas encore inscrits", choice.last)
    assert "3 invitations : le PDF à imprimer" in sent.text
    reader = PdfReader(io.BytesIO(document_of(api, sent, ".pdf")))
    assert len(reader.pages) == 3
    first = reader.pages[0].extract_text()
    assert "Khadija El Idrissi" in first
    assert "Tanger" in first
    assert "Scannez ce QR code" in first
    # HarfBuzz-shaped Arabic maps back to the letters typed: the words read as written.
    assert "الدعوة" in first
    assert "شخصية" in first
    rows = list(
        csv.DictReader(
            io.StringIO(document_of(api, sent, ".csv").decode("utf-8-sig")), delimiter=";"
        )
    )
    assert [r["full_name"] for r in rows] == [
        "Khadija El Idrissi",
        "Youssef Berrada",
        "Nadia Alami",
    ]
    assert token_in(rows[0]["link"]) in first.replace("\n", "")
    for name, row in zip(("Khadija", "Youssef"), rows, strict=False):
        assert "Bienvenue" in (await new_user(name).send(f"/start {token_in(row['link'])}")).text

    # Attendance in: the yes/no sheet, then a Zoom report with a row to review by buttons.
    sheet = "participant;session;attended\nT-1;tanger-module-2;oui\nT-2;tanger-module-2;non\n"
    recorded = await salma.send_document(sheet.encode(), "presence.csv")
    assert "2 présences importées." in recorded.text
    asked = await salma.send_document(ZOOM.encode(), "zoom.csv")
    assert "Pour quelle séance ?" in asked.text
    [intro] = [label for label in asked.last.button_texts if label.endswith("intro-live")]
    imported = await salma.press(intro, asked.last)
    assert "2 lignes lues, 2 nouvelles" in imported.text
    assert "1 personne n'a pas pu être reconnue" in imported.text
    assert "Y. Berada" in imported.last.text
    async with db.read() as conn:
        youssef = await repo.participant_by_key(conn, "T-2")
    assert youssef is not None
    candidate = f"Youssef Berrada · {youssef.code}"
    assert candidate in imported.last.button_texts
    decided = await salma.press(candidate, imported.last)
    assert f"Y. Berada est Youssef Berrada ({youssef.code}) : enregistré." in decided.text
    assert fr("Nothing to review: every row is matched.") in decided.text
    session = next(
        s for s in runtime_of(app).content.programme.all_sessions() if s.id == "intro-live"
    )
    async with db.read() as conn:
        shares = await zoom_shares(conn, session)
        assert await repo.audit_entries(conn, "attendance.resolve")
    assert youssef.id in shares
    assert len(shares) == 2

    # Staff invited: an evaluator, whose menu has no coordination commands.
    second = await admin.press(fr("Invite an evaluator"), screen.last)
    evaluator = new_user("Evaluatrice")
    await evaluator.send(f"/start {token_in(second.text)}")
    menu = menu_of(api, evaluator)
    assert {"export", "report", "help", "language"} <= menu
    assert not menu & {"broadcast", "stats", "pending", "plans", "roster", "invites"}


async def test_bad_rows_are_all_named_and_nothing_is_kept(
    app: RelaisApp, api: OfflineBotAPI, db: Database, new_user: NewUser, settings: Settings
) -> None:
    _admin, salma = await coordinator_of(app, api, new_user)
    bad = (
        "external_id;full_name;email;cohort\n"
        "T-1;Khadija El Idrissi;khadija@example.org;tanger\n"
        "T-2;Youssef Berrada;youssef@example;tanger\n"
        "T-3;Nadia Alami;nadia@example.org;casablanca\n"
        "T-4;;k2@example.org;agadir\n"
        "T-1;Khadija Bis;kb@example.org;tanger\n"
    )
    refused = await salma.send_document(bad.encode(), "liste.csv")
    assert "La liste a été refusée, rien n'a été importé : 4 problèmes." in refused.text
    # Each row named in the coordinator's language, the columns as the file names them.
    assert "ligne 3, colonne email : pas une adresse de courriel" in refused.text
    assert "ligne 4, colonne cohort : cohorte inconnue 'casablanca'" in refused.text
    assert "ligne 5, colonne full_name : vide" in refused.text
    assert "ligne 6, colonne external_id : 'T-1' figure déjà à la ligne 2" in refused.text
    assert "row " not in refused.text
    assert refused.last.button_texts == []
    assert await count_participants(db) == 0
    assert pending_files(settings) == []


async def test_two_rows_matching_one_person_are_refused(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
) -> None:
    await add_participant(db, clock, external_id="T-1", full_name="Khadija El Idrissi")
    _admin, salma = await coordinator_of(app, api, new_user)
    # Row 2 finds her by e-mail (as imported: t-1@example.org), row 3 by her external id.
    rows = (
        "external_id;full_name;email;cohort\n"
        "X-9;Khadija El Idrissi;t-1@example.org;tanger\n"
        "T-1;Khadija E.;other@example.org;tanger\n"
    )
    refused = await salma.send_document(rows.encode(), "liste.csv")
    assert "ligne 3, colonne" not in refused.text
    assert "ligne 3 : la ligne 2 et celle-ci désignent toutes deux" in refused.text
    async with db.read() as conn:
        [only] = await repo.list_participants(conn)
    assert only.full_name == "Khadija El Idrissi"


async def test_a_stale_or_forged_confirmation_writes_nothing(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
    settings: Settings,
) -> None:
    _admin, salma = await coordinator_of(app, api, new_user)
    _again, other = await coordinator_of(app, api, new_user, "Karim")
    first = await salma.send_document(ROSTER.encode(), "liste.csv")
    [ok_first, _cancel] = [b["callback_data"] for b in first.last.buttons[0]]
    # Another coordinator replaying Salma's button finds nothing of his own.
    forged = await other.press_data(ok_first)
    assert (
        fr("This button is no longer valid: nothing was imported. Send the file again.")
        in forged.text
    )
    assert await count_participants(db) == 0
    # A newer upload replaces the first: its button is stale.
    second = await salma.send_document(ROSTER.encode(), "liste-v2.csv")
    stale = await salma.press_data(ok_first, first.last)
    assert "Ce bouton n'est plus valide" in stale.text
    assert await count_participants(db) == 0
    # Cancel deletes the file; pressing Import afterwards (a re-sent tap) imports nothing.
    [ok_second, cancel_second] = [b["callback_data"] for b in second.last.buttons[0]]
    cancelled = await salma.press_data(cancel_second, second.last)
    assert fr("Cancelled: nothing was imported, and the file was deleted.") in cancelled.text
    assert pending_files(settings) == []
    late = await salma.press_data(ok_second, second.last)
    assert "Ce bouton n'est plus valide" in late.text
    assert await count_participants(db) == 0
    # A summary left for more than an hour expires.
    third = await salma.send_document(ROSTER.encode(), "liste-v3.csv")
    clock.advance(timedelta(hours=2))
    expired = await salma.press("Importer", third.last)
    assert "Ce bouton n'est plus valide" in expired.text
    assert await count_participants(db) == 0
    assert pending_files(settings) == []
    # A made-up nonce.
    assert "Ce bouton n'est plus valide" in (await salma.press_data("ro:ok:" + "A" * 16)).text


async def test_an_xlsx_roster_and_files_the_bot_does_not_take(
    app: RelaisApp, api: OfflineBotAPI, db: Database, new_user: NewUser, settings: Settings
) -> None:
    _admin, salma = await coordinator_of(app, api, new_user)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in ROSTER.splitlines():
        sheet.append(line.split(";"))
    data = io.BytesIO()
    book.save(data)
    summary = await salma.send_document(data.getvalue(), "liste.xlsx")
    assert "3 nouveaux" in summary.text
    await salma.press("Importer", summary.last)
    assert await count_participants(db) == 3

    unknown = await salma.send_document(b"nom;prenom\nA;B\n", "autre.csv")
    assert "Je ne reconnais pas ce tableau" in unknown.text
    wrong = await salma.send_document(b"hello", "notes.txt")
    assert "envoyez un fichier CSV ou XLSX" in wrong.text
    fake = await salma.send_document(b"not a workbook", "liste.xlsx")
    assert "Ce fichier n'a pas été importé" in fake.text
    big = await salma.send_document(b"full_name;cohort\n" + b"x" * (5 * 1024 * 1024), "big.csv")
    assert "Ce fichier dépasse 5 Mo" in big.text
    assert pending_files(settings) == []


async def test_only_coordinators_import_and_only_admins_manage_staff(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
    settings: Settings,
) -> None:
    admin, salma = await coordinator_of(app, api, new_user)
    screen = await admin.send("/staff")
    evaluator_link = await admin.press(fr("Invite an evaluator"), screen.last)
    evaluator = new_user("Evaluatrice")
    await evaluator.send(f"/start {token_in(evaluator_link.text)}")
    participant = await add_participant(db, clock)
    learner = new_user("Khadija")
    await learner.send(f"/start {(await invite_for(db, clock, participant)).token}")

    refused = await evaluator.send_document(ROSTER.encode(), "liste.csv")
    assert fr("This command is for coordinators.") in refused.text
    as_plan = await learner.send_document(ROSTER.encode(), "liste.csv")
    # A participant's document is an action plan: a CSV is not one, and no import runs.
    assert "Ce fichier n'est pas un document PDF, DOCX ou ODT" in as_plan.text
    assert await count_participants(db) == 1
    assert pending_files(settings) == []
    assert fr("This command is for administrators.") in (await salma.send("/staff")).text
    assert fr("This command is for coordinators.") in (await evaluator.send("/invites")).text

    # Revoking in the chat: audited, the menu falls back, the commands are refused.
    listed = await admin.send("/staff")
    revoke = next(label for label in listed.last.button_texts if "Evaluatrice" in label)
    gone = await admin.press(revoke, listed.last)
    assert "Evaluatrice n'a plus le rôle Évaluateur." in gone.text
    assert menu_of(api, evaluator) == set()
    assert "lien d'invitation personnel" in (await evaluator.send("/export")).text  # a stranger now
    async with db.read() as conn:
        [entry] = await repo.audit_entries(conn, "staff.revoke")
    assert entry.actor == f"telegram:{ADMIN_ID}"
    again = await admin.press_data(f"sr:{evaluator.user_id}:evaluator")
    assert again.answers[0]["text"] == "Ce bouton n'est plus valide."


async def test_a_lost_link_is_replaced_and_the_old_one_stops_working(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    _admin, salma = await coordinator_of(app, api, new_user)
    khadija = await add_participant(db, clock)
    old = await invite_for(db, clock, khadija)
    assert "Utilisation : /newlink" in (await salma.send("/newlink")).text
    assert "Aucun participant NOBODY" in (await salma.send("/newlink NOBODY")).text
    fresh = await salma.send(f"/newlink {khadija.external_id}")
    assert f"Nouveau lien pour Khadija El Idrissi ({khadija.code})" in fresh.text
    reader = PdfReader(io.BytesIO(document_of(api, fresh, ".pdf")))
    assert len(reader.pages) == 1
    lost = await new_user("Voleur").send(f"/start {old.token}")
    assert "Bienvenue" not in lost.text
    assert "Bienvenue" in (await new_user("Khadija").send(f"/start {token_in(fresh.text)}")).text
    enrolled = await salma.send(f"/newlink {khadija.code}")
    assert "est déjà inscrit" in enrolled.text


async def test_help_and_menus_follow_the_roles(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    admin, salma = await coordinator_of(app, api, new_user)
    helped = (await salma.send("/help")).text
    for command in ("roster", "invites", "newlink", "review", "broadcast", "checkin", "export"):
        assert f"\n/{command}" in helped, command
    assert "/staff" not in helped
    assert "/reload" not in helped
    admin_help = (await admin.send("/help")).text
    assert "/staff — Équipe : inviter, lister, retirer" in admin_help
    assert "/reload" in admin_help
    assert "/invites" in admin_help
    participant = await add_participant(db, clock)
    learner = new_user("Khadija")
    await learner.send(f"/start {(await invite_for(db, clock, participant)).token}")
    learner_help = (await learner.send("/help")).text
    for command in ("/me", "/plan", "/mydata", "/language", "/help"):
        assert command in learner_help
    assert "/invites" not in learner_help
    # Every menu line is a command its role may use, and /help lists exactly those.
    for user in (salma,):
        for command in menu_of(api, user):
            assert f"/{command}" in helped


async def test_staff_menus_are_set_again_at_start_up(
    settings: Settings, content: Content, clock: FixedClock
) -> None:
    # Roles granted while the bot was stopped (relais staff invite, a restore): at start-up
    # each staff chat gets the menu of its roles, in its language.
    async with Database.opened(settings.database) as db, db.transaction() as conn:
        await repo.grant_role(
            conn,
            4242,
            Role.EVALUATOR,
            chat_id=4242,
            display_name="Eva",
            granted_by="cli",
            now=clock.now(),
        )
    api = OfflineBotAPI()
    application = offline_app(settings, content, api, clock)
    async with running(application):
        menu = {c["command"]: c["description"] for c in api.commands[("4242:chat", "")]}
    assert set(menu) == {"export", "report", "language", "help"}
    assert menu["export"] == "Exporter les réponses"


async def test_an_undecided_roster_does_not_linger(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
    settings: Settings,
) -> None:
    _admin, salma = await coordinator_of(app, api, new_user)
    _again, karim = await coordinator_of(app, api, new_user, "Karim")
    await salma.send_document(ROSTER.encode(), "liste.csv")
    clock.advance(timedelta(hours=2))
    # Salma never answers; the next upload by anyone removes her file with identities.
    await karim.send_document(ROSTER.encode(), "liste.csv")
    [left] = pending_files(settings)
    assert left.name.startswith(f"{karim.user_id}-")


async def test_line_managers_invitations_come_from_the_chat_too(
    app: RelaisApp, api: OfflineBotAPI, db: Database, new_user: NewUser
) -> None:
    _admin, salma = await coordinator_of(app, api, new_user)
    with_managers = (
        "external_id;full_name;email;cohort;supervisor_email;supervisor_name\n"
        "T-1;Khadija El Idrissi;khadija@example.org;tanger;chef@example.org;Karim Tazi\n"
        "T-2;Youssef Berrada;youssef@example.org;tanger;chef@example.org;\n"
        "A-1;Nadia Alami;nadia@example.org;agadir;;\n"
    )
    summary = await salma.send_document(with_managers.encode(), "liste.csv")
    await salma.press("Importer", summary.last)
    choice = await salma.send("/invites")
    # One line manager for two people: one invitation, offered beside the cohorts.
    assert choice.last.button_texts[-1] == "Supérieur·es hiérarchiques (1)"
    sent = await salma.press("Supérieur·es hiérarchiques (1)", choice.last)
    assert "1 invitation : le PDF à imprimer" in sent.text
    page = PdfReader(io.BytesIO(document_of(api, sent, ".pdf"))).pages[0].extract_text()
    assert "Karim Tazi" in page
    assert "Supérieur·e hiérarchique" in page
    (row,) = csv.DictReader(
        io.StringIO(document_of(api, sent, ".csv").decode("utf-8-sig")), delimiter=";"
    )
    assert (row["full_name"], row["email"], row["cohort"]) == ("Karim Tazi", "chef@example.org", "")
    # The participants' invitations are not among them, and none was issued.
    async with db.read() as conn:
        entries = await repo.audit_entries(conn, "supervisors.invite")
    assert [e.actor for e in entries] == [f"telegram:{salma.user_id}"]

    karim = new_user("Karim")
    welcome = await karim.send(f"/start {token_in(row['link'])}")
    assert "inscrit(e) comme supérieur(e) hiérarchique" in welcome.text
    # Enrolled: nobody left to invite, so no button; typed, the command says so.
    assert "Supérieur·es" not in " ".join((await salma.send("/invites")).last.button_texts)
    again = await salma.send("/invites superieurs")
    assert again.text == "Tout le monde est déjà inscrit : aucune invitation à émettre."


async def test_a_forged_line_managers_button_from_someone_else_issues_nothing(
    app: RelaisApp, api: OfflineBotAPI, db: Database, new_user: NewUser, clock: FixedClock
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = new_user("Khadija")
    await user.send(f"/start {invite.token}")
    pressed = await user.press_data("iv:supervisors")
    assert pressed.sent == []
    async with db.read() as conn:
        assert await repo.audit_entries(conn, "supervisors.invite") == []
