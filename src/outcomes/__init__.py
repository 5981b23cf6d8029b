"""outcomes: honest, pre-specified tests of a physical-therapy clinic's outcome claims.

Load de-identified visit records, check them against the data contract, and test
claims such as "patients notice a positive reaction within a few visits" with
pain and range-of-motion statistics.  See README.md and docs/.
"""

__version__ = "0.1.0"

from .visits import LoadedVisits, load_visits  # noqa: E402

__all__: list[str] = ["__version__", "LoadedVisits", "load_visits"]
