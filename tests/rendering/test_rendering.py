"""Rendering: blocks -> MJML -> HTML, personalisation, text part, validation, the compile cache."""

import datetime
import re

import pytest
from django.test import override_settings
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from tests.factories import ContactFactory, ContactPropertyFactory, EmailTemplateFactory, heading
from wagtail_mailflow import rendering
from wagtail_mailflow.models import EmailTemplate
from wagtail_mailflow.rendering import (
    TemplateSyntaxError,
    compile_revision,
    compile_template,
    contact_values,
    template_problems,
    validate_template,
)
from wagtail_mailflow.rendering import mjml as mjml_module
from wagtail_mailflow.rendering.mjml import MJMLError, check_raw_mjml, readable_mjml_error
from wagtail_mailflow.rendering.personalise import parse
from wagtail_mailflow.rendering.text import html_to_text

pytestmark = pytest.mark.django_db

UNSUBSCRIBE = "https://example.com/unsubscribe/abc/"


@pytest.fixture(autouse=True)
def _empty_cache():
    rendering.clear_cache()
    yield
    rendering.clear_cache()


def make(body=None, **kwargs):
    values = {
        "name": "Test",
        "subject": "Hello",
        "from_email": "news@example.com",
        "body": body if body is not None else [heading("Welcome")],
    }
    values.update(kwargs)
    return EmailTemplate(**values)


def text_block(html):
    return {"type": "text", "value": html}


def raw(source):
    return {"type": "mjml", "value": source}


def body_text(rendered_html):
    """The visible text of rendered HTML (for assertions that ignore markup)."""
    return html_to_text(rendered_html)


# -- personalisation -----------------------------------------------------------


def test_contact_fields_and_defaults_are_substituted_everywhere():
    template = make(
        subject='Hi {{ contact.first_name|default:"friend" }}',
        preheader="For {{ contact.email }}",
        body=[
            heading('Dear {{ contact.first_name|default:"friend" }} {{ contact.last_name }}'),
            text_block('<p>Bye <a href="{{ unsubscribe_url }}">here</a></p>'),
        ],
    )
    compiled = compile_template(template, "en")

    ada = compiled.render(
        {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}, UNSUBSCRIBE
    )
    assert ada.subject == "Hi Ada"
    assert ada.preheader == "For ada@example.com"
    assert "Dear Ada Lovelace" in ada.html
    assert "Dear Ada Lovelace" in ada.text
    assert f'href="{UNSUBSCRIBE}"' in ada.html
    assert f"here ({UNSUBSCRIBE})" in ada.text

    anonymous = compiled.render({"email": "x@example.com"}, UNSUBSCRIBE)
    assert anonymous.subject == "Hi friend"
    assert "Dear friend </h1>" in anonymous.html  # missing last name, no default: empty
    assert "{{" not in anonymous.html and "{{" not in anonymous.text


def test_default_with_escaped_quotes_from_rich_text_works():
    template = make(body=[text_block("<p>Hi {{ contact.first_name|default:&quot;you&quot; }}</p>")])
    rendered = compile_template(template).render({}, UNSUBSCRIBE)
    assert "Hi you" in rendered.html
    assert "Hi you" in rendered.text


def test_properties_of_each_type_are_formatted_in_the_workflow_language():
    ContactPropertyFactory(name="city", type="text")
    ContactPropertyFactory(name="points", type="number")
    ContactPropertyFactory(name="vip", type="boolean")
    ContactPropertyFactory(name="birthday", type="date")
    template = make(
        subject="{{ contact.city }} / {{ contact.points }} / {{ contact.vip }} / {{ contact.birthday }}"
    )
    values = {"city": "Lyon", "points": 1234.5, "vip": True, "birthday": "1990-03-05"}

    english = compile_template(template, "en").render(values, UNSUBSCRIBE)
    french = compile_template(template, "fr").render(values, UNSUBSCRIBE)

    assert english.subject == "Lyon / 1234.5 / yes / March 5, 1990"
    assert french.subject == "Lyon / 1234,5 / oui / 5 mars 1990"
    no = compile_template(template, "fr").render({**values, "vip": False}, UNSUBSCRIBE)
    assert "/ non /" in no.subject


def test_unset_property_uses_its_default():
    ContactPropertyFactory(name="city", type="text")
    template = make(subject='From {{ contact.city|default:"nowhere" }}')
    compiled = compile_template(template)
    assert compiled.render({}, UNSUBSCRIBE).subject == "From nowhere"
    assert compiled.render({"city": ""}, UNSUBSCRIBE).subject == "From nowhere"
    assert compiled.render({"city": "Nice"}, UNSUBSCRIBE).subject == "From Nice"


