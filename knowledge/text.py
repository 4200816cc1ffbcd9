"""Bytes to text, and front matter parsed safely: the two places a hostile text file could bite.

Decoding honours a byte-order mark, else takes UTF-8, else asks charset-normalizer (UTF-16 without a
BOM, Latin-1, GB18030, Shift-JIS …); a file it cannot read as text is binary. Control characters
(NUL …) are dropped. Front matter is YAML without aliases, anchors or tags, a size cap and a depth
cap, so an alias bomb is refused before it is expanded.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

MAX_FRONT_MATTER_CHARS = 64_000  # front matter is a few fields; more is not front matter
MAX_FRONT_MATTER_DEPTH = 20
_BOMS = (  # longest first: a UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls but tab, newline, carriage return and form feed; DEL; the non-characters U+FFFE/U+FFFF.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")
_BINARY_SHARE = 0.05  # text has almost no control characters; a file with more than 5% is data


class NotText(ValueError):
    """The bytes are not text in any encoding we can tell."""


def decode(raw: bytes) -> str:
    """Text of a file's bytes, with `\\n` line ends and no control characters.

    >>> decode("Café".encode("utf-16"))
    'Café'
    """
    text = _decode(raw)
    sample = text[:65_536]
    if sample and len(_CONTROL.findall(sample)) > _BINARY_SHARE * len(sample):
        raise NotText("it looks binary, not text")
    text = _CONTROL.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(raw: bytes) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise NotText(f"it starts with a {encoding} byte-order mark but is not {encoding}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.count("\0", 0, 4096) <= 0.3 * min(len(text), 4096):
        return text  # UTF-8 (a few NULs are dropped later; many mean UTF-16 without a BOM)
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        raise NotText("it looks binary, not text" if text is None or "\0" in text else "its text encoding is unknown")
    # Short Western text fits several code pages equally well; the WHATWG default for unlabelled legacy
    # text, windows-1252, breaks the tie (charset-normalizer alone picks e.g. mac_latin2 for "Café").
    tied = [m for m in matches if m.chaos <= best.chaos and "cp1252" in m.could_be_from_charset]
    return raw.decode("cp1252", errors="replace") if tied else str(best)


class SafeYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler, refusing what can make YAML explode or run code."""

    def load(self, fm: str, **kwargs: object) -> Any:
        if len(fm) > MAX_FRONT_MATTER_CHARS:
            raise ValueError(f"its front matter is over {MAX_FRONT_MATTER_CHARS:,} characters")
        depth = 0
        for event in yaml.parse(fm, Loader=yaml.SafeLoader):  # events only: nothing is built or expanded yet
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ValueError("its front matter uses YAML anchors or aliases")
            if getattr(event, "tag", None) is not None:
                raise ValueError(f"its front matter uses the YAML tag {event.tag}")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_FRONT_MATTER_DEPTH:
                    raise ValueError("its front matter is nested too deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        data = yaml.load(fm, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError("its front matter is not a list of `key: value` fields")
        return data


def split_front_matter(source: str) -> tuple[dict, str]:
    """(metadata, body) of a Markdown source; `({}, source)` when it has no front matter.

    >>> split_front_matter("---\\ntitle: T\\n---\\nBody")
    ({'title': 'T'}, 'Body')
    """
    post = frontmatter.loads(source, handler=SafeYAMLHandler())
    return dict(post.metadata), post.content
