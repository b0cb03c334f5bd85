"""Writing CSV that is safe to open in a spreadsheet: every CSV the product writes goes through here.

A spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some of them skip first) as a formula. A contact's name or an
address typed into a CSV file by anyone could then run in the editor's spreadsheet
("CSV injection"). :func:`neutralise` prefixes such a cell with an apostrophe, which
spreadsheets show as text and do not display.
"""

import csv

#: The characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` as a CSV cell a spreadsheet shows as text: formulas get a leading apostrophe.

    Numbers are written as they are (``-3`` is a number, not a formula).
    """
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`neutralise`."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([neutralise(cell) for cell in row])


def writer(file, **kwargs):
    """A CSV writer on ``file`` that neutralises formulas (see :func:`neutralise`)."""
    return SafeWriter(file, **kwargs)
