"""Subject areas of MAP credentials and courses, and the rule that flags implausible pairs.

MAP's articulation export contains rows whose credential and course have
nothing in common, such as "Water Treatment I" credited for a Cisco
networking certification. Such a row is flagged, not dropped, when both tests
below fail:

1. **Shared words.** No content word of the credential side shares its first
   five letters with, or is contained in, a content word of the course side.
   The credential side is the credential's name, the issuing and training
   agencies that MAP's credential classification names, and the subject of the
   credit recommendation ("3 hours in *Engine Repair*"). The course side is
   the unified course title, MAP's discipline, the official C-ID descriptor
   title and description, and the titles of the college courses that MAP's
   course crosswalk maps to the course. The crosswalk is only a hint, and it
   can only add words, so it can clear a row but never flag one.
2. **Shared TOP subcategory.** No subcategory of the California Community
   Colleges Taxonomy of Programs (the four-digit part of a TOP code such as
   ``0708`` Computer Infrastructure and Support) is reached from both sides. A
   text reaches a subcategory when one of its content words shares its first
   five letters with a word of a TOP code title in that subcategory.

Content words leave out stop words, level words ("introduction", "advanced",
"II") and words that name a kind of credential or organization ("exam",
"certification", "institute"), which would otherwise link unrelated subjects.
A row whose sides reach no TOP subcategory at all is not judged.

Measured on the 2,355 rows of the MAP export: 8 rows are flagged. One,
Water Treatment I for Cisco Networking Essentials, also lacks its C-ID number
and fails; the other 7 load with a warning. Some are plainly wrong (Group
Communication for AP Computer Science A). Others are weak links that a
reviewer may accept, such as kinesiology courses for Basic Military Training,
because TOP files kinesiology (``1270``) apart from physical education (``0835``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

PREFIX_LENGTH = 5
MIN_CONTAINED_LENGTH = 5

STOP_WORDS = frozenset(
    """
    a an and the of in for to on with by at from or as into its their this that
    i ii iii iv v vi 1 2 3 4 5 6 1a 1b 2a 2b
    introduction intro introductory basic basics beginning beginner advanced intermediate
    elementary fundamentals fundamental principles principle general applied level levels
    course courses lab laboratory certification certificate certified credential exam
    examination exams test credit credits generic program academy essentials essential
    part high school articulation experience skills skill theory practice practices
    ap ib hl sl clep dsst jst college training national american california
    international association institute council department board society organization
    local cbe technology technologies technician systems system elective
    includes including students student course topics study studies use using
    """.split()
)

# Words of TOP code titles that name no subject ("Other ...", "... Management").
GENERIC_TOP_PREFIXES = frozenset(
    "gener other studi scien techn manag admin relat servi progr speci occup suppo "
    "appli inter basic indus desig opera".split()
)


def content_words(text: str) -> set[str]:
    """Return the lower-case content words of ``text`` (see the module docstring)."""
    return {
        word
        for word in re.findall(r"[a-z0-9+#]+", text.lower())
        if word not in STOP_WORDS and len(word) >= 3
    }


def word_prefixes(text: str) -> set[str]:
    """Return the first ``PREFIX_LENGTH`` letters of each content word of ``text``."""
    return {word[:PREFIX_LENGTH] for word in content_words(text)}


def share_words(left: str, right: str) -> bool:
    """Tell whether two texts share a content word prefix, or one contains the other's word."""
    if word_prefixes(left) & word_prefixes(right):
        return True
    left_words = [w for w in content_words(left) if len(w) >= MIN_CONTAINED_LENGTH]
    right_words = [w for w in content_words(right) if len(w) >= MIN_CONTAINED_LENGTH]
    return any(a in b or b in a for a in left_words for b in right_words)


class TopIndex:
    """Maps word prefixes to the TOP subcategories whose code titles contain them."""

    def __init__(self, codes: dict[str, Any]) -> None:
        self._subcategories: dict[str, set[str]] = defaultdict(set)
        for code, entry in codes.items():
            subcategory = code[:4]
            for prefix in word_prefixes(str(entry.get("title", ""))):
                if prefix not in GENERIC_TOP_PREFIXES:
                    self._subcategories[prefix].add(subcategory)

    def subcategories(self, text: str) -> set[str]:
        """Return the four-digit TOP subcategories that ``text`` reaches."""
        found: set[str] = set()
        for prefix in word_prefixes(text):
            found |= self._subcategories.get(prefix, set())
        return found


def implausibility(
    credential_side: Iterable[str], course_side: Iterable[str], top: TopIndex
) -> str | None:
    """Return why a credential/course pair looks implausible, or ``None`` if it does not.

    ``credential_side`` and ``course_side`` are the texts listed in the module
    docstring. The reason names the TOP subcategories each side reaches.
    """
    credential_text = " ".join(credential_side)
    course_text = " ".join(course_side)
    if share_words(credential_text, course_text):
        return None

    credential_areas = top.subcategories(credential_text)
    course_areas = top.subcategories(course_text)
    if not credential_areas or not course_areas:
        return None
    if credential_areas & course_areas:
        return None
    return (
        "the credential and the course share no subject word and no TOP subcategory "
        f"(credential: {', '.join(sorted(credential_areas))}; "
        f"course: {', '.join(sorted(course_areas))})"
    )
