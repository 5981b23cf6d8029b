"""The guarantees for the user's files: stated input limits, bounded reads of regular files, safe YAML,
atomic outputs that never replace what outcomes did not write, and CSV formula neutralisation.

Imports only :mod:`outcomes.errors`; every layer above may use it.
"""
