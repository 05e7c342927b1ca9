"""XML documents assembled from entries serialized once, not from element trees copied each time.

A publish re-renders feeds whose other entries have not changed. Each entry's bytes are made
once per process (the format modules cache them) by serializing the entry inside an empty copy
of the document's root (and the path to where entries go), so that its indentation and
namespace prefixes are exactly those it would have in the whole document. A document is then
its head, serialized without entries, with those bytes put in before the closing tags: the
very bytes ``etree.tostring`` gives for the whole tree (``tests/feeds/test_splicing.py``
checks it against the tree), without deep-copying and re-serializing every entry per build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from lxml import etree


class Shell(NamedTuple):
    """Where entries go in a document: the root's tag and namespaces, and the tags from the
    root down to the entries' parent (``("channel",)`` in RSS, none in Atom). Hashable: the
    entry caches are keyed by it."""

    root_tag: str
    nsmap: tuple[tuple[str, str], ...]  # the default namespace under ""
    path: tuple[str, ...]


def shell_of(root: etree._Element, parent: etree._Element) -> Shell:
    path: list[str] = []
    element: etree._Element | None = parent
    while element is not None and element is not root:
        path.append(str(element.tag))
        element = element.getparent()
    if element is None:
        raise ValueError("the entries' parent is not inside the document's root")
    nsmap = tuple(sorted((prefix or "", uri) for prefix, uri in root.nsmap.items()))
    return Shell(str(root.tag), nsmap, tuple(reversed(path)))


def _serialize(element: etree._Element) -> bytes:
    text: bytes = etree.tostring(element, pretty_print=True, encoding="UTF-8",
                                 xml_declaration=False)
    return text


def entry_bytes(entry: etree._Element, shell: Shell) -> bytes:
    """``entry`` as it is written inside a document of this shape: its lines, indented for
    its depth, ending with a line break. ``entry`` is moved into a throwaway shell."""
    root = etree.Element(shell.root_tag, nsmap={prefix or None: uri
                                                for prefix, uri in shell.nsmap})
    parent = root
    for tag in shell.path:
        parent = etree.SubElement(parent, tag)
    parent.append(entry)
    text = _serialize(root)
    depth = len(shell.path) + 1  # the opening lines above the entry, the closing ones below
    start = 0
    for _ in range(depth):  # start tags hold no line break; an entry's text may
        start = text.index(b"\n", start) + 1
    return text[start:_closing_lines_start(text, depth)]


def _closing_lines_start(text: bytes, lines: int) -> int:
    end = len(text) - 1 if text.endswith(b"\n") else len(text)
    for _ in range(lines):
        end = text.rindex(b"\n", 0, end)
    return end + 1


def _unchanged(text: bytes) -> bytes:
    return text


def assemble(root: etree._Element, shell: Shell, entries: Iterable[bytes],
             finish: Callable[[bytes], bytes] = _unchanged) -> bytes:
    """The whole document: ``root`` (holding no entries yet) with ``entries`` after the
    parent's last child, as ``etree.tostring`` of the tree with them appended writes it.
    ``finish`` rewrites the head's bytes (the entries' were rewritten when they were made)."""
    head = finish(etree.tostring(root.getroottree(), pretty_print=True, encoding="UTF-8",
                                 xml_declaration=True))
    cut = _closing_lines_start(head, len(shell.path) + 1)
    if not head[cut:].lstrip(b" ").startswith(b"</"):
        # The parent has no child of its own (``<channel/>``): no closing tag to put the
        # entries before. Every head written here has children; refuse rather than guess.
        raise ValueError("the document's entry parent has no closing tag to splice before")
    return head[:cut] + b"".join(entries) + head[cut:]
