"""The published outputs of each study over HTTP, inside the Airflow API server and behind
its login (issue 21.6): the reports (quality listings, conformance, changes, endpoint
summary...), define.html and every other file of ``<store>/<STUDY>/current``.

Mounted by the plugin ``plugins/cdisc_reports.py`` at ``/cdisc/`` (``fastapi_apps``).
Airflow does not authenticate a plugin's app: every route here asks for the signed-in user
(the UI's session cookie, or a REST API token) and lets them read a study's outputs only
when the auth manager lets them read the study's nightly DAG. Only files inside the
publication are served: a path that leaves it (``..``, a symbolic link out) is not found.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Annotated

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from transforms.studies import STUDY_ID

PREFIX = "/cdisc"
# what a study's page lists first: the documents a data manager opens
HIGHLIGHTS = (
    "reports/endpoints.html",
    "sdtm/define.html",
    "adam/define.html",
    "reports/quality_sdtm.html",
    "reports/conformance.html",
    "reports/changes_cells.html",
)


def store() -> Path:
    return Path(os.environ.get("CDISC_STORE", "data/store"))


def may_read(study: str, user: BaseUser) -> bool:
    """Whether the auth manager lets `user` read the study's nightly DAG (and so its
    published outputs)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    details = DagDetails(id=f"{study.lower()}_sdtm_nightly")
    return bool(get_auth_manager().is_authorized_dag(method="GET", details=details, user=user))


User = Annotated[BaseUser, Depends(get_user)]


def readable(study: str, user: User) -> Path:
    """The study's published folder (resolved), for a user allowed to read it."""
    published = store() / study / "current"
    if not STUDY_ID.fullmatch(study) or not published.is_dir():
        raise HTTPException(404, f"no publication of study {study!r}")
    if not may_read(study, user):
        raise HTTPException(403, f"not allowed to read the outputs of {study}")
    return published.resolve()


Published = Annotated[Path, Depends(readable)]


def _page(title: str, items: list[str]) -> HTMLResponse:
    rows = "\n".join(f"<li>{item}</li>" for item in items) or "<li>(none)</li>"
    return HTMLResponse(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><ul>\n{rows}\n</ul></body></html>"
    )


def _link(href: str, text: str) -> str:
    return f"<a href='{html.escape(href, quote=True)}'>{html.escape(text)}</a>"


def create_app() -> FastAPI:
    app = FastAPI(title="CDISC published outputs", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def studies(user: User) -> HTMLResponse:
        """The studies with a publication this user may read."""
        root = store()
        found = sorted(p.parent.name for p in root.glob("*/current") if p.is_dir())
        shown = [s for s in found if STUDY_ID.fullmatch(s) and may_read(s, user)]
        return _page("Published studies", [_link(f"{s}/", s) for s in shown])

    @app.get("/{study}/", response_class=HTMLResponse)
    def publication(study: str, published: Published) -> HTMLResponse:
        """The publication's run, its main documents, then every file."""
        files = sorted(str(p.relative_to(published)) for p in published.rglob("*") if p.is_file())
        first = [f for f in HIGHLIGHTS if f in files]
        rest = [f for f in files if f not in first]
        items = [_link(f, f) for f in first + rest]
        return _page(f"{study}: published run {published.name}", items)

    @app.get("/{study}/{path:path}")
    def published_file(path: str, published: Published) -> FileResponse:
        """One file of the publication; nothing outside it."""
        target = (published / path).resolve()
        if not target.is_relative_to(published) or not target.is_file():
            raise HTTPException(404, f"no published file {path!r}")
        return FileResponse(target)

    return app
