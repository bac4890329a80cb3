"""This module draws a checked job as Graphviz DOT: modules, the products that flow between them, paths."""

from __future__ import annotations

import itertools

from hepreco.core.build import JobPlan

__all__ = ["to_dot"]

_SHAPES = {
    "source": "cylinder",
    "producer": "box",
    "filter": "diamond",
    "analyzer": "ellipse",
    "output": "folder",
}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(plan: JobPlan) -> str:
    """The data flow of ``plan`` (from the declared consumes/produces) as a DOT digraph.

    Solid edges carry products (labelled with the product name); dashed edges are the order of
    modules along a trigger path.
    """
    lines = [f"digraph {_q(plan.job.process)} {{", "  rankdir=LR;", "  node [fontname=Helvetica];"]
    src = plan.source
    lines.append(
        f"  {_q(plan.source_label)} [shape=cylinder, label={_q(plan.source_label + ' | ' + type(src).type_name)}];"
    )
    for label, mod in plan.modules.items():
        lines.append(
            f"  {_q(label)} [shape={_SHAPES.get(mod.kind, 'box')}, label={_q(label + ' | ' + type(mod).type_name)}];"
        )
    for label, mod in plan.modules.items():
        for tag in mod.consumes():
            prod = plan.producers.get(tag.key)
            if prod is not None:
                lines.append(f"  {_q(prod)} -> {_q(label)} [label={_q(tag.product)}];")
    for pname, entries in plan.paths.items():
        for (_, a), (_, b) in itertools.pairwise(entries):
            lines.append(f"  {_q(a)} -> {_q(b)} [style=dashed, color=gray, label={_q(pname)}];")
    for pname, labels in plan.end_paths.items():
        lines.append(f"  subgraph {_q('cluster_' + pname)} {{ label={_q('end path ' + pname)}; style=dotted;")
        lines.extend(f"    {_q(lab)};" for lab in labels)
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)
