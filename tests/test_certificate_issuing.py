"""Certificates issued: the approval queue, the PDF in the chat, /me, verification by anyone."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot import callbacks
from bot.app import RelaisApp
from bot.clock import FixedClock
from bot.content import Content, check_content, load_content
from bot.i18n import LOCALES, Translator, load_catalogs
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import OfflineBotAPI
from bot.services.attendance import import_attendance
from bot.services.certificate_pdf import CertificateData, render
from bot.services.certificates import sessions_required
from bot.services.certification import (
    MAX_FAILURES,
    RevokeStatus,
    counts_by_level,
    initials,
    new_code,
    normalise_code,
    revoke,
)
from bot.settings import Settings
from bot.storage import Database
from bot.storage import certificates as store
from bot.storage.repo import Participant, Role
from tests.conftest import (
    CONTENT_DIR,
    add_participant,
    content_copy,
    fr,
    invite_for,
    staff_invite,
    submitted_attempt,
)

NewUser = Callable[..., SimulatedUser]
# The post-test closes 14 days after module 3 (Tanger: 17 February 2027).
AFTER_QUIZ = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


def pdf_text(data: bytes) -> str:
    """The text a PDF reader extracts, all pages."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def qualified(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: NewUser,
    *,
    name: str = "Khadija El Idrissi",
    external_id: str = "A-001",
    plan: bool = False,
) -> tuple[SimulatedUser, Participant]:
    """An enrolled participant who attended everything and scored 7/10 in the post-test."""
    participant = await add_participant(db, clock, external_id=external_id, full_name=name)
    invite = await invite_for(db, clock, participant)
    user = new_user(name.split()[0])
    await user.send(f"/start {invite.token}")
    kat = content.instrument("kat")
    assert kat is not None
    assert kat.certificates is not None
    required = sessions_required(content, kat.certificates, participant.cohort)
    rows = "participant;session;attended\n" + "".join(
        f"{participant.code};{s.id};oui\n" for s in required["success"]
    )
    await import_attendance(db, rows.encode(), programme=content.programme, clock=clock, actor="t")
    right = {item.id: item.answer for item in kat.items[:7]}
    await submitted_attempt(db, clock, content, participant.id, "kat", "post", right)
    if plan:
        await user.send_document(b"%PDF plan", "plan.pdf")
    return user, participant


async def coordinator(db: Database, clock: FixedClock, new_user: NewUser) -> SimulatedUser:
    user = new_user("Salma")
    await user.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    return user


