# The project on top of the official Airflow 3.3 image (Python 3.11).
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.lock pyproject.toml README.md /opt/cdisc/
COPY --chown=airflow:root transforms /opt/cdisc/transforms
COPY --chown=airflow:root sdtm_specs /opt/cdisc/sdtm_specs
COPY --chown=airflow:root dags /opt/airflow/dags
RUN pip install --no-cache-dir -r /opt/cdisc/requirements.lock \
 && pip install --no-cache-dir --no-deps /opt/cdisc
ENV CDISC_SPECS_DIR=/opt/cdisc/sdtm_specs \
    CDISC_LANDING=/data/landing \
    CDISC_STORE=/data/store
