"""An admin page's header and browser title as "title: subtitle", the colon translated.

Wagtail joins the two with a bare ": " outside any translation, which French cannot get its
space before; the "label separator" message is the colon each language writes.
"""

from django.utils.translation import pgettext


class TranslatedTitleMixin:
    """For a view built on Wagtail's ``WagtailAdminTemplateMixin``."""

    def get_header_title(self):
        title = self.get_page_title()
        subtitle = self.get_page_subtitle()
        if subtitle:
            return f"{title}{pgettext('label separator', ':')} {subtitle}"
        return title
