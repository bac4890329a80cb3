"""ROOT and Parquet files in and out, with provenance.

- ``root_source``: RootSource, TTrees and RNTuples read lazily with uproot, branches as products.
- ``root_output``: RootOutput, kept products written to a TTree (or RNTuple) with uproot.
- ``parquet``: ParquetSource and ParquetOutput, through awkward and pyarrow (row groups as batches).
- ``provenance``: the provenance document in every file hepreco writes; ``read_provenance``.
- ``columns``: ``iter_files``, named columns of ROOT and Parquet files batch by batch (training data).
- Extension points: ``FileSource`` (a source over files: implement ``inspect_file`` and ``read_range``) and
  ``FileOutput`` (an output format: see its docstring; ``examples/external-plugin`` writes JSON Lines).
- Errors: ``NotInFile`` (a tree, branch or column a file lacks, naming the file and the nearest names) and its
  ``MissingColumn``.
- ``dump``: what ``hepreco dump FILE`` prints (trees, branches, types, products, provenance).
- ``cli``: the ``hepreco dump`` and ``hepreco provenance`` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepreco.lazy import lazy_attributes

__all__ = [
    "FileInfo",
    "FileOutput",
    "FileSource",
    "MissingColumn",
    "NotInFile",
    "OutFile",
    "ParquetOutput",
    "ParquetSource",
    "RootOutput",
    "RootSource",
    "iter_files",
    "read_provenance",
]

# loaded on first use: ``hepreco --help`` (whose dump/provenance commands live here) waits for no uproot
_LAZY = {
    "MissingColumn": "hepreco.io.columns",
    "NotInFile": "hepreco.io._rootfile",
    "iter_files": "hepreco.io.columns",
    "FileInfo": "hepreco.io._source",
    "FileOutput": "hepreco.io._output",
    "FileSource": "hepreco.io._source",
    "OutFile": "hepreco.io._output",
    "ParquetOutput": "hepreco.io.parquet",
    "ParquetSource": "hepreco.io.parquet",
    "read_provenance": "hepreco.io.provenance",
    "RootOutput": "hepreco.io.root_output",
    "RootSource": "hepreco.io.root_source",
}

if TYPE_CHECKING:
    from hepreco.io._output import FileOutput, OutFile
    from hepreco.io._rootfile import NotInFile
    from hepreco.io._source import FileInfo, FileSource
    from hepreco.io.columns import MissingColumn, iter_files
    from hepreco.io.parquet import ParquetOutput, ParquetSource
    from hepreco.io.provenance import read_provenance
    from hepreco.io.root_output import RootOutput
    from hepreco.io.root_source import RootSource


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
