"""ROOT and Parquet files in and out, with provenance.

- ``root_source``: RootSource, TTrees and RNTuples read lazily with uproot, branches as products.
- ``root_output``: RootOutput, kept products written to a TTree (or RNTuple) with uproot.
- ``parquet``: ParquetSource and ParquetOutput, through awkward and pyarrow (row groups as batches).
- ``provenance``: the provenance document in every file hepreco writes; ``read_provenance``.
- ``dump``: what ``hepreco dump FILE`` prints (trees, branches, types, products, provenance).
- ``cli``: the ``hepreco dump`` and ``hepreco provenance`` commands.
"""

from __future__ import annotations

from hepreco.io.parquet import ParquetOutput, ParquetSource
from hepreco.io.provenance import read_provenance
from hepreco.io.root_output import RootOutput
from hepreco.io.root_source import RootSource

__all__ = ["ParquetOutput", "ParquetSource", "RootOutput", "RootSource", "read_provenance"]