def test_contact_values_reads_fields_and_properties():
    ContactPropertyFactory(name="city", type="text")
    contact = ContactFactory(first_name="Ada", last_name="", properties={"city": "Lyon"})
    assert contact_values(contact) == {
        "email": contact.email,
        "first_name": "Ada",
        "last_name": "",
        "city": "Lyon",
    }


def test_contact_data_is_escaped_in_html_only():
    template = make(
        subject="Hi {{ contact.first_name }}",
        body=[
            heading("Hi {{ contact.first_name }}"),
            {
                "type": "button",
                "value": {
                    "text": "Go",
                    "url": "{{ unsubscribe_url }}",
                    "background_color": "#000000",
                    "text_color": "#ffffff",
                    "align": "center",
                },
            },
        ],
    )
    evil = '<script>alert("x")</script>'
    rendered = compile_template(template).render(
        {"first_name": evil}, 'https://example.com/u/?a=1&b="2"'
    )

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in rendered.html
    assert 'href="https://example.com/u/?a=1&amp;b=&quot;2&quot;"' in rendered.html
    assert rendered.subject == f"Hi {evil}"
    assert f"Hi {evil}" in rendered.text


def test_editor_text_is_escaped_in_mjml():
    template = make(body=[heading("Fish & <chips>")])
    rendered = compile_template(template).render({}, UNSUBSCRIBE)
    assert "Fish &amp; &lt;chips&gt;" in rendered.html


# -- the text part -------------------------------------------------------------


def test_text_part_keeps_links_and_drops_markup():
    template = make(
        preheader="Hidden preheader",
        body=[
            heading("Our news"),
            text_block(
                '<p>Read <a href="https://example.com/blog">the blog</a> today.</p>'
                "<ul><li>One</li><li>Two</li></ul>"
            ),
        ],
    )
    text = compile_template(template).render({}, UNSUBSCRIBE).text

    assert "Our news" in text
    assert "Read the blog (https://example.com/blog) today." in text
    assert "- One\n- Two" in text
    assert f"Unsubscribe ({UNSUBSCRIBE})" in text
    assert "<" not in text and "{" not in text
    assert "Hidden preheader" not in text  # the hidden preview div is not body text
    assert "\n\n\n" not in text


def test_html_to_text_skips_head_style_and_hidden_content():
    html = (
        "<html><head><title>T</title><style>p { color: red; }</style></head><body>"
        '<div style="display: none">hidden</div><p>A&amp;B <b>bold</b></p>'
        '<p><a href="https://x.org">https://x.org</a></p></body></html>'
    )
    assert html_to_text(html) == "A&B bold\n\nhttps://x.org\n"


def test_html_lines_stay_under_the_smtp_limit():
    long_paragraph = " ".join(["word"] * 2000) + " {{ contact.first_name }}"
    template = make(body=[text_block(f"<p>{long_paragraph}</p>")])
    compiled = compile_template(template)
    rendered = compiled.render({"first_name": "x" * 100}, UNSUBSCRIBE)

    assert max(len(line) for line in rendered.html.splitlines()) <= 998
    assert max(len(line) for line in rendered.text.splitlines()) <= 998
    # Wrapping only replaced spaces by newlines: the words are all still there.
    assert body_text(rendered.html).count("word") == 2000


# -- the footer ------------------------------------------------------------------


@override_settings(WAGTAIL_MAILFLOW_POSTAL_ADDRESS="Example Ltd\n1 Main Street")
def test_footer_has_unsubscribe_link_address_and_language():
    rendered = compile_template(make(), "fr").render({}, UNSUBSCRIBE)
    assert f'href="{UNSUBSCRIBE}"' in rendered.html
    assert "Example Ltd<br />1 Main Street" in rendered.html
    assert 'lang="fr"' in rendered.html
    assert "Example Ltd\n1 Main Street" in rendered.text


# -- every block ---------------------------------------------------------------