async def test_approve_then_the_participant_receives_it_and_anyone_verifies_it(
    db: Database, clock: FixedClock, content: Content, new_user: NewUser, api: OfflineBotAPI
) -> None:
    user, participant = await qualified(db, clock, content, new_user)
    salma = await coordinator(db, clock, new_user)

    # Qualified, but the final quiz is still open for Tanger: nothing to approve yet.
    early = await salma.send("/certificates")
    assert "Prêts à approuver : 0" in early.text
    assert "1 autre sera prêt quand le quiz final sera clos pour sa cohorte." in early.text
    assert early.last.buttons == []

    clock.set(AFTER_QUIZ)
    screen = await salma.send("/certificates")
    assert "Prêts à approuver : 1" in screen.text
    assert (
        f"• {participant.code} · Khadija El Idrissi · tanger — Certificat de participation"
        in screen.text
    )
    button = "✅ Khadija El Idrissi · Certificat de participation"
    assert screen.last.button_texts == [button]

    # A participant replaying the coordinator's button data approves nothing.
    data = screen.last.buttons[0][0]["callback_data"]
    forged = await user.press_data(data)
    assert forged.answers[0]["text"] == "Ce bouton n'est plus valide."
    async with db.read() as conn:
        assert await store.of_participant(conn, participant.id) == []

    mark = len(user.chat)
    pressed = await salma.press(button)
    assert pressed.answers[0]["text"] == fr("Approved: the participant receives it now.")
    assert "Prêts à approuver : 0" in pressed.last.text
    assert "Délivré : 1" in pressed.last.text
    received = user.chat[mark:]
    assert len(received) == 1
    document = received[0]
    assert document.document is not None
    assert document.text.startswith("🎓 Félicitations, Khadija El Idrissi ! Voici votre certificat")
    async with db.read() as conn:
        [cert] = await store.of_participant(conn, participant.id)
    assert cert.level == "participation"
    assert cert.delivery == "sent"
    assert cert.file_id == document.document
    assert cert.holder_initials == "K. E. I."

    # What the holder (and anyone they show it to) reads in the PDF.
    text = pdf_text(api.files[document.document].content)
    for expected in (
        "Certificat de participation",
        "Khadija El Idrissi",
        "Recrutement équitable et placement à l'international",
        "40 heures d'apprentissage",
        "a suivi la partie introductive en ligne et la partie résidentielle",
        "Nadia Benali",
        "Code de vérification",
        f"start=v_{cert.code}",
    ):
        assert expected in text, expected

    # The same button again, from the old message: nothing is issued twice.
    again = await salma.press_data(data, screen.last)
    assert again.answers[0]["text"] == fr("Already issued: nothing was done.")
    assert again.sent == []  # no apology: the screen already showed the queue as it is
    async with db.read() as conn:
        assert len(await store.of_participant(conn, participant.id)) == 1
    assert len(user.chat) == mark + 1

    me = await user.send("/me")
    assert "<b>Vos certificats</b>" in me.text
    assert "🎓 Certificat de participation, délivré le mercredi 10 mars 2027" in me.text
    copy = await user.press("📄 Recevoir à nouveau : Certificat de participation")
    assert copy.last.document == cert.file_id
    mine = await user.send("/mydata")
    shown = "-".join(cert.code[i : i + 4] for i in range(0, 16, 4))
    assert f"1 certificat, code de vérification : {shown}" in mine.text

    # Someone else's certificate cannot be fetched with forged data.
    other = new_user("Curieux")
    stolen = await other.press_data(callbacks.cert_get(cert.id))
    assert stolen.answers[0]["text"] == "Ce bouton n'est plus valide."
    assert stolen.sent == []

    # An employer scans the QR code: minimal data, no name.
    employer = new_user("Employer", language_code="en")
    checked = await employer.send(f"/start v_{cert.code}")
    assert checked.text.splitlines() == [
        "✅ Valid certificate",
        "Holder: K. E. I.",
        "Certificate: Certificate of participation",
        "Course: Fair recruitment and international placement",
        "Issued on: Wednesday, March 10, 2027",
    ]
    assert "Khadija" not in checked.text

    clock.advance(timedelta(days=2))
    status, _ = await revoke(db, cert.code, actor="test", reason="erreur", now=clock.now())
    assert status is RevokeStatus.REVOKED
    revoked = await employer.send(f"/start v_{cert.code}")
    assert revoked.text.splitlines()[0] == "❌ This certificate has been revoked"
    assert "Revoked on: Friday, March 12, 2027" in revoked.text
    me = await user.send("/me")
    assert "❌ Certificat de participation : révoqué" in me.text
    assert "📄 Recevoir à nouveau : Certificat de participation" not in me.last.button_texts
    assert await counts_by_level(db) == {"participation": 0, "success": 0}


