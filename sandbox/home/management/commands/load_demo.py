"""Create the sandbox's demo data: an admin user, the pages, a list, templates and a workflow.

Idempotent: every object is looked up by its name first, so running the
command again changes nothing.
"""

from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.models import Page, Site

from home.models import HomePage, SignupPage
from wagtail_mailflow.models import ContactList, EmailTemplate, EmailWorkflow, WorkflowStep

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
FROM_NAME = "Mailflow sandbox"
FROM_EMAIL = "hello@example.com"

WELCOME_BODY = [
    {
        "type": "heading",
        "value": {
            "text": 'Welcome, {{ contact.first_name|default:"friend" }}!',
            "level": "h1",
            "align": "left",
        },
    },
    {
        "type": "text",
        "value": "<p>Thank you for joining our newsletter. Every week we send one short "
        "email with what is new, and nothing else.</p>",
    },
    {
        "type": "button",
        "value": {
            "text": "Visit the site",
            "url": "https://wagtail.org/",
            "background_color": "#2e6d8e",
            "text_color": "#ffffff",
            "align": "center",
        },
    },
    {"type": "spacer", "value": {"height": 20}},
    {"type": "divider", "value": {"color": "#dddddd"}},
    {
        "type": "text",
        "value": "<p>You receive this email because you signed up with {{ contact.email }}.</p>",
    },
]

OFFER_BODY = [
    {
        "type": "heading",
        "value": {"text": "Save up to 15% this week", "level": "h1", "align": "center"},
    },
    {
        "type": "text",
        "value": '<p>Hello {{ contact.first_name|default:"there" }}, as a newsletter '
        "subscriber you save up to 15% on everything until Sunday.</p>",
    },
    {
        "type": "button",
        "value": {
            "text": "See the offers",
            "url": "https://wagtail.org/",
            "background_color": "#c0392b",
            "text_color": "#ffffff",
            "align": "center",
        },
    },
    {"type": "divider", "value": {"color": "#dddddd"}},
    {
        "type": "text",
        "value": "<p>Not interested any more? You can leave the list at any time.</p>",
    },
]

TEMPLATES = [
    ("Hello and welcome", "Hello and welcome", "Good to have you with us.", WELCOME_BODY),
    (
        "Save up to 15% this week",
        "Save up to 15% this week",
        "A thank-you for our newsletter subscribers.",
        OFFER_BODY,
    ),
]


