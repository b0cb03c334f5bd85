"""Starter templates: complete, responsive emails made of the product's own blocks, with
placeholders, that an editor starts a new template from (in English or French).

Each starter is a function of the language returning the template's fields and its body as
StreamField data; the text stays the editor's to change once the template is created.
"""

import dataclasses
from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

BRAND = "#2e6d8e"
FIRST_NAME = {
    "en": '{{ contact.first_name|default:"there" }}',
    "fr": '{{ contact.first_name|default:"à vous" }}',
}


def heading(text, level="h1", align="left"):
    return {"type": "heading", "value": {"text": text, "level": level, "align": align}}


def text(html):
    return {"type": "text", "value": html}


def button(label, url="https://example.com", align="center"):
    return {
        "type": "button",
        "value": {
            "text": label,
            "url": url,
            "background_color": BRAND,
            "text_color": "#ffffff",
            "align": align,
        },
    }


def divider():
    return {"type": "divider", "value": {"color": "#dddddd"}}


def spacer(height=20):
    return {"type": "spacer", "value": {"height": height}}


def columns(left, right):
    return {"type": "two_columns", "value": {"left": left, "right": right}}


def _lang(language):
    """The starters are written in French and English (the default)."""
    return "fr" if (language or "").startswith("fr") else "en"


def _pick(language, en, fr):
    return fr if _lang(language) == "fr" else en


def welcome(language):
    t = lambda en, fr: _pick(language, en, fr)  # noqa: E731
    name = FIRST_NAME[_lang(language)]
    return {
        "subject": t(f"Welcome, {name}!", f"Bienvenue, {name}\u00a0!"),
        "preheader": t("Here is what to expect from us.", "Voici ce qui vous attend."),
        "body": [
            heading(t(f"Welcome, {name}!", f"Bienvenue, {name}\u00a0!"), align="center"),
            text(
                t(
                    "<p>Thank you for joining us. Here is what you will receive: news, tips "
                    "and offers, a few times a month at most.</p>",
                    "<p>Merci de nous avoir rejoints. Vous recevrez nos nouvelles, nos "
                    "conseils et nos offres, quelques fois par mois au plus.</p>",
                )
            ),
            columns(
                [
                    heading(t("What's new", "Les nouveautés"), "h3"),
                    text(t("<p>Our latest news, first.</p>", "<p>Nos actualités, en premier.</p>")),
                ],
                [
                    heading(t("Good advice", "Bons conseils"), "h3"),
                    text(
                        t(
                            "<p>Tips to get the most out of it.</p>",
                            "<p>Des astuces pour en profiter.</p>",
                        )
                    ),
                ],
            ),
            spacer(),
            button(t("Discover", "Découvrir")),
            divider(),
            text(t("<p>See you soon,</p><p>The team</p>", "<p>À bientôt,</p><p>L'équipe</p>")),
        ],
    }


def thank_you(language):
    t = lambda en, fr: _pick(language, en, fr)  # noqa: E731
    name = FIRST_NAME[_lang(language)]
    return {
        "subject": t(f"Thank you, {name}", f"Merci, {name}"),
        "preheader": t("Your request is confirmed.", "Votre demande est confirmée."),
        "body": [
            heading(t("Thank you!", "Merci\u00a0!"), align="center"),
            text(
                t(
                    f"<p>Hello {name},</p><p>We have received your request and it is "
                    "confirmed. We will be in touch shortly.</p>",
                    f"<p>Bonjour {name},</p><p>Nous avons bien reçu votre demande, elle est "
                    "confirmée. Nous revenons vers vous très vite.</p>",
                )
            ),
            button(t("See the details", "Voir le détail")),
            divider(),
            text(t("<p>The team</p>", "<p>L'équipe</p>")),
        ],
    }


def birthday(language):
    t = lambda en, fr: _pick(language, en, fr)  # noqa: E731
    name = FIRST_NAME[_lang(language)]
    return {
        "subject": t(f"Happy birthday, {name}!", f"Joyeux anniversaire, {name}\u00a0!"),
        "preheader": t(
            "A little gift for your birthday.", "Un petit cadeau pour votre anniversaire."
        ),
        "body": [
            heading(
                t(f"Happy birthday, {name}!", f"Joyeux anniversaire, {name}\u00a0!"), align="center"
            ),
            text(
                t(
                    "<p>The whole team wishes you a wonderful day. To celebrate, here is "
                    "a gift just for you, valid all month.</p>",
                    "<p>Toute l'équipe vous souhaite une excellente journée. Pour fêter ça, "
                    "voici un cadeau rien que pour vous, valable tout le mois.</p>",
                )
            ),
            heading(t("-15% with BIRTHDAY", "-15 % avec ANNIVERSAIRE"), "h2", "center"),
            button(t("Enjoy my gift", "Profiter de mon cadeau")),
            divider(),
            text(
                t(
                    "<p>With our best wishes,</p><p>The team</p>",
                    "<p>Avec nos meilleurs vœux,</p><p>L'équipe</p>",
                )
            ),
        ],
    }


