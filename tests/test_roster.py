"""Roster import: spreadsheet dialects, every bad row named, all or nothing, re-import updates."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.services.roster import RosterError, import_roster, parse_roster
from bot.storage import Database, repo

COHORTS = ("tanger", "agadir", "marrakech")
SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "roster-sample.csv"

GOOD = (
    "external_id,full_name,email,gender,agency,region,cohort,language\n"
    "A-1,Nadia Alaoui,nadia@example.org,F,Rabat,Rabat-Salé-Kénitra,tanger,fr\n"
    "A-2,Youssef Amrani,youssef@example.org,M,Agadir,Souss-Massa,agadir,\n"
)


def test_comma_file_without_bom_parses() -> None:
    entries = parse_roster(GOOD.encode(), COHORTS)
    assert [e.fields.full_name for e in entries] == ["Nadia Alaoui", "Youssef Amrani"]
    assert entries[0].fields.gender == "female"
    assert entries[1].fields.language is None


def test_french_excel_file_with_bom_semicolons_and_french_headers_parses() -> None:
    text = (
        "Identifiant;Nom complet;Courriel;Sexe;Agence;Région;Cohorte;Langue\n"
        "A-1;Nadia Alaoui;Nadia@Example.org;femme;Rabat;Rabat-Salé-Kénitra;Tanger;ar\n"
    ).replace("Nom complet", "nom_complet")
    entries = parse_roster("\ufeff".encode() + text.encode(), COHORTS)
    fields = entries[0].fields
    assert (fields.external_id, fields.email, fields.cohort, fields.language) == (
        "A-1",
        "nadia@example.org",
        "tanger",
        "ar",
    )


def test_shipped_sample_has_a_hundred_valid_rows() -> None:
    assert len(parse_roster(SAMPLE.read_bytes(), COHORTS)) == 100


def test_every_bad_row_is_named_with_its_column() -> None:
    bad = GOOD + (
        "A-3,,x@example.org,F,Fès,Fès-Meknès,tanger,\n"
        "A-4,Sara Bennani,not-an-email,F,Fès,Fès-Meknès,casablanca,de\n"
        "A-1,Nadia Twice,other@example.org,F,Rabat,Rabat,tanger,\n"
    )
    with pytest.raises(RosterError) as caught:
        parse_roster(bad.encode(), COHORTS)
    messages = [str(p) for p in caught.value.problems]
    assert "row 4, column full_name: empty" in messages
    assert any(m.startswith("row 5, column email:") for m in messages)
    assert any(m.startswith("row 5, column cohort: unknown cohort 'casablanca'") for m in messages)
    assert any(m.startswith("row 5, column language:") for m in messages)
    assert "row 6, column external_id: 'A-1' already on row 2" in messages


def test_unknown_and_missing_columns_are_named_in_the_header() -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster(b"name;phone\nNadia;0600\n", COHORTS)
    messages = [str(p) for p in caught.value.problems]
    assert any("unknown column(s): name, phone" in m for m in messages)
    assert "row 1, column full_name: required column missing" in messages
    assert "row 1, column cohort: required column missing" in messages


def test_not_utf8_is_refused_with_a_hint() -> None:
    with pytest.raises(RosterError, match="not UTF-8"):
        parse_roster("full_name;cohort\nRégis;tanger\n".encode("cp1252"), COHORTS)


async def test_bad_file_imports_nothing(db: Database, clock: FixedClock) -> None:
    bad = GOOD + "A-3,Sara,sara@example.org,F,Fès,Fès-Meknès,nowhere,\n"
    with pytest.raises(RosterError):
        await import_roster(db, bad.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    async with db.read() as conn:
        assert await repo.list_participants(conn) == []
        assert await repo.audit_entries(conn, "roster.import") == []


async def test_reimport_updates_by_id_or_email_and_never_duplicates(
    db: Database, clock: FixedClock
) -> None:
    first = await import_roster(db, GOOD.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = await import_roster(db, GOOD.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    # Nadia changes cohort; Youssef's row lost its id but keeps his e-mail.
    changed = (
        "external_id;full_name;email;cohort\n"
        "A-1;Nadia Alaoui;nadia@example.org;marrakech\n"
        ";Youssef Amrani;youssef@example.org;agadir\n"
    )
    third = await import_roster(db, changed.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    assert third.created == 0
    async with db.read() as conn:
        people = await repo.list_participants(conn)
        assert len(people) == 2
        nadia = await repo.find_participant(conn, external_id="A-1")
        assert nadia is not None
        assert nadia.cohort == "marrakech"
        assert len(await repo.audit_entries(conn, "roster.import")) == 3


async def test_email_owned_by_another_participant_is_refused(
    db: Database, clock: FixedClock
) -> None:
    await import_roster(db, GOOD.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    clash = "external_id;full_name;email;cohort\nA-1;Nadia Alaoui;youssef@example.org;tanger\n"
    with pytest.raises(RosterError, match="row 2, column email: belongs to another"):
        await import_roster(db, clash.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    async with db.read() as conn:
        nadia = await repo.find_participant(conn, external_id="A-1")
        assert nadia is not None
        assert nadia.email == "nadia@example.org"
