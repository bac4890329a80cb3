"""This module adds ``hepreco dump FILE`` and ``hepreco provenance FILE`` to the command line."""

from __future__ import annotations

import argparse
import json
import sys

from hepreco.cli import EXIT_OK, EXIT_RUNTIME

__all__ = ["cmd_dump", "cmd_provenance"]


def dump_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="ROOT or Parquet files")
    p.add_argument("--tree", default=None, help="show only this TTree/RNTuple")


def cmd_dump(ns: argparse.Namespace) -> int:
    from hepreco.io.dump import dump_file

    status = EXIT_OK
    for i, path in enumerate(ns.files):
        if i:
            print()
        try:
            print(dump_file(path, tree=ns.tree))
        except (OSError, KeyError, ValueError) as err:
            print(f"hepreco: error: {err.args[0] if isinstance(err, KeyError) and err.args else err}", file=sys.stderr)
            status = EXIT_RUNTIME
    return status


def prov_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a ROOT or Parquet file hepreco wrote")
    p.add_argument("--json", action="store_true", help="print the provenance document as JSON")
    p.add_argument("--no-config", action="store_true", help="leave out each job's resolved config")


def cmd_provenance(ns: argparse.Namespace) -> int:
    from hepreco.io.provenance import format_provenance, read_file_document

    try:
        doc = read_file_document(ns.file)
    except (OSError, KeyError, ValueError) as err:
        print(f"hepreco: error: {err}", file=sys.stderr)
        return EXIT_RUNTIME
    if doc is None:
        print(f"hepreco: {ns.file} holds no hepreco provenance (hepreco did not write it)", file=sys.stderr)
        return EXIT_RUNTIME
    if ns.json:
        print(json.dumps(doc, indent=2, default=str))
    else:
        print(format_provenance(ns.file, doc, config=not ns.no_config))
    return EXIT_OK
