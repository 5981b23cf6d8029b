"""One row per episode x measure x side: baseline, change, the first visit that meets the
improvement rule, censoring; the per-episode summaries every claim starts from.
"""