@override_settings(WAGTAIL_MAILFLOW_BASE_URL="https://news.example.org")
def test_every_block_type_renders():
    image = Image.objects.create(title="Logo", file=get_test_image_file())
    button = {
        "text": "Shop now",
        "url": "https://example.com/shop",
        "background_color": "#123456",
        "text_color": "#ffffff",
        "align": "center",
    }
    column = [
        ("heading", {"text": "Col heading", "level": "h3", "align": "left"}),
        ("text", "<p>Col text</p>"),
    ]
    template = make(
        body=[
            heading("Big title", level="h2", align="center"),
            text_block('<p>Some <b>rich</b> text, <a href="/about/">about</a></p>'),
            {
                "type": "image",
                "value": {
                    "image": image.pk,
                    "alt": 'A "logo"',
                    "link": "https://example.com/",
                    "width": 300,
                },
            },
            {"type": "button", "value": button},
            {"type": "divider", "value": {"color": "#cccccc"}},
            {"type": "spacer", "value": {"height": 30}},
            {
                "type": "two_columns",
                "value": {
                    "left": [{"type": t, "value": v} for t, v in column],
                    "right": [{"type": "text", "value": "<p>Right text</p>"}],
                },
            },
            {
                "type": "three_columns",
                "value": {
                    "left": [{"type": "text", "value": "<p>One</p>"}],
                    "middle": [{"type": "text", "value": "<p>Two</p>"}],
                    "right": [{"type": "spacer", "value": {"height": 10}}],
                },
            },
            raw(
                "<mj-section><mj-column><mj-text>Raw <em>section</em></mj-text></mj-column></mj-section>"
            ),
            raw("<mj-text>Raw content</mj-text>"),
        ]
    )
    assert validate_template(template) == {}
    compiled = compile_template(template)
    html = compiled.render({}, UNSUBSCRIBE).html
    html = re.sub(r"\s+", " ", html)  # lines were wrapped at spaces

    assert "Big title</h2>" in html
    assert "Some <b>rich</b> text" in html
    assert 'href="https://news.example.org/about/"' in html  # site-relative links made absolute
    assert re.search(r'<img alt="A &quot;logo&quot;"[^>]*src="https://news\.example\.org/', html)
    assert 'width="300"' in html
    assert "Shop now</a>" in html and "background:#123456" in html
    assert "border-top:solid 1px #cccccc" in html
    assert "height:30px" in html
    assert "Col heading</h3>" in html and "Right text" in html
    assert "mj-column-per-50" in html and "mj-column-per-33" in html
    assert "Raw <em>section</em>" in html and "Raw content" in html


def test_empty_body_still_renders_the_footer():
    rendered = compile_template(make(body=[])).render({}, UNSUBSCRIBE)
    assert "Unsubscribe" in rendered.html


# -- placeholder syntax ---------------------------------------------------------


@pytest.mark.parametrize(
    "source, message, line, column",
    [
        ("Hi {% if x %}", "Template tags are not allowed", 1, 4),
        ("Hi\n  {{ contact.first_name", "never closed", 2, 3),
        ("{{ user.password }}", "Unknown variable 'user.password'", 1, 1),
        ("ok {{ settings.SECRET_KEY }}", "Unknown variable", 1, 4),
        ("{{ contact.first_name|upper }}", "Unknown filter 'upper'", 1, 1),
        ("{{ contact.first_name|default }}", "needs a quoted text", 1, 1),
        ("{{ contact.first_name|default:friend }}", "is not a placeholder", 1, 1),
        ("a\nb\n  {{ contact.city }}", "Unknown contact property 'city'", 3, 3),
        ("{{ contact.first_name.__class__ }}", "Unknown contact property", 1, 1),
    ],
)
def test_placeholder_syntax_errors_give_line_and_column(source, message, line, column):
    with pytest.raises(TemplateSyntaxError) as excinfo:
        parse(source, properties=set())
    assert message in excinfo.value.message
    assert (excinfo.value.line, excinfo.value.column) == (line, column)
    assert str(excinfo.value).startswith(f"Line {line}, column {column}: ")


def test_valid_placeholders_parse_with_spaces_and_single_quotes():
    program = parse(
        "{{contact.email}} {{ contact.first_name | default: 'x' }} {{ unsubscribe_url }}"
    )
    assert program.render({"email": "a@b.c", "unsubscribe_url": "U"}) == "a@b.c x U"


def test_lone_braces_are_literal():
    assert parse("a { b } }} c").render({}) == "a { b } }} c"


def test_validate_template_reports_placeholder_errors_per_field():
    template = make(
        subject="Hi {% now %}",
        preheader="{{ contact.unknown }}",
        body=[heading("Fine"), text_block("<p>one</p>\n<p>{{ nope }}</p>")],
    )
    errors = validate_template(template)
    assert "Template tags are not allowed" in errors["subject"][0]
    assert "Unknown contact property 'unknown'" in errors["preheader"][0]
    assert errors["body"] == [
        "Block 2 (Text): Line 2, column 4: Unknown variable 'nope'; use contact.email, "
        "contact.first_name, contact.last_name, contact.<property> or unsubscribe_url."
    ]


