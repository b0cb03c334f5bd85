"""The French translation: key strings come out in French, and the catalog is complete and compiled."""

import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from wagtail.users.models import UserProfile

import wagtail_mailflow
from tests.factories import (
    ContactFactory,
    ContactListFactory,
    DeliveryFactory,
    EnrollmentFactory,
    heading,
    make_workflow,
)
from wagtail_mailflow.models import EmailTemplate, EmailWorkflow
from wagtail_mailflow.rendering import compile_template, starters
from wagtail_mailflow.tokens import unsubscribe_path
from wagtail_mailflow.viewsets import delivery_viewset

LOCALE = Path(wagtail_mailflow.__file__).parent / "locale" / "fr" / "LC_MESSAGES"
PO_FILE = LOCALE / "django.po"
MO_FILE = LOCALE / "django.mo"

Status = EmailWorkflow.Status
Scenario = EmailWorkflow.Scenario


# -- a small .po reader (no dependency) --------------------------------------


def _unquote(text):
    """A .po string literal ("...") as Python text."""
    return ast.literal_eval(text)


def read_po(path):
    """Entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr{index: text}, flags.

    Obsolete entries (#~) are returned with ``obsolete=True``; the header (msgid "") too.
    """
    entries = []
    entry = None
    field = None

    def start():
        return {
            "msgctxt": None,
            "msgid": None,
            "msgid_plural": None,
            "msgstr": {},
            "flags": set(),
            "obsolete": False,
        }

    def finish():
        if entry is not None and entry["msgid"] is not None:
            entries.append(entry)

    for raw_line in path.read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            continue
        if line.startswith("#"):
            if entry is not None and entry["msgid"] is not None:
                finish()
                entry = None
            if entry is None:
                entry = start()
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = _unquote(line)
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += value
            else:
                entry[field] += value
            continue
        if keyword in ("msgctxt", "msgid") and entry is not None and entry["msgid"] is not None:
            finish()
            entry = None
        if entry is None:
            entry = start()
        entry["obsolete"] = entry["obsolete"] or obsolete
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if match:
            field = ("msgstr", int(match.group(1)))
            entry["msgstr"][field[1]] = _unquote(rest)
        elif keyword == "msgstr":
            field = ("msgstr", 0)
            entry["msgstr"][0] = _unquote(rest)
        else:
            field = keyword
            entry[field] = _unquote(rest)
    finish()
    return entries


def messages():
    return [e for e in read_po(PO_FILE) if e["msgid"] != "" and not e["obsolete"]]


PLACEHOLDER = re.compile(r"%\(([^)]+)\)[sdif]")


# -- the catalog ---------------------------------------------------------------


def test_po_header_is_french_utf8_with_french_plurals():
    header = next(e for e in read_po(PO_FILE) if e["msgid"] == "")
    text = header["msgstr"][0]
    assert "Language: fr\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=2; plural=(n > 1);" in text
    assert "fuzzy" not in header["flags"]


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = messages()
    assert len(entries) > 500
    untranslated = [e["msgid"] for e in entries if not e["msgstr"] or not all(e["msgstr"].values())]
    assert untranslated == []
    plurals_incomplete = [
        e["msgid"] for e in entries if e["msgid_plural"] and sorted(e["msgstr"]) != [0, 1]
    ]
    assert plurals_incomplete == []
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert fuzzy == []
    assert "#, fuzzy" not in PO_FILE.read_text(encoding="utf-8")


def test_translations_keep_the_placeholders():
    """A translation uses only the source's named placeholders, and drops none (but plurals)."""
    wrong = []
    for e in messages():
        source = set(PLACEHOLDER.findall(e["msgid"])) | set(
            PLACEHOLDER.findall(e["msgid_plural"] or "")
        )
        for index, text in e["msgstr"].items():
            used = set(PLACEHOLDER.findall(text))
            if used - source:
                wrong.append((e["msgid"], index, sorted(used - source)))
            if not e["msgid_plural"] and used != source:
                wrong.append((e["msgid"], index, sorted(source - used)))
        if e["msgid_plural"]:
            plural_source = set(PLACEHOLDER.findall(e["msgid_plural"]))
            if set(PLACEHOLDER.findall(e["msgstr"][1])) != plural_source:
                wrong.append((e["msgid_plural"], 1, sorted(plural_source)))
    assert wrong == []


