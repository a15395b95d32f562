"""CDISC conversion engine: knows nothing of Airflow."""
