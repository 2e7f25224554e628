"""What the XML inside .xlsx and .docx files can hold.

XML 1.0 refuses most C0 controls, lone surrogates and U+FFFE/U+FFFF; one stray in an
item's title would make a spreadsheet or lxml refuse the whole document, so such
characters are dropped rather than let fail a report.
"""

from __future__ import annotations

import re
from typing import Final

_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)