#: French typography's space before these marks: a NO-BREAK SPACE (U+00A0), everywhere.
NBSP = "\u00a0"
FRENCH_SPACED = ":;?!"
#: Where such a mark is not French punctuation: template syntax, placeholders, URLs and their
#: schemes, times and ratios, template filter arguments, HTML entities, operators.
NOT_PUNCTUATION = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}"
    r"|%\([^)]*\)[sdif]|%[sdif]"
    r"|\b[a-z][a-z0-9+.-]*://\S*"
    r"|\b(?:mailto|tel|https?|ftp):"
    r"|\d[:;]\d"
    r"|\|\w+:"
    r"|&#?\w+;"
    r"|[:;?!]=",
    re.S,
)


def _outside_code(text):
    """For each character of ``text``: False inside what NOT_PUNCTUATION names or any {…}
    (format fields, JSON samples), True elsewhere."""
    keep = [True] * len(text)
    for match in NOT_PUNCTUATION.finditer(text):
        keep[match.start() : match.end()] = [False] * (match.end() - match.start())
    depth = start = 0
    for index, char in enumerate(text):
        if char == "{":
            start = index if depth == 0 else start
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                keep[start : index + 1] = [False] * (index + 1 - start)
    return keep


def unspaced_marks(text):
    """Each ":" ";" "?" "!" of ``text`` without a no-break space before it, with its context.

    "?!" and "!?" need one space only, before the first mark.
    """
    keep = _outside_code(text)
    found = []
    for index, char in enumerate(text):
        if char not in FRENCH_SPACED or not keep[index]:
            continue
        before = text[index - 1] if index else ""
        if before == NBSP or (before and before in "?!" and char in "?!"):
            continue
        found.append(text[max(0, index - 20) : index + 10])
    return found


def test_the_punctuation_check_tells_french_from_code():
    assert unspaced_marks("Objet: Bonjour") == ["Objet: Bonjour"]
    assert unspaced_marks("Objet : Bonjour") == ["Objet : Bonjour"]  # a breakable space
    assert unspaced_marks("Objet\u202f: Bonjour") != []  # the file's one convention
    assert unspaced_marks("Vraiment?") and unspaced_marks("Stop!") and unspaced_marks("a; b")
    for french in ("Objet\u00a0: Bonjour", "Vraiment\u00a0?!", "a\u00a0; b", "Stop\u00a0!"):
        assert unspaced_marks(french) == [], french
    for code in (
        "Une adresse https://example.com/?a=1 ou mailto: ou tel:",
        "à 10:00, 16:9",
        '{{ contact.first_name|default:"ami" }} et |default:"…"',
        '{"match": "all", "conditions": [{"field": "points"}]}',
        "Déclencheur\u00a0: {scenario}, %(count)s, {% if a %}",
        "&amp; x != y",
    ):
        assert unspaced_marks(code) == [], code


def test_french_punctuation_has_a_no_break_space_before_it():
    """Every ":" ";" "?" "!" of a French message has a NO-BREAK SPACE (U+00A0) before it.

    One convention for the four marks: U+00A0 (not a breakable space, which lets the mark
    start a line, nor the narrow U+202F). Template syntax, placeholders, URLs, times, ratios
    and code samples are not punctuation and are left alone.
    """
    wrong = [
        (e["msgid"], found)
        for e in messages()
        for text in e["msgstr"].values()
        if (found := unspaced_marks(text))
    ]
    assert wrong == []


def test_mo_file_is_compiled_from_the_current_po():
    with MO_FILE.open("rb") as handle:
        catalog = dict(gettext.GNUTranslations(handle)._catalog)
    catalog.pop("", None)
    expected = {}
    for e in messages():
        key = e["msgid"] if e["msgctxt"] is None else f"{e['msgctxt']}\x04{e['msgid']}"
        if e["msgid_plural"]:
            for index, text in e["msgstr"].items():
                expected[(key, index)] = text
        else:
            expected[key] = e["msgstr"][0]
    missing = sorted(str(k) for k in expected.keys() - catalog.keys())
    stale = sorted(str(k) for k in catalog.keys() - expected.keys())
    assert missing == [], "django.mo lacks messages of django.po: run compilemessages"
    assert stale == [], "django.mo has messages django.po no longer has: run compilemessages"
    changed = sorted(str(k) for k in expected if catalog[k] != expected[k])
    assert changed == [], "django.mo is older than django.po: run compilemessages"


# -- strings in use ------------------------------------------------------------