def test_unknown_property_is_refused_and_a_defined_one_accepted():
    template = make(subject="{{ contact.city }}")
    assert "Unknown contact property 'city'" in validate_template(template)["subject"][0]
    ContactPropertyFactory(name="city")
    assert validate_template(template) == {}


def test_errors_inside_columns_name_the_column():
    template = make(
        body=[
            {
                "type": "two_columns",
                "value": {"left": [], "right": [{"type": "text", "value": "<p>{% x %}</p>"}]},
            }
        ]
    )
    (message,) = validate_template(template)["body"]
    assert message.startswith(
        "Block 1 (Two columns), Right column, block 1 (Text): Line 1, column 4"
    )


# -- raw MJML --------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, message",
    [
        (
            '<mj-section>\n  <mj-include path="/etc/passwd" />\n</mj-section>',
            "Line 2, column 3: <mj-include> is not allowed",
        ),
        (
            "<mj-section><mj-column>\n<mj-foo>x</mj-foo>",
            "Line 2, column 1: <mj-foo> is not allowed",
        ),
        (
            "<mj-attributes><mj-all padding='0' /></mj-attributes>",
            "Line 1, column 1: <mj-attributes> is not allowed",
        ),
        (
            "<mj-section><mj-column><mj-text>x</mj-column></mj-section>",
            "<mj-text> opened at line 1, column 24 is not closed",
        ),
        (
            "<mj-section>\n<mj-column>\n<mj-text>x</mj-text>\n</mj-column>",
            "Line 1, column 1: <mj-section> is never closed",
        ),
        ("<mj-section><p>hi</p></mj-section>", "HTML <p> must be inside <mj-text>"),
        (
            "<mj-section><mj-column>loose text</mj-column></mj-section>",
            "Text must be inside <mj-text>",
        ),
        ("<mj-text><mj-image src='x' /></mj-text>", "<mj-image> cannot be inside <mj-text>"),
        ("<mj-section></mj-section><mj-text>x</mj-text>", "Put column content (<mj-text>)"),
        ("<mj-text><img src=x></mj-text>", "Invalid MJML"),
    ],
)
def test_raw_mjml_problems_are_refused_with_position(source, message):
    with pytest.raises(MJMLError) as excinfo:
        check_raw_mjml(source)
    assert message in str(excinfo.value)


def test_raw_mjml_errors_reach_validate_template():
    template = make(body=[heading("ok"), raw("<mj-section>\n<mj-include path='x.mjml' />")])
    (message,) = validate_template(template)["body"]
    assert message.startswith("Block 2 (Raw MJML): Line 2, column 1: <mj-include> is not allowed")


def test_good_raw_mjml_is_classified():
    assert (
        check_raw_mjml("<mj-section><mj-column><mj-text>a<br>b</mj-text></mj-column></mj-section>")
        == "sections"
    )
    assert check_raw_mjml("<mj-text>a</mj-text><mj-spacer />") == "content"


def test_mjml_positions_become_line_and_column():
    source = "<mjml><mj-body>\n<mj-include path='x' /></mj-body></mjml>"
    message = readable_mjml_error(
        "unable to load included template in root template at position 17:27", source, 15
    )
    assert message == (
        "Invalid MJML at line 2, column 2: unable to load included template in root template."
    )


def test_mj_include_is_refused_by_the_compiler_too():
    with pytest.raises(MJMLError, match="Invalid MJML"):
        mjml_module.compile_mjml(
            "<mjml><mj-body><mj-include path='/etc/passwd' /></mj-body></mjml>"
        )


# -- sender ----------------------------------------------------------------------


def test_missing_sender_is_refused():
    errors = validate_template(make(from_email=""))
    assert errors["from_email"] == ["Set a From address (or WAGTAIL_MAILFLOW_FROM_EMAIL)."]


@override_settings(WAGTAIL_MAILFLOW_FROM_EMAIL="Example <hello@example.com>")
def test_default_sender_is_used_when_the_template_has_none():
    template = make(from_email="", reply_to="help@example.com")
    assert validate_template(template) == {}
    rendered = compile_template(template).render({}, UNSUBSCRIBE)
    assert rendered.from_email == "Example <hello@example.com>"
    assert rendered.reply_to == "help@example.com"


def test_from_name_is_quoted():
    template = make(from_name='Shop "Élise"', from_email="shop@example.com")
    assert compile_template(template).from_email == '"Shop \\"Élise\\"" <shop@example.com>'


# -- the compile cache -----------------------------------------------------------


