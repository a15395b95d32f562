"""CDISC conversion engine: readers, mapping algorithms, writers, publishing.

It knows nothing of Airflow: the DAGs and the ``cdisc`` command both call it.
"""

__version__ = "0.1.0"
