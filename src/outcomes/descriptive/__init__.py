"""Descriptive tables behind the report's and notebooks' figures: cohort flow and Table 1,
per-condition estimates, trajectories.  No verdicts.
"""