@pytest.fixture
def mjml_calls(monkeypatch):
    calls = []
    original = mjml_module.mjml2html

    def counting(source):
        calls.append(source)
        return original(source)

    monkeypatch.setattr(mjml_module, "mjml2html", counting)
    return calls


def test_compile_revision_compiles_once_per_revision_and_language(mjml_calls):
    template = EmailTemplateFactory()
    revision = template.live_revision
    mjml_calls.clear()

    first = compile_revision(revision, "en")
    assert compile_revision(revision, "en") is first
    assert compile_revision(revision.pk, "en") is first
    assert len(mjml_calls) == 1

    french = compile_revision(revision, "fr")
    assert french is not first and french.language == "fr"
    assert len(mjml_calls) == 2


def test_compile_revision_uses_the_revision_content_not_the_current_one():
    template = EmailTemplateFactory(subject="First")
    revision = template.live_revision
    template.subject = "Second"
    template.save_revision().publish()
    assert compile_revision(revision, "en").render({}, UNSUBSCRIBE).subject == "First"


@override_settings(WAGTAIL_MAILFLOW_RENDER_CACHE_SIZE=1)
def test_the_cache_is_bounded(mjml_calls):
    template = EmailTemplateFactory()
    mjml_calls.clear()
    compile_revision(template.live_revision, "en")
    compile_revision(template.live_revision, "fr")  # evicts "en"
    compile_revision(template.live_revision, "en")
    assert len(mjml_calls) == 3


def test_a_revision_that_cannot_compile_fails_fast_from_the_cache(django_assert_num_queries):
    template = EmailTemplateFactory()
    broken = template.save_revision(clean=False)
    broken.content["body"] = [raw("<mj-section><mj-text>")]
    broken.save(update_fields=["content"])
    with pytest.raises(rendering.TemplateError, match="never closed"):
        compile_revision(broken.pk, "en")
    with django_assert_num_queries(0), pytest.raises(rendering.TemplateError, match="never closed"):
        compile_revision(broken.pk, "en")


def test_render_does_no_database_queries(django_assert_num_queries):
    ContactPropertyFactory(name="birthday", type="date")
    template = EmailTemplateFactory(subject="{{ contact.birthday }}")
    compiled = compile_revision(template.live_revision, "fr")
    with django_assert_num_queries(0):
        rendered = compiled.render({"birthday": datetime.date(2000, 1, 2)}, UNSUBSCRIBE)
    assert rendered.subject == "2 janvier 2000"


# -- activation checks -----------------------------------------------------------


def test_template_problems():
    assert template_problems(EmailTemplateFactory()) == []
    draft = EmailTemplateFactory(live=False, publish=False)
    assert template_problems(draft) == ["Publish the template first."]
    no_sender = EmailTemplateFactory(from_email="", publish=False)
    assert template_problems(no_sender) == ["Set a From address (or WAGTAIL_MAILFLOW_FROM_EMAIL)."]


def test_template_problems_compiles_the_template_once(mjml_calls):
    template = EmailTemplateFactory()
    mjml_calls.clear()
    assert template_problems(template) == []
    assert len(mjml_calls) == 1


def test_template_problems_of_a_revision_checks_that_revision():
    template = EmailTemplateFactory()
    assert template_problems(template.live_revision) == []
    broken = template.save_revision(clean=False)
    broken.content["body"] = [raw("<mj-section><mj-text>")]
    broken.save(update_fields=["content"])
    [problem] = template_problems(broken)
    assert "never closed" in problem
    # The template's live content is unchanged, so the template itself can still be sent.
    assert template_problems(template) == []


# -- property definitions passed in -----------------------------------------------


def test_validation_uses_the_property_definitions_it_is_given(django_assert_num_queries):
    template = make(subject="Hi {{ contact.plan }}")
    with django_assert_num_queries(0):
        assert validate_template(template, properties={"plan": "text"}) == {}
        errors = validate_template(template, properties={})
    assert "Unknown contact property 'plan'" in errors["subject"][0]


def test_compiling_formats_with_the_property_types_it_is_given(django_assert_num_queries):
    template = make(subject="{{ contact.birthday }}")
    with django_assert_num_queries(0):
        compiled = compile_template(template, "fr", properties={"birthday": "date"})
    assert compiled.render({"birthday": "2000-01-02"}, UNSUBSCRIBE).subject == "2 janvier 2000"


def test_without_definitions_rendering_reads_the_sites_properties():
    ContactPropertyFactory(name="birthday", type="date")
    assert validate_template(make(subject="{{ contact.birthday }}")) == {}
    compiled = compile_template(make(subject="{{ contact.birthday }}"), "fr")
    assert compiled.types == {"birthday": "date"}