class Command(BaseCommand):
    help = (
        "Create the sandbox demo data (admin user, pages, list, templates, workflow); idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--subscribe",
            metavar="EMAIL",
            help="Also subscribe this address to the Newsletter list, which enters it "
            "into the welcome series (the worker then writes the first email to the outbox).",
        )
        parser.add_argument("--first-name", default="", help="First name for --subscribe.")

    def handle(self, *args, **options):
        with transaction.atomic():
            self.admin_user()
            home = self.home_page()
            newsletter = self.contact_list()
            self.signup_page(home, newsletter)
            templates = [self.template(*spec) for spec in TEMPLATES]
            workflow = self.workflow(newsletter, templates)
        if workflow.status == EmailWorkflow.Status.DRAFT:
            workflow.activate()
            self.report("Activated", workflow)
        if "mailflow_schedule" in get_commands():
            call_command("mailflow_schedule", stdout=self.stdout)
        if options["subscribe"]:
            self.subscribe(options["subscribe"], options["first_name"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready. Wagtail admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD} "
                "(a local sandbox only)."
            )
        )

    def subscribe(self, email, first_name):
        from wagtail_mailflow.api import subscribe

        contact, _membership, joined = subscribe(
            email,
            ContactList.objects.get(name="Newsletter"),
            source="admin",
            source_detail="load_demo --subscribe",
            first_name=first_name or None,
        )
        if joined:
            self.stdout.write(f"Subscribed {contact.email} to 'Newsletter'.")
        else:
            self.stdout.write(f"{contact.email} was already subscribed to 'Newsletter'.")

    def report(self, verb, obj):
        self.stdout.write(f"{verb}: {obj._meta.verbose_name} '{obj}'")

    def admin_user(self):
        User = get_user_model()
        if User.objects.filter(username=ADMIN_USERNAME).exists():
            return
        User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
        self.stdout.write(f"Created: superuser '{ADMIN_USERNAME}'")

    def home_page(self):
        home = HomePage.objects.first()
        site = Site.objects.filter(is_default_site=True).first()
        if home is None:
            root = Page.get_first_root_node()
            # Wagtail's initial migration leaves a placeholder page with slug "home"
            # as the site root; replace it with the sandbox's own home page.
            placeholder = site.root_page.specific if site else None
            if placeholder is not None and type(placeholder) is Page:
                placeholder.slug = "placeholder-home"
                placeholder.save(update_fields=["slug"])
            home = root.add_child(
                instance=HomePage(
                    title="Mailflow sandbox",
                    slug="home",
                    intro="<p>A Wagtail site using wagtail-mailflow. Sign up to the "
                    "newsletter to enter the welcome series.</p>",
                )
            )
            home.save_revision().publish()
            self.report("Created", home)
            if site is None:
                site = Site.objects.create(
                    hostname="localhost", port=80, root_page=home, is_default_site=True
                )
            else:
                site.root_page = home
            site.site_name = "Mailflow sandbox"
            site.save()
            if placeholder is not None and type(placeholder) is Page:
                placeholder.delete()
        elif site is not None and site.root_page_id != home.pk:
            site.root_page = home
            site.save()
        return home

    def signup_page(self, home, newsletter):
        page = SignupPage.objects.first()
        if page is not None:
            if page.mailflow_list_id is None:  # a sandbox made before the page subscribed anyone
                self.connect_signup_page(page, newsletter)
            return page
        page = home.add_child(
            instance=SignupPage(
                title="Newsletter",
                slug="newsletter",
                intro="<p>One short email a week. Unsubscribe whenever you like.</p>",
                thank_you_text="<p>Thank you for signing up! Check your inbox.</p>",
                mailflow_list=newsletter,
                mailflow_email_field="email",
            )
        )
        page.form_fields.create(
            sort_order=0, label="Email", field_type="email", required=True, clean_name="email"
        )
        page.form_fields.create(
            sort_order=1,
            label="First name",
            field_type="singleline",
            required=False,
            clean_name="first_name",
        )
        page.mailflow_field_mappings.create(
            sort_order=0, form_field="first_name", contact_field="first_name"
        )
        page.save_revision().publish()
        self.report("Created", page)
        return page

    def connect_signup_page(self, page, newsletter):
        """Point an existing signup page at the Newsletter list, first name mapped."""
        page.mailflow_list = newsletter
        page.mailflow_email_field = "email"
        if not page.mailflow_field_mappings.exists():
            page.mailflow_field_mappings.create(
                sort_order=0, form_field="first_name", contact_field="first_name"
            )
        page.save_revision().publish()
        self.report("Connected to the Newsletter list", page)

    def contact_list(self):
        contact_list, created = ContactList.objects.get_or_create(
            name="Newsletter",
            defaults={"description": "Visitors who signed up on the Newsletter page."},
        )
        if created:
            self.report("Created", contact_list)
        return contact_list

    def template(self, name, subject, preheader, body):
        template = EmailTemplate.objects.filter(name=name).first()
        if template is not None:
            return template
        template = EmailTemplate(
            name=name,
            subject=subject,
            preheader=preheader,
            from_name=FROM_NAME,
            from_email=FROM_EMAIL,
            body=body,
        )
        template.full_clean()
        template.save()
        template.save_revision().publish()
        self.report("Created and published", template)
        return template

    def workflow(self, contact_list, templates):
        workflow = EmailWorkflow.objects.filter(title="Welcome series").first()
        if workflow is not None:
            return workflow
        workflow = EmailWorkflow.objects.create(
            title="Welcome series",
            scenario=EmailWorkflow.Scenario.WELCOME,
            contact_list=contact_list,
        )
        welcome, offer = templates
        WorkflowStep.objects.create(
            workflow=workflow, sort_order=0, delay_amount=0, template=welcome
        )
        WorkflowStep.objects.create(
            workflow=workflow,
            sort_order=1,
            delay_amount=3,
            delay_unit=WorkflowStep.DelayUnit.DAYS,
            template=offer,
        )
        self.report("Created", workflow)
        return workflow