def win_back(language):
    t = lambda en, fr: _pick(language, en, fr)  # noqa: E731
    name = FIRST_NAME[_lang(language)]
    return {
        "subject": t(f"We miss you, {name}", f"Vous nous manquez, {name}"),
        "preheader": t("Here is what you have missed.", "Voici ce que vous avez manqué."),
        "body": [
            heading(t(f"We miss you, {name}", f"Vous nous manquez, {name}"), align="center"),
            text(
                t(
                    "<p>It has been a while. Here is what is new since your last visit, and "
                    "a little something to welcome you back.</p>",
                    "<p>Cela fait un moment. Voici les nouveautés depuis votre dernière "
                    "visite, et une petite attention pour votre retour.</p>",
                )
            ),
            columns(
                [
                    heading(t("New", "Nouveau"), "h3"),
                    text(t("<p>What we added.</p>", "<p>Ce que nous avons ajouté.</p>")),
                ],
                [
                    heading(t("Popular", "Populaire"), "h3"),
                    text(t("<p>What others liked.</p>", "<p>Ce que les autres ont aimé.</p>")),
                ],
            ),
            button(t("Come back", "Revenir")),
            divider(),
            text(
                t(
                    "<p>No longer interested? You can unsubscribe with the link below.</p>",
                    "<p>Plus intéressé\u00a0? Vous pouvez vous désinscrire avec le lien ci-dessous.</p>",
                )
            ),
        ],
    }


def date_reminder(language):
    t = lambda en, fr: _pick(language, en, fr)  # noqa: E731
    name = FIRST_NAME[_lang(language)]
    return {
        "subject": t(f"A reminder for you, {name}", f"Un rappel pour vous, {name}"),
        "preheader": t("The date is coming up.", "La date approche."),
        "body": [
            heading(t("The date is coming up", "La date approche"), align="center"),
            text(
                t(
                    f"<p>Hello {name},</p><p>This is a friendly reminder: your date is "
                    "coming up soon. Everything you need is one click away.</p>",
                    f"<p>Bonjour {name},</p><p>Petit rappel\u00a0: votre date approche. Tout ce "
                    "qu'il vous faut est à portée de clic.</p>",
                )
            ),
            button(t("See the details", "Voir le détail")),
            divider(),
            text(t("<p>The team</p>", "<p>L'équipe</p>")),
        ],
    }


def plain_letter(language):
    t = lambda en, fr: _pick(language, en, fr)  # noqa: E731
    name = FIRST_NAME[_lang(language)]
    return {
        "subject": t(f"A word for you, {name}", f"Un mot pour vous, {name}"),
        "preheader": "",
        "body": [
            text(
                t(
                    f"<p>Hello {name},</p><p>Write your message here, as a letter: a few "
                    "paragraphs, no images, like an email from a person.</p><p>Best "
                    "regards,</p><p>Your name</p>",
                    f"<p>Bonjour {name},</p><p>Écrivez votre message ici, comme une lettre\u00a0: "
                    "quelques paragraphes, sans images, comme un email écrit par une "
                    "personne.</p><p>Bien cordialement,</p><p>Votre nom</p>",
                )
            ),
        ],
    }


@dataclasses.dataclass(frozen=True)
class Starter:
    key: str
    label: str
    description: str
    build: Callable[[str], dict]


#: The starters offered when an editor creates a template, in the order shown.
STARTERS = [
    Starter(
        "welcome",
        _("Welcome"),
        _("Greets a new subscriber, with two columns and a button."),
        welcome,
    ),
    Starter(
        "thank_you", _("Thank you / confirmation"), _("Confirms a request or an order."), thank_you
    ),
    Starter("birthday", _("Birthday"), _("Wishes a happy birthday with a gift code."), birthday),
    Starter(
        "win_back",
        _("Win-back"),
        _("Brings back contacts who stopped opening your emails."),
        win_back,
    ),
    Starter(
        "date_reminder",
        _("Date reminder"),
        _("Reminds a contact of a date: an event, a renewal."),
        date_reminder,
    ),
    Starter(
        "plain_letter",
        _("Plain letter"),
        _("A personal letter: text only, no images."),
        plain_letter,
    ),
]
BY_KEY = {starter.key: starter for starter in STARTERS}


def starter_content(key: str, language: str) -> dict | None:
    """The fields of the starter ``key`` in ``language`` (French or English), or None."""
    starter = BY_KEY.get(key)
    return starter.build(language) if starter else None