async def test_wrong_codes_are_rate_limited_then_forgiven(
    db: Database, clock: FixedClock, content: Content, new_user: NewUser
) -> None:
    _, participant = await qualified(db, clock, content, new_user)
    clock.set(AFTER_QUIZ)
    salma = await coordinator(db, clock, new_user)
    await salma.send("/certificates")
    await salma.press("✅ Khadija El Idrissi · Certificat de participation")
    async with db.read() as conn:
        [cert] = await store.of_participant(conn, participant.id)

    guesser = new_user("Guesser")
    for _ in range(MAX_FAILURES):
        wrong = await guesser.send(f"/start v_{new_code()}")
        assert wrong.text.startswith("Aucun certificat ne porte ce code.")
    # Limited: even the right code gets no answer, so guessing teaches nothing.
    limited = await guesser.send(f"/start v_{cert.code}")
    assert limited.text == (
        "Trop de codes inconnus ont été essayés d'ici. Réessayez dans une heure."
    )
    # Someone else is not affected.
    assert (await new_user("Other").send(f"/start v_{cert.code}")).text.startswith(
        "✅ Certificat valide"
    )
    clock.advance(timedelta(hours=1, seconds=1))
    assert (await guesser.send(f"/start v_{cert.code}")).text.startswith("✅ Certificat valide")


async def test_approve_all_only_approves_the_list_shown(
    db: Database, clock: FixedClock, content: Content, new_user: NewUser
) -> None:
    _, khadija = await qualified(db, clock, content, new_user, plan=True)
    clock.set(AFTER_QUIZ)
    salma = await coordinator(db, clock, new_user)
    screen = await salma.send("/certificates")
    assert "Prêts à approuver : 2" in screen.text
    assert "✅ Tout approuver (2)" in screen.last.button_texts

    # Someone else qualifies after the list was shown: the old button refuses and refreshes.
    clock.set(AFTER_QUIZ - timedelta(days=30))
    await qualified(db, clock, content, new_user, name="Omar Skalli", external_id="A-002")
    clock.set(AFTER_QUIZ)
    stale = await salma.press("✅ Tout approuver (2)", screen.last)
    assert stale.answers[0]["text"] == fr(
        "The list has changed since it was shown: here it is again."
    )
    async with db.read() as conn:
        assert await store.all_certificates(conn) == []
    assert "Prêts à approuver : 3" in stale.last.text

    done = await salma.press("✅ Tout approuver (3)")
    assert done.answers[0]["text"] == "3 approuvés."
    assert await counts_by_level(db) == {"participation": 2, "success": 1}
    async with db.read() as conn:
        delivered = [c.delivery for c in await store.all_certificates(conn)]
    assert delivered == ["sent", "sent", "sent"]
    mine = [c.level for c in await _certs(db, khadija)]
    assert mine == ["participation", "success"]


async def _certs(db: Database, participant: Participant) -> list[store.Certificate]:
    async with db.read() as conn:
        return await store.of_participant(conn, participant.id)


async def test_strangers_and_participants_cannot_see_the_queue(
    db: Database, clock: FixedClock, content: Content, new_user: NewUser
) -> None:
    user, _ = await qualified(db, clock, content, new_user)
    assert (await user.send("/certificates")).text == (
        "Cette commande est réservée à la coordination."
    )
    stranger = new_user("Stranger")
    assert "invitation" in (await stranger.send("/certificates")).text


def test_the_pdf_shapes_an_arabic_name_and_keeps_every_text(content: Content) -> None:
    load_catalogs()
    texts = content.certificates
    assert texts is not None
    translators = {loc: Translator(loc, content.programme.tz) for loc in LOCALES}
    code = new_code()
    data = CertificateData(
        "success", "خديجة الإدريسي", code, datetime(2027, 4, 1, tzinfo=UTC), "relais_demo_bot"
    )
    pdf = render(texts, data, translators=translators, folder=CONTENT_DIR)
    text = pdf_text(pdf)
    # HarfBuzz substitutes joined letter forms; the PDF maps them back to the letters typed.
    # The reader gives right-to-left words in the order they appear on the page.
    assert "خديجة" in text
    assert "الإدريسي" in text
    assert "Certificat de réussite" in text
    assert "60 heures d'apprentissage" in text
    assert "Délivré le jeudi 1 avril 2027" in text
    assert "Marc Lefèvre" in text  # the co-signing training director
    assert "-".join(code[i : i + 4] for i in range(0, 16, 4)) in text
    # Only the glyphs used are embedded: the document stays small.
    assert len(pdf) < 120_000


