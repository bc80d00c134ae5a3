"""The README and docs/ link to each other, and to the man pages, without a
broken link: every relative link names a file that exists, every #anchor a
heading of that file (as GitHub makes anchors), every man page named in
them is one we install; and the README stays a two-minute read."""
import glob
import os
import re

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = [os.path.join(TOP, "README.md")] + sorted(glob.glob(os.path.join(TOP, "docs", "*.md")))
# What make install and the package put in man8 (Makefile: man).
MAN_PAGES = {"nf-prefrag(8)", "nft-prefrag(8)"}


def anchors(path):
    """GitHub's anchors for the headings of @path: lower case, punctuation
    but hyphens and underscores dropped, spaces as hyphens."""
    out = set()
    in_code = False
    for line in open(path):
        if line.startswith("    "):
            continue
        in_code ^= line.startswith("```")
        m = re.match(r"(#+) (.*)", line)
        if m and not in_code:
            slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def links(path):
    text = "\n".join(l for l in open(path).read().splitlines() if not l.startswith("    "))
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_relative_links_and_anchors_resolve():
    broken = []
    for doc in DOCS:
        for link in links(doc):
            if re.match(r"[a-z]+:", link):
                continue
            target, _, anchor = link.partition("#")
            path = os.path.normpath(os.path.join(os.path.dirname(doc), target)) if target else doc
            if not os.path.exists(path):
                broken.append(f"{os.path.relpath(doc, TOP)}: {link} (no such file)")
            elif anchor and anchor not in anchors(path):
                broken.append(f"{os.path.relpath(doc, TOP)}: {link} (no such heading)")
    assert broken == []


def test_every_doc_is_reachable_from_the_readme():
    named = {os.path.normpath(os.path.join(TOP, l.partition("#")[0]))
             for l in links(DOCS[0]) if l.startswith("docs/")}
    assert named == set(DOCS[1:])


def test_man_pages_named_are_ours():
    named = set()
    for doc in DOCS:
        named |= set(re.findall(r"`((?:nf|nft)-prefrag\(\d\))`", open(doc).read()))
    assert named and named <= MAN_PAGES, named


def test_readme_is_short():
    assert len(open(DOCS[0]).read().splitlines()) <= 200
