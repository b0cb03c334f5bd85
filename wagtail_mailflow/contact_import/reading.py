"""Reading a CSV file: streamed decoding, the delimiter, the header and the rows."""

import codecs
import csv

from django.utils.translation import gettext as _

from ..models import ContactImport

#: Bytes of the file read at a time, and decoded text given to csv.Sniffer.
READ_SIZE = 64 * 1024
SNIFF_SIZE = 32 * 1024
DELIMITERS = ",;\t"
ENCODING_NAMES = {"utf-8": "UTF-8", "latin-1": "Latin-1"}


class ImportFileError(Exception):
    """The file cannot be read as CSV in the chosen encoding (a fatal error, with a message)."""


def decoded_lines(binary, encoding):
    """The lines of a binary file, decoded, each with its line ending (for csv.reader).

    Reads READ_SIZE bytes at a time. Bytes that are not valid in ``encoding``
    raise ImportFileError naming the line and the byte offset. A UTF-8 byte
    order mark is dropped.
    """
    codec = "utf-8-sig" if encoding == ContactImport.Encoding.UTF8 else encoding
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset = 0
    line = 1
    pending = ""
    while True:
        chunk = binary.read(READ_SIZE)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # The decoder keeps at most a few bytes of an incomplete character from the
            # previous read; exc.start counts from those, close enough for a human.
            bad = max(exc.start - len(exc.object) + len(chunk), 0)
            raise ImportFileError(
                _(
                    "The file is not valid %(encoding)s: line %(line)s has an invalid byte "
                    "(0x%(byte)s at byte %(offset)s of the file). Save it as UTF-8, or choose "
                    "the Latin-1 encoding if that is what it uses."
                )
                % {
                    "encoding": ENCODING_NAMES.get(encoding, encoding),
                    "line": line + chunk[:bad].count(b"\n"),
                    "byte": exc.object[exc.start : exc.start + 1].hex(),
                    "offset": offset + bad,
                }
            ) from None
        offset += len(chunk)
        line += chunk.count(b"\n")
        if text:
            parts = (pending + text).split("\n")
            pending = parts.pop()
            for part in parts:
                yield part + "\n"
        if not chunk:
            break
    if pending:
        yield pending


def sniff_delimiter(lines):
    """The delimiter (, ; or tab) of a CSV file, from its first lines."""
    sample = "".join(lines)
    if not sample.strip():
        raise ImportFileError(_("The file is empty."))
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One column, or too few rows to be sure: count in the header line.
        header = sample.splitlines()[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _csv_reader(lines, delimiter):
    return csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)


def read_rows(binary, encoding, delimiter):
    """(row number, cells) for every row after the header; the header is row 1."""
    reader = _csv_reader(decoded_lines(binary, encoding), delimiter)
    try:
        next(reader, None)
        yield from enumerate(reader, start=2)
    except csv.Error as exc:
        raise ImportFileError(
            _("The file is not valid CSV near line %(line)s: %(error)s")
            % {"line": reader.line_num, "error": exc}
        ) from None


def inspect_file(binary, encoding):
    """Check a whole file and describe it: ``(delimiter, headers, data row count)``.

    Streams the file once; raises ImportFileError with a message for the user.
    """
    lines = decoded_lines(binary, encoding)
    head = []
    size = 0
    for line in lines:
        head.append(line)
        size += len(line)
        if size >= SNIFF_SIZE:
            break
    delimiter = sniff_delimiter(head)
    reader = _csv_reader(_chain(head, lines), delimiter)
    try:
        headers = next(reader, None)
        count = sum(1 for cells in reader if any(cell.strip() for cell in cells))
    except csv.Error as exc:
        raise ImportFileError(
            _("The file is not valid CSV near line %(line)s: %(error)s")
            % {"line": reader.line_num, "error": exc}
        ) from None
    headers = [(h or "").strip() for h in headers or []]
    if not any(headers):
        raise ImportFileError(_("The first line must name the columns, e.g. “email”."))
    headers = [h or _("Column %(number)s") % {"number": i} for i, h in enumerate(headers, 1)]
    return delimiter, headers, count


def _chain(first, rest):
    yield from first
    yield from rest