def test_labels_and_plurals_in_french():
    with translation.override("fr"):
        assert str(Status.DRAFT.label) == "Brouillon"
        assert str(Status.ACTIVE.label) == "Actif"
        assert str(Status.LOCKED.label) == "Verrouillé"
        assert str(Status.STOPPED.label) == "Arrêté"
        assert str(Status.ARCHIVED.label) == "Archivé"
        assert str(Scenario.WELCOME.label) == "Bienvenue"
        assert str(Scenario.PROPERTY_UPDATE.label) == "Mise à jour du contact"
        assert translation.ngettext("%(n)d day later", "%(n)d days later", 1) % {"n": 1} == (
            "1 jour plus tard"
        )
        assert translation.ngettext("%(n)d day later", "%(n)d days later", 3) % {"n": 3} == (
            "3 jours plus tard"
        )
    with translation.override("en"):
        assert str(Status.ACTIVE.label) == "Active"


@pytest.mark.django_db
def test_workflow_descriptions_in_french():
    workflow = make_workflow(steps=2)
    first, second = workflow.steps.order_by("sort_order")
    with translation.override("fr"):
        assert first.describe_delay() == "immédiatement"
        assert second.describe_delay() == "3 jours plus tard"


@pytest.mark.django_db
def test_email_footer_of_a_french_workflow_is_in_french():
    template = EmailTemplate(
        name="Bienvenue", subject="Bonjour", from_email="news@example.com", body=[heading()]
    )
    url = "https://example.com/unsubscribe/abc/"
    with translation.override("en"):
        french = compile_template(template, "fr").render({}, url)
        english = compile_template(template, "en").render({}, url)
    assert f'href="{url}" style="color:#666666;">Se désabonner</a>' in french.html
    assert "Vous recevez cet email car vous êtes abonné à nos emails." in french.html
    assert "Unsubscribe" not in french.html
    assert "Se désabonner" in french.text
    assert ">Unsubscribe</a>" in english.html


