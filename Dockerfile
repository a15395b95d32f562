# The project on top of the official Airflow 3.3 image (Python 3.11). The tag must match
# the apache-airflow pin in requirements.lock (tests/test_services.py checks it).
FROM apache/airflow:3.3.2-python3.11

# Mount points of the landing and store volumes. A new named volume takes the owner of the
# folder it is mounted on, so the airflow user can write into it from the first run.
USER root
RUN mkdir -p /data/landing /data/store \
 && chown airflow:root /data/landing /data/store \
 && chmod 2775 /data/landing /data/store
USER airflow

COPY --chown=airflow:root requirements.lock pyproject.toml README.md /opt/cdisc/
COPY --chown=airflow:root transforms /opt/cdisc/transforms
COPY --chown=airflow:root sdtm_specs /opt/cdisc/sdtm_specs
COPY --chown=airflow:root expectations /opt/cdisc/expectations
COPY --chown=airflow:root dags /opt/airflow/dags
# The plugin serving the published outputs at /cdisc/; the roles the init step makes.
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root deploy /opt/cdisc/deploy
COPY --chown=airflow:root scripts/roles.py /opt/cdisc/scripts/roles.py
# The runtime dependencies only (no dev tools), each at its requirements.lock version, and
# the Airflow version of the image held in place.
RUN pip install --no-cache-dir --constraint /opt/cdisc/requirements.lock \
    "apache-airflow==${AIRFLOW_VERSION}" /opt/cdisc
ENV CDISC_SPECS_DIR=/opt/cdisc/sdtm_specs \
    CDISC_EXPECTATIONS_DIR=/opt/cdisc/expectations \
    CDISC_LANDING=/data/landing \
    CDISC_STORE=/data/store
