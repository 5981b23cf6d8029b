"""One :class:`~outcomes.analysis.Analysis` rendered: ``results.json``, figures, the HTML report
(Jinja2 templates as package data) and, with ``--research``, the executed notebooks.  Computes no statistic.
"""