@pytest.mark.django_db
def test_unsubscribe_page_in_the_contacts_language():
    contact = ContactFactory(language="fr")
    contact_list = ContactListFactory()
    response = Client().get(unsubscribe_path(contact.pk, contact_list.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in page
    assert "<title>Se désabonner</title>" in page
    assert "Se désabonner de cette liste" in page


@pytest.mark.django_db
def test_unsubscribe_page_follows_the_browser_when_the_contact_has_no_language():
    contact = ContactFactory(language="")
    response = Client().get(unsubscribe_path(contact.pk), HTTP_ACCEPT_LANGUAGE="fr")
    page = response.content.decode()
    assert "<title>Se désabonner</title>" in page
    english = Client().get(unsubscribe_path(contact.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert "<title>Unsubscribe</title>" in english.content.decode()


@pytest.fixture
def french_admin(db):
    user = get_user_model().objects.create_superuser(
        username="marie", email="marie@example.com", password="x"
    )
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "fr"
    profile.save()
    client = Client()
    client.force_login(user)
    return client


def _strings(value):
    """Every string inside a starter's fields (nested dicts and lists)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def test_french_starter_templates_have_a_no_break_space_before_punctuation():
    wrong = {}
    for starter in starters.STARTERS:
        content = starters.starter_content(starter.key, "fr")
        found = [m for text in _strings(content) for m in unspaced_marks(_visible_text(text))]
        if found:
            wrong[starter.key] = found
    assert wrong == {}
    welcome = starters.starter_content("welcome", "fr")
    assert welcome["subject"].endswith("\u00a0!")


def test_admin_in_french_for_a_french_speaking_editor(french_admin):
    workflow = make_workflow(status=Status.ACTIVE, title="Série de bienvenue")
    dashboard = french_admin.get(reverse("wagtailadmin_home")).content.decode()
    assert "Emails auto" in dashboard
    assert "Mail automation" not in dashboard

    listing = french_admin.get(reverse("mailflow_workflows:index")).content.decode()
    assert "Série de bienvenue" in listing
    assert "Actif" in listing

    inspect = french_admin.get(reverse("mailflow_workflows:inspect", args=[workflow.pk]))
    page = inspect.content.decode()
    assert inspect.status_code == 200
    assert "Ce workflow est actif" in page
    assert "Dupliquez-le pour apporter des modifications" in page

    scenarios = french_admin.get(reverse("mailflow_workflows:add")).content.decode()
    assert "Mise à jour du contact" in scenarios
    assert "Bienvenue" in scenarios


class _VisibleText(HTMLParser):
    """The text of a page an editor sees: its title (the browser tab's) and body, without
    scripts, styles, templates and what only screen readers get (Wagtail's breadcrumbs join a
    label and its sublabel with a bare ": " there). Hidden elements count: the breadcrumbs are
    hidden until expanded."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}  # fmt: skip
    UNSEEN = {"script", "style", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open = []
        self.hidden_from = None
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        self.open.append(tag)
        classes = (dict(attrs).get("class") or "").split()
        if self.hidden_from is None and (tag in self.UNSEEN or "w-sr-only" in classes):
            self.hidden_from = len(self.open)

    def handle_endtag(self, tag):
        if tag not in self.open:
            return
        while self.open.pop() != tag:
            pass
        if self.hidden_from is not None and len(self.open) < self.hidden_from:
            self.hidden_from = None

    def handle_data(self, data):
        if self.hidden_from is None:
            self.parts.append(data)


def _visible_text(html):
    """The text an editor reads, whitespace collapsed (no-break spaces kept as they are)."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return re.sub(r"[ \t\n\r\f\v]+", " ", " ".join(parser.parts))


#: English that must not be left on the screens an editor walks through, in French.
UNTRANSLATED = {
    "listing": ["Home", "Email workflows", "Title", "Scenario", "Status", "Updated"],
    "edit": ["Home", "Email workflows", "Trigger:", "Workflow details", "Sending period"]
    + ["English", "French"],
    "review": ["Email workflows", "Review and activate", "Trigger:", "Sending period"],
    "inspect": ["Language", "English", "French", "Activated", "When", "Details", "Trigger:"],
    "templates": ["Home", "Snippets", "Email templates", "Name", "Subject", "Updated", "Status"],
    "preview": ["Subject", "From", "Preheader"],
    "sent": ["Home", "Sent emails", "Status", "Scheduled"],
}


@pytest.fixture
def french_screens(french_admin):
    """The visible text of each screen of UNTRANSLATED, as a French-speaking editor sees it."""
    draft = make_workflow(title="Brouillon")
    active = make_workflow(status=Status.ACTIVE, title="Actif", language="fr")
    step = active.steps.first()
    DeliveryFactory(enrollment=EnrollmentFactory(workflow=active), step=step)
    template = step.template
    template.preheader = "Des nouvelles"
    template.save()
    pages = {
        "listing": reverse("mailflow_workflows:index"),
        "edit": reverse("mailflow_workflows:edit", args=[draft.pk]),
        "review": reverse("mailflow_workflows:review", args=[draft.pk]),
        "inspect": reverse("mailflow_workflows:inspect", args=[active.pk]),
        "templates": reverse("wagtailsnippets_wagtail_mailflow_emailtemplate:list"),
        "sent": reverse(delivery_viewset.get_url_name("index")),
    }
    texts = {}
    for name, url in pages.items():
        response = french_admin.get(url)
        assert response.status_code == 200, name
        texts[name] = _visible_text(response.content.decode())
    with translation.override("fr"):
        request = RequestFactory().get("/")
        context = template.get_preview_context(request, "html")
        texts["preview"] = _visible_text(
            render_to_string(template.get_preview_template(request, "html"), context)
        )
    return texts


def test_screens_an_editor_walks_have_no_english_left(french_screens):
    left = {}
    for name, text in french_screens.items():
        found = [
            w for w in UNTRANSLATED[name] if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)
        ]
        if found:
            left[name] = found
    assert left == {}
    for label in ("Objet", "De", "Pré-en-tête"):
        assert f" {label} " in french_screens["preview"], label
    assert "Accueil Modèles d'email" in french_screens["templates"]  # the breadcrumb
    # One name for the workflows, on the listing and in each workflow's breadcrumb.
    for name in ("listing", "edit", "review", "inspect"):
        assert "Workflows d'emails" in french_screens[name], name


def test_screens_in_french_have_a_no_break_space_before_colons(french_screens):
    """A label and its colon (the page title's "Modification\u00a0: …", "Statut\u00a0:",
    "Déclencheur\u00a0: …") come out with French typography's no-break space."""
    assert "Déclencheur\u00a0: Bienvenue" in french_screens["edit"]
    assert "Statut\u00a0: Actif" in french_screens["inspect"]
    assert "Modification\u00a0: Brouillon" in french_screens["edit"]
    unspaced = {
        name: found for name, text in french_screens.items() if (found := unspaced_marks(text))
    }
    assert unspaced == {}