def test_codes_are_unguessable_and_forgiving_to_type() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = next(iter(codes))
    assert normalise_code(f"v_{code}") == code
    typed = "-".join(code[i : i + 4] for i in range(0, 16, 4)).lower()
    assert normalise_code(typed) == code
    assert normalise_code(code.replace("0", "O")) == code
    assert normalise_code(code[:-1]) is None
    assert normalise_code("'; DROP TABLE certificates; --") is None
    assert initials("Khadija El Idrissi") == "K. E. I."
    assert initials("خديجة الإدريسي") == "خ. ا."


def test_relais_check_names_the_line_of_a_bad_certificate_text(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    path = folder / "certificates.yaml"
    source = path.read_text(encoding="utf-8")
    source = source.replace("  hours: 60\n", "  hours: soixante\n")
    source = source.replace(
        "    - name: Marc Lefèvre\n",
        "    - name: Marc Lefèvre\n      signature: signatures/mlf.png\n",
    )
    source = source.replace("languages: [fr]", "languages: [fr, fr]")
    path.write_text(source, encoding="utf-8")
    lines = source.splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, text in enumerate(lines, start=1) if fragment in text)

    problems = [str(p) for p in check_content(folder)]
    shown = str(path) if not path.is_relative_to(Path.cwd()) else str(path.relative_to(Path.cwd()))
    assert (
        f"{shown}:{line_of('languages:')}: languages: Value error, each language at most once"
        in (problems)
    )
    hours = next(p for p in problems if ": success.hours:" in p)
    assert hours.startswith(f"{shown}:{line_of('hours: soixante')}: success.hours: ")
    assert (
        f"{shown}:{line_of('signature: signatures/mlf.png')}: success.signatories[1].signature: "
        "no such file 'signatures/mlf.png' (relative to the content folder)"
    ) in problems

    # A real signature image is accepted and printed.
    (folder / "signatures").mkdir()
    fixed = source.replace("hours: soixante", "hours: 60").replace("[fr, fr]", "[fr, ar]")
    path.write_text(fixed, encoding="utf-8")
    (folder / "signatures" / "mlf.png").write_bytes(b"not an image")
    assert [str(p) for p in check_content(folder)] == [
        f"{shown}:{line_of('signature: signatures/mlf.png')}: success.signatories[1].signature: "
        "'signatures/mlf.png' is not a PNG or JPEG image"
    ]
    import segno

    segno.make("signature").save(str(folder / "signatures" / "mlf.png"), scale=4)
    loaded = load_content(folder)
    assert loaded.certificates is not None
    assert loaded.certificates.languages == ["fr", "ar"]
    load_catalogs()
    translators = {loc: Translator(loc, loaded.programme.tz) for loc in LOCALES}
    data = CertificateData("success", "Omar Skalli", new_code(), AFTER_QUIZ, "relais_demo_bot")
    pdf = render(loaded.certificates, data, translators=translators, folder=folder)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.pages[0].images, "the signature image is on the page"
    text = pdf_text(pdf)
    assert "شهادة" in text  # the Arabic title, printed under the French one
    assert re.search(r"60\s", text)


