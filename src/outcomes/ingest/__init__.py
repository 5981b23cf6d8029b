"""From a file (or a frame) to checked, canonical visits: reading CSV/Parquet/wide EMR exports
(:mod:`~outcomes.ingest.records`), the PHI guard (:mod:`~outcomes.ingest.phi`), the contract rules
(:mod:`~outcomes.ingest.rules`), :func:`~outcomes.ingest.load.load_visits`, de-identification of a raw
export and the synthetic-data generator.
"""
