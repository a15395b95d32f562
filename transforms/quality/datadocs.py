"""The Data Docs of a gate, readable offline: no page fetches anything from the internet.

Great Expectations writes pages that load Bootstrap, bootstrap-table, jQuery, Vega and Font
Awesome from public CDNs, and its logo from its web site. A run folder is read on machines
without internet (and must not call out), so after GX has built the site each page loses
those references and loads instead a small style sheet and script of this project
(``datadocs_assets/``, copied into the site's ``static/offline/``): the same tables,
links and "Failed Only" filter, plainer. The GX logo points at the copy GX already writes.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ASSETS = Path(__file__).with_name("datadocs_assets")
_REMOTE = r"""["']https?://[^"']*["']"""
_SCRIPT = re.compile(rf"<script\b[^>]*\bsrc={_REMOTE}[^>]*>\s*</script>\s*", re.I)
_LINK = re.compile(rf"<link\b[^>]*\bhref={_REMOTE}[^>]*>\s*", re.I)
_LOGO = re.compile(r"""src=["']https?://[^"']*/logo-long\.png[^"']*["']""", re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?https?://[^)]*\)""", re.I)


def make_offline(site: Path) -> None:
    """Rewrite the Data Docs site at `site` (its ``index.html`` and every page below) so
    that it refers to files of the site only."""
    offline = site / "static" / "offline"
    offline.mkdir(parents=True, exist_ok=True)
    for asset in sorted(ASSETS.iterdir()):
        shutil.copyfile(asset, offline / asset.name)
    for css in sorted((site / "static").rglob("*.css")):
        text = css.read_text(encoding="utf-8")
        css.write_text(_CSS_URL.sub("none", text), encoding="utf-8")
    for page in sorted(site.rglob("*.html")):
        static = Path(os.path.relpath(site / "static", page.parent)).as_posix()
        own = (
            f'<link rel="stylesheet" href="{static}/offline/datadocs.css">\n'
            f'<script src="{static}/offline/datadocs.js"></script>\n</head>'
        )
        text = page.read_text(encoding="utf-8")
        text = _CSS_URL.sub("none", _LINK.sub("", _SCRIPT.sub("", text)))
        text = _LOGO.sub(f'src="{static}/images/logo-long.png"', text)
        page.write_text(text.replace("</head>", own, 1), encoding="utf-8")
