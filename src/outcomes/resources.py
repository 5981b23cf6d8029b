"""Files the package uses from outside its modules: the bundled sample and the research notebooks.

Each has one source, in the repository's top level: ``data/sample/visits.csv`` and
``notebooks/*.ipynb`` (where researchers open them). A built wheel carries a copy of each inside the
package, made by the build (hatch ``force-include`` in ``pyproject.toml``): ``outcomes/data/sample/visits.csv``
and ``outcomes/notebooks/``. A checkout or an editable install (``pip install -e .``) has no such copy and
reads the repository's own files, so a notebook a researcher has just edited is the one
``outcomes report --research`` runs.

The bottom layer of the package: imports only the standard library.

Examples
--------
>>> sample_data().name, sample_data().is_file()
('visits.csv', True)
>>> (research_notebooks() / "clinic_summary.ipynb").is_file()
True
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_DIR", "locate", "research_notebooks", "sample_data"]

#: The directory of the imported ``outcomes`` package: ``site-packages/outcomes`` when installed from a
#: wheel, ``src/outcomes`` in a checkout or an editable install. Found from ``__file__`` rather than with
#: ``importlib.resources``: papermill and the CSV reader need real file-system paths, which a wheel installed
#: by pip (always unpacked) has, and a ``Traversable`` would have to be converted back to one.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository's top level when the package is imported from a checkout (``<root>/src/outcomes``).
_CHECKOUT = PACKAGE_DIR.parents[1]


def locate(in_package: str, in_repository: str) -> Path:
    """The file or directory the package ships as ``in_package``, or the repository's ``in_repository``.

    The packaged copy (``PACKAGE_DIR / in_package``) is used when it exists (an installed wheel);
    otherwise the repository's copy (a checkout or an editable install) when that exists; otherwise the
    packaged location, so that a message about the missing file names where an installed package keeps it.
    Nothing is read or checked beyond existence: the caller reports a missing file.

    Parameters
    ----------
    in_package : str
        Path relative to the package directory (``"data/sample/visits.csv"``).
    in_repository : str
        Path of its one source relative to the repository's top level.

    Returns
    -------
    pathlib.Path
        An absolute path.

    Examples
    --------
    >>> locate("data/sample/visits.csv", "data/sample/visits.csv") == sample_data()
    True
    >>> locate("no/such.csv", "no/such.csv") == PACKAGE_DIR / "no" / "such.csv"
    True
    """
    packaged = PACKAGE_DIR / in_package
    repository = _CHECKOUT / in_repository
    return repository if not packaged.exists() and repository.exists() else packaged


def sample_data() -> Path:
    """The bundled synthetic sample ``visits.csv`` (no real patients; see ``data/sample/README.md``).

    Returns
    -------
    pathlib.Path
        ``outcomes/data/sample/visits.csv`` in an installed wheel, the repository's
        ``data/sample/visits.csv`` in a checkout or an editable install.

    Examples
    --------
    >>> sample_data().parts[-3:]
    ('data', 'sample', 'visits.csv')
    """
    return locate("data/sample/visits.csv", "data/sample/visits.csv")


def research_notebooks() -> Path:
    """The directory of the notebooks that ``outcomes report --research`` executes.

    Returns
    -------
    pathlib.Path
        ``outcomes/notebooks`` in an installed wheel, the repository's ``notebooks/`` in a
        checkout or an editable install.

    Examples
    --------
    >>> research_notebooks().name
    'notebooks'
    """
    return locate("notebooks", "notebooks")
