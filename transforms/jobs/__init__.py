"""The nightly jobs: one graph of steps per job (``plan``), the stages it calls (``sdtm``,
``adam``), the kit every stage uses (``kit``) and the runner outside Airflow (``runner``)."""
