"""Reading a rendered page as a browser would: its links and its labels."""

from html.parser import HTMLParser

# The elements a <label for=...> can name (HTML's "labelable elements").
LABELABLE = {"button", "input", "meter", "output", "progress", "select", "textarea"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags_by_id: dict[str, list[str]] = {}
        self.label_targets: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._open_link: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.tags_by_id.setdefault(attributes["id"], []).append(tag)
        if tag == "label" and "for" in attributes:
            self.label_targets.append(attributes["for"] or "")
        if tag == "a" and "href" in attributes:
            self._open_link = (attributes["href"] or "", [])

    def handle_data(self, data):
        if self._open_link:
            self._open_link[1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open_link:
            href, text = self._open_link
            self.links.append((" ".join("".join(text).split()), href))
            self._open_link = None


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def link_hrefs(html: str, text: str) -> list[str]:
    """The hrefs of every link whose visible text is `text` (whitespace collapsed)."""
    return [href for link_text, href in _parse(html).links if link_text == text]


def assert_labels_name_fields(html: str) -> None:
    """Every <label for=...> names exactly one element that a label can name."""
    page = _parse(html)
    assert page.label_targets, "the page has no labels to check"
    for target in page.label_targets:
        tags = page.tags_by_id.get(target, [])
        assert len(tags) == 1, f'<label for="{target}"> names {len(tags)} elements'
        assert tags[0] in LABELABLE, f'<label for="{target}"> names a <{tags[0]}>, which cannot be labelled'
