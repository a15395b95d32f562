"""Airflow plugin: the studies' published outputs (reports, define.html, the endpoint
summary) served by the API server at /cdisc/, behind Airflow's login, with a link in the
UI's navigation (issue 21.6). The app is :mod:`transforms.serve`."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from transforms.serve import PREFIX, create_app


class CdiscReportsPlugin(AirflowPlugin):
    name = "cdisc_reports"
    fastapi_apps = [  # noqa: RUF012  (the attribute Airflow reads)
        {"app": create_app(), "url_prefix": PREFIX, "name": "CDISC published outputs"}
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "Published outputs",
            "href": f"{PREFIX.lstrip('/')}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "cdisc_outputs",
        }
    ]
