"""The Airflow plugin's app (transforms.serve): a study's published files for a signed-in
user allowed to read the study's DAG; nothing outside the publication (issue 21.6)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi.testclient import TestClient

from tests.conftest import ROOT
from transforms import serve

RUN = "20261123T020500Z-20261123T020000Z"
VIEWER = SimpleAuthManagerUser(username="reviewer", role="viewer")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with one publication, an older run beside it and a file outside both."""
    root = tmp_path / "store"
    run = root / "POMMAINT" / "runs" / RUN
    (run / "reports").mkdir(parents=True)
    (run / "sdtm").mkdir()
    (run / "reports" / "endpoints.html").write_text("<h1>2-year PFS</h1>", encoding="utf-8")
    (run / "sdtm" / "define.html").write_text("<h1>define</h1>", encoding="utf-8")
    (run / "reports" / "out").symlink_to(tmp_path / "secret.txt")
    old = root / "POMMAINT" / "runs" / "20261122T020500Z-20261122T020000Z"
    old.mkdir()
    (old / "old.txt").write_text("older run", encoding="utf-8")
    (root / "POMMAINT" / "current").symlink_to(Path("runs") / RUN)
    (tmp_path / "secret.txt").write_text("outside the store", encoding="utf-8")
    (root / "secret.txt").write_text("in the store, outside the publication", encoding="utf-8")
    monkeypatch.setenv("CDISC_STORE", str(root))
    return root


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The studies the auth manager lets the user read (its decision is replaced)."""
    studies = {"POMMAINT"}
    monkeypatch.setattr(serve, "may_read", lambda study, user: study in studies)
    return studies


@pytest.fixture
def client(store: Path, allowed: set[str]) -> Iterator[TestClient]:
    app = serve.create_app()
    app.dependency_overrides[get_user] = lambda: VIEWER
    with TestClient(app) as signed_in:
        yield signed_in


def test_a_published_report_is_served(client: TestClient) -> None:
    got = client.get("/POMMAINT/reports/endpoints.html")
    assert got.status_code == 200 and got.text == "<h1>2-year PFS</h1>"
    assert got.headers["content-type"].startswith("text/html")
    assert client.get("/POMMAINT/sdtm/define.html").text == "<h1>define</h1>"
    page = client.get("/POMMAINT/")
    assert page.status_code == 200 and f"published run {RUN}" in page.text
    # the main documents first, then the rest
    assert page.text.index("reports/endpoints.html") < page.text.index("sdtm/define.html")
    assert "<a href='POMMAINT/'>POMMAINT</a>" in client.get("/").text


@pytest.mark.parametrize(
    "path",
    [
        "/POMMAINT/%2e%2e/%2e%2e/secret.txt",
        "/POMMAINT/..%2F..%2Fsecret.txt",
        "/POMMAINT/reports/..%2F..%2F..%2Fsecret.txt",
        "/POMMAINT/%2e%2e/20261122T020500Z-20261122T020000Z/old.txt",
        "/POMMAINT/reports/out",  # a symbolic link leaving the publication
        "/POMMAINT/" + "%2F".join(["..", "..", "..", "..", ".."]) + "%2Fetc%2Fpasswd",
        "/POMMAINT/reports",  # a folder is no file
        "/POMMAINT/reports/missing.html",
    ],
)
def test_nothing_outside_the_publication_is_served(client: TestClient, path: str) -> None:
    got = client.get(path)
    assert got.status_code == 404, (path, got.text)
    assert "outside" not in got.text and "older run" not in got.text and "root:" not in got.text


def test_unknown_or_forbidden_studies_and_anonymous_callers_are_refused(
    client: TestClient, store: Path, allowed: set[str]
) -> None:
    assert client.get("/NOSUCH/reports/endpoints.html").status_code == 404
    assert client.get("/pommaint/").status_code == 404  # not a study id
    allowed.clear()
    assert client.get("/POMMAINT/reports/endpoints.html").status_code == 403
    assert "POMMAINT" not in client.get("/").text
    with TestClient(serve.create_app()) as anonymous:  # no session cookie, no token
        assert anonymous.get("/POMMAINT/reports/endpoints.html").status_code == 401
        assert anonymous.get("/").status_code == 401


def test_the_plugin_mounts_the_app_at_its_prefix() -> None:
    import runpy

    plugin = runpy.run_path(os.fspath(ROOT / "plugins" / "cdisc_reports.py"))
    cls = plugin["CdiscReportsPlugin"]
    [mounted] = cls.fastapi_apps
    assert mounted["url_prefix"] == "/cdisc"
    assert [r.path for r in mounted["app"].routes if hasattr(r, "path")] == [
        "/",
        "/{study}/",
        "/{study}/{path:path}",
    ]
    [view] = cls.external_views
    assert view["href"] == "cdisc/" and view["destination"] == "nav"


def test_reading_a_study_is_reading_its_nightly_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision is the auth manager's, on the study's nightly DAG (a role that may not
    read DAGs sees no outputs)."""
    import airflow.api_fastapi.app as airflow_app

    asked: list[tuple[str, str | None, str]] = []

    class Manager:
        def is_authorized_dag(self, *, method: str, details: object, user: object) -> bool:
            asked.append((method, getattr(details, "id", None), getattr(user, "role", "")))
            return getattr(user, "role", "") != "none"

    monkeypatch.setattr(airflow_app, "get_auth_manager", Manager)
    assert serve.may_read("POMMAINT", VIEWER) is True
    assert serve.may_read("POMMAINT", SimpleAuthManagerUser(username="x", role="none")) is False
    assert asked == [
        ("GET", "pommaint_sdtm_nightly", "viewer"),
        ("GET", "pommaint_sdtm_nightly", "none"),
    ]