@pytest.mark.clients
def test_pdf_pages_render_to_png(tmp_path: Path, content: Content) -> None:
    """The PDF as a viewer draws it (poppler's pdftoppm): one landscape A4 page, not blank."""
    import subprocess

    from PIL import Image

    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None, "install poppler-utils (make test-clients does)"
    load_catalogs()
    assert content.certificates is not None
    translators = {loc: Translator(loc, content.programme.tz) for loc in LOCALES}
    data = CertificateData(
        "participation", "خديجة الإدريسي", new_code(), AFTER_QUIZ, "relais_demo_bot"
    )
    source = tmp_path / "certificate.pdf"
    source.write_bytes(
        render(content.certificates, data, translators=translators, folder=CONTENT_DIR)
    )
    subprocess.run([pdftoppm, "-png", "-r", "50", str(source), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    with Image.open(pages[0]) as image:
        # A4 landscape at 50 dpi: 584 x 413 pixels.
        assert abs(image.width - 584) <= 2
        assert abs(image.height - 413) <= 2
        grey = image.convert("L")
        histogram = grey.histogram()
        dark = sum(histogram[:128])
        assert dark > 0.01 * image.width * image.height, "the page has ink on it"
        # The name's line (about a third down) has ink in the middle, where the name is.
        band = grey.crop((150, 120, 434, 175))
        darkest = band.getextrema()[0]
        assert isinstance(darkest, int)
        assert darkest < 100
    text = subprocess.run(
        ["pdftotext", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "خديجة الإدريسي" in text  # poppler gives the Arabic name in reading order


def test_command_line_lists_approves_issues_verifies_and_revokes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import os

    from bot import cli
    from bot.cli import common

    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_BOT_USERNAME", "relais_test_bot")
    # After every cohort's final quiz has closed (Marrakech: 17 March 2027).
    when = FixedClock(datetime(2027, 4, 1, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(common, "SystemClock", lambda: when)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "external_id;full_name;email;cohort\nAN-0001;Omar Skalli;omar@example.org;marrakech\n",
        encoding="utf-8",
    )
    assert cli.main(["roster", "import", str(roster)]) == 0
    content = load_content(CONTENT_DIR)
    kat = content.instrument("kat")
    assert kat is not None
    assert kat.certificates is not None
    needed = sessions_required(content, kat.certificates, "marrakech")["participation"]
    attendance = tmp_path / "attendance.csv"
    attendance.write_text(
        "participant;session;attended\n" + "".join(f"AN-0001;{s.id};oui\n" for s in needed),
        encoding="utf-8",
    )
    assert cli.main(["attendance", "import", str(attendance)]) == 0

    async def post_test() -> None:
        async with Database.opened(tmp_path / "relais.db") as db:
            async with db.read() as conn:
                from bot.storage.repo import participant_by_key

                omar = await participant_by_key(conn, "AN-0001")
            assert omar is not None
            # Four right and six wrong: 40 % of the questions asked.
            given = {
                item.id: item.answer
                if n < 4
                else next(o.id for o in item.options or [] if o.id != item.answer)
                for n, item in enumerate(kat.items)
            }
            await submitted_attempt(db, when, content, omar.id, "kat", "post", given)

    asyncio.run(post_test())
    capsys.readouterr()

    assert cli.main(["certificates", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Omar Skalli  marrakech  participation: READY | success: missing attendance at 2" in (
        listing
    )
    assert "a final quiz score of 60 % (theirs: 40 %), and the action plan" in listing
    assert listing.endswith("1 ready, 0 issued, 1 participants\n")

    assert cli.main(["certificates", "approve", "AN-0001", "success"]) == 1
    assert ": not-ready, nothing done" in capsys.readouterr().err
    assert cli.main(["certificates", "approve", "--all"]) == 0
    approved = capsys.readouterr().out
    match = re.search(r"participation approved, code ([0-9A-Z-]{19});", approved)
    assert match is not None
    code = match.group(1)
    assert cli.main(["certificates", "approve", "--all"]) == 0
    assert capsys.readouterr().out == "nothing is ready\n"

    out = tmp_path / "omar.pdf"
    assert cli.main(["certificates", "issue", code, "--out", str(out)]) == 0
    text = pdf_text(out.read_bytes())
    assert "Omar Skalli" in text
    assert "Certificat de participation" in text
    assert code in text
    assert out.stat().st_mode & 0o777 == 0o600

    capsys.readouterr()
    assert cli.main(["certificates", "verify", code.lower()]) == 0
    assert "Holder: O. S." in capsys.readouterr().out
    assert cli.main(["certificates", "revoke", code, "--reason", "name misspelt"]) == 0
    assert cli.main(["certificates", "verify", code]) == 1
    assert "❌ This certificate has been revoked" in capsys.readouterr().out
    assert cli.main(["certificates", "issue", code]) == 1
    # Revoked, the participant can be approved again: a new certificate with a new code.
    assert cli.main(["certificates", "approve", "AN-0001", "participation"]) == 0
    assert code not in capsys.readouterr().out


async def test_webhook_mode_serves_the_public_verification_page(
    settings: Settings, content: Content, clock: FixedClock
) -> None:
    import socket

    import aiohttp
    from pydantic import SecretStr

    from bot.app import webhook_of
    from bot.certificate_sender import verification_url
    from bot.runtime import runtime_of
    from bot.sandbox.harness import open_sandbox

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            return port

    hook_port, page_port = free_port(), free_port()
    hooked = settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{hook_port}/relais-hook",
            "webhook_port": hook_port,
            "webhook_secret": SecretStr("s3cret-token"),
            "verify_port": page_port,
        }
    )
    async with open_sandbox(hooked, content, clock=clock, webhook=webhook_of(hooked)) as sandbox:
        participant = await add_participant(sandbox.db, clock)
        code = new_code()
        async with sandbox.db.transaction() as conn:
            await store.insert(
                conn,
                participant_id=participant.id,
                level="success",
                code=code,
                initials=initials(participant.full_name),
                actor="test",
                content_version=content.version,
                now=clock.now(),
            )
        page = f"http://127.0.0.1:{page_port}/verify/{code}"
        assert verification_url(runtime_of(sandbox.app), code) == page.replace(
            f":{page_port}", f":{hook_port}"
        )  # under the bot's public address; the proxy forwards /verify/* to the page's port
        async with aiohttp.ClientSession() as session:
            async with session.get(page, headers={"Accept-Language": "fr-MA,fr;q=0.9"}) as got:
                assert got.status == 200
                assert got.headers["Content-Security-Policy"].startswith("default-src 'none'")
                html = await got.text()
            assert '<html lang="fr" dir="ltr">' in html
            assert "<p>✅ Certificat valide</p>" in html
            assert "<p>Titulaire : K. E. I.</p>" in html
            assert "<p>Certificat : Certificat de réussite</p>" in html
            assert "Khadija" not in html
            async with session.get(page, headers={"Accept-Language": "ar"}) as got:
                assert '<html lang="ar" dir="rtl">' in await got.text()
            for _ in range(MAX_FAILURES):
                async with session.get(page[:-3] + "ZZZ") as got:
                    assert got.status == 404
            async with session.get(page) as got:
                assert got.status == 429
                assert "Trop de codes inconnus" in await got.text()
            await revoke(sandbox.db, code, actor="test", reason="x", now=clock.now())
            # An hour later the address may check again, and sees the revocation.
            clock.advance(timedelta(hours=2))
            async with session.get(page) as got:
                assert got.status == 200
                assert "❌ Ce certificat a été révoqué" in await got.text()


async def test_an_approval_from_the_command_line_reaches_the_holder_once_enrolled(
    app: RelaisApp, db: Database, clock: FixedClock, content: Content, new_user: NewUser
) -> None:
    from bot.certificate_sender import deliver_pending
    from bot.runtime import runtime_of
    from bot.services.certification import ApproveStatus, approve

    rt = runtime_of(app)
    # The bot's own round runs on real time (1 s after start, then every minute): on a busy
    # machine it raced the rounds this test counts. The test plays the rounds itself.
    assert app.job_queue is not None
    for job in app.job_queue.get_jobs_by_name("relais-certificates"):
        job.enabled = False
    participant = await add_participant(db, clock, external_id="A-010")
    kat = content.instrument("kat")
    assert kat is not None
    assert kat.certificates is not None
    needed = sessions_required(content, kat.certificates, participant.cohort)["participation"]
    rows = "participant;session;attended\n" + "".join(
        f"{participant.code};{s.id};oui\n" for s in needed
    )
    await import_attendance(db, rows.encode(), programme=content.programme, clock=clock, actor="t")
    right = {item.id: item.answer for item in kat.items[:3]}
    await submitted_attempt(db, clock, content, participant.id, "kat", "post", right)
    clock.set(AFTER_QUIZ)
    approved = await approve(
        db, content, participant.id, "participation", actor="cli", now=clock.now()
    )
    assert approved.status is ApproveStatus.APPROVED
    # Not in the chat yet: it waits.
    assert await deliver_pending(app.bot, rt) == 0
    assert [c.delivery for c in await _certs(db, participant)] == ["pending"]

    user = new_user("Khadija")
    await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    assert await deliver_pending(app.bot, rt) == 1
    assert user.chat[-1].document is not None
    assert user.chat[-1].text.startswith("🎓 Félicitations")
    # Every later round finds nothing to send: it is never sent twice.
    assert await deliver_pending(app.bot, rt) == 0
    assert len([m for m in user.chat if m.document]) == 1

    # A second holder who blocked the bot: it waits until they unblock it.
    other = await add_participant(db, clock, external_id="A-011", full_name="Omar Skalli")
    await import_attendance(
        db,
        (
            "participant;session;attended\n" + "".join(f"A-011;{s.id};oui\n" for s in needed)
        ).encode(),
        programme=content.programme,
        clock=clock,
        actor="t",
    )
    await submitted_attempt(db, clock, content, other.id, "kat", "post", right)
    omar = new_user("Omar")
    await omar.send(f"/start {(await invite_for(db, clock, other)).token}")
    await omar.block()
    await approve(db, content, other.id, "participation", actor="cli", now=clock.now())
    assert await deliver_pending(app.bot, rt) == 0
    [waiting] = await _certs(db, other)
    assert waiting.delivery == "pending"
    await omar.unblock()
    assert await deliver_pending(app.bot, rt) == 1
    assert omar.chat[-1].document is not None


async def test_an_invitation_token_that_begins_like_a_code_still_enrols(
    db: Database, clock: FixedClock, new_user: NewUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import invites

    # One token in 4,096 begins with "v_": it must not be taken for a certificate's code.
    monkeypatch.setattr(invites, "new_token", lambda: "v_" + "A" * 30)
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    assert invite.token.startswith("v_")
    welcome = await new_user("Khadija").send(f"/start {invite.token}")
    assert welcome.text.startswith("Bienvenue, Khadija El Idrissi !")


def test_long_texts_in_three_languages_are_set_smaller_on_one_page(content: Content) -> None:
    from bot.content import LocalizedText

    load_catalogs()
    texts = content.certificates
    assert texts is not None
    success = texts.success
    many = [
        LocalizedText(
            fr=f"Objectif {n} : {'mieux accompagner ' * 8}", en=f"Objective {n}", ar="هدف"
        )
        for n in range(1, 9)
    ]
    longer = success.model_copy(
        update={"activity": success.activity.model_copy(update={"objectives": many})}
    )
    crowded = texts.model_copy(update={"success": longer, "languages": ["fr", "en", "ar"]})
    translators = {loc: Translator(loc, content.programme.tz) for loc in LOCALES}
    data = CertificateData("success", "Omar Skalli", new_code(), AFTER_QUIZ, "relais_demo_bot")
    reader = PdfReader(
        io.BytesIO(render(crowded, data, translators=translators, folder=CONTENT_DIR))
    )
    assert len(reader.pages) == 1
    heights: dict[str, float] = {}

    def seen(text: str, cm: list[float], tm: list[float], font: object, size: object) -> None:
        if text.strip():
            heights[text.strip()] = tm[5]  # points above the page's bottom edge

    text = reader.pages[0].extract_text(visitor_text=seen)
    assert "Objectif 8" in text
    assert "Objective 8" in text
    assert "Certificate of achievement" in text
    assert "60 hours of learning" in text
    # Everything down to the date stays above the signatures (54 mm = 153 pt from the edge).
    body = [y for line, y in heights.items() if "Objecti" in line or "Issued on" in line]
    assert body
    assert min(body) > 150
