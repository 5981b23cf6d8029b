"""One module a claim, the registry that lists them, and the runners (pandas; Dask beside it).

Each claim turns canonical visits, the plan and :mod:`outcomes.stats` estimators into verdicts with an
estimate, interval, n used and n excluded.
"""
