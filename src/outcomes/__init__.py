"""outcomes: honest, pre-specified tests of a physical-therapy clinic's outcome claims.

Load de-identified visit records, check them against the data contract, and test
claims such as "patients notice a positive reaction within a few visits" with
pain and range-of-motion statistics.  See README.md and docs/architecture.md for the
layers (``spec`` -> ``ingest`` -> ``episodes`` -> ``stats`` -> ``claims`` ->
``analysis`` -> ``report`` -> ``cli``).
"""

import logging

from outcomes.ingest.load import load_visits
from outcomes.ingest.visits import LoadedVisits
from outcomes.version import __version__

# A library configures no handler: the application does (outcomes.cli: stderr, --quiet/--verbose).
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__: list[str] = ["LoadedVisits", "__version__", "load_visits"]
