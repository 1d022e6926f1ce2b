"""Draw a dataset's lineage as a server-side SVG: layered left to right, inputs to outputs.

The graph comes from :func:`mmcat.lineage.graph` (already limited to the datasets the user may
see). Layout, in plain Python and without dependencies:

* each dataset's column is its longest path from a source (raw sweeps on the left, the merged
  dataset they feed on the right);
* rows inside a column are ordered by a few barycentre sweeps (fewer crossings), ties broken by
  sample then name, so the sweeps of one crystal stay together;
* edges are cubic curves labelled with the link's role near their source end, so that the many
  inputs of one merged dataset keep their labels apart.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

NODE_W, NODE_H = 224, 58
GAP_X, GAP_Y = 120, 14
PAD = 14
MAX_NODES = 80
NAME_CHARS = 28
#: from this many inputs of one role, one label at the target instead of one per edge
FAN_IN_LABEL = 4

KIND_CLASS = {"raw": "raw", "processed": "processed", "merged": "merged", "derived": "derived"}


@dataclass
class Node:
    id: int
    name: str
    kind: str
    state: str
    sample: str
    session: str
    technique: str
    layer: int = 0
    row: float = 0.0
    x: float = 0.0
    y: float = 0.0
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)


@dataclass
class Drawing:
    svg: SafeString
    width: int
    height: int
    shown: int
    total: int
    nodes: dict[int, Node]
    edges: list[dict]


def _nearest(ids: set[int], edges: list[dict], start: int, limit: int) -> set[int]:
    """The ``limit`` datasets closest to ``start`` (breadth first, both directions)."""
    around = defaultdict(set)
    for e in edges:
        around[e["input"]].add(e["output"])
        around[e["output"]].add(e["input"])
    kept, queue = {start}, deque([start])
    while queue and len(kept) < limit:
        for other in sorted(around[queue.popleft()]):
            if other in ids and other not in kept and len(kept) < limit:
                kept.add(other)
                queue.append(other)
    return kept


def _layers(nodes: dict[int, Node]) -> None:
    """Longest path from a source (Kahn's order); nodes in a cycle, if any, stay in column 0."""
    pending = {pk: len(n.inputs) for pk, n in nodes.items()}
    queue = deque(sorted(pk for pk, count in pending.items() if count == 0))
    while queue:
        pk = queue.popleft()
        for out in nodes[pk].outputs:
            nodes[out].layer = max(nodes[out].layer, nodes[pk].layer + 1)
            pending[out] -= 1
            if pending[out] == 0:
                queue.append(out)


def _natural(text: str) -> tuple:
    """``sweep_9`` before ``sweep_11``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.split(r"(\d+)", text))


def _order(nodes: dict[int, Node]) -> list[list[Node]]:
    columns: list[list[Node]] = [[] for _ in range(max(n.layer for n in nodes.values()) + 1)]
    for node in sorted(nodes.values(), key=lambda n: (_natural(n.sample), _natural(n.name), n.id)):
        columns[node.layer].append(node)

    def place(column):
        for index, node in enumerate(column):
            node.row = index

    for column in columns:
        place(column)
    for sweep in range(4):
        forward = sweep % 2 == 0
        sequence = columns[1:] if forward else list(reversed(columns[:-1]))
        for column in sequence:
            def centre(node, forward=forward):
                near = node.inputs if forward else node.outputs
                rows = [nodes[pk].row for pk in near]
                return (sum(rows) / len(rows)) if rows else node.row
            column.sort(key=lambda n: (centre(n), _natural(n.sample), _natural(n.name), n.id))
            place(column)
    return columns


def _place(nodes: dict[int, Node], columns: list[list[Node]]) -> float:
    """Give each node its x and y; returns the height. The tallest column is stacked; a node of
    any other column goes as near as it can to the mean height of its neighbours (its inputs,
    or its outputs for a source), keeping the column's order and the gaps between boxes."""
    step = NODE_H + GAP_Y
    tallest = max(range(len(columns)), key=lambda i: len(columns[i]))
    for index, column in enumerate(columns):
        for node in column:
            node.x = PAD + index * (NODE_W + GAP_X)
    placed = set()
    for row, node in enumerate(columns[tallest]):
        node.y = PAD + row * step
        placed.add(node.id)

    def settle(column, near):
        wanted = []
        for node in column:
            ys = [nodes[pk].y for pk in near(node) if pk in placed]
            wanted.append(sum(ys) / len(ys) if ys else None)
        known = [w for w in wanted if w is not None]
        fallback = sum(known) / len(known) if known else PAD
        wanted = [fallback if w is None else w for w in wanted]
        # keep the order: push down what would overlap, then pull up what went too low
        ys = []
        for w in wanted:
            ys.append(max(w, ys[-1] + step) if ys else max(w, PAD))
        shift = (sum(ys) - sum(wanted)) / len(ys)  # centre the column on its targets
        ys = [y - shift for y in ys]
        lowest = PAD - min(ys)
        if lowest > 0:
            ys = [y + lowest for y in ys]
        for node, y in zip(column, ys, strict=True):
            node.y = y
            placed.add(node.id)

    for index in range(tallest + 1, len(columns)):
        settle(columns[index], lambda n: n.inputs)
    for index in range(tallest - 1, -1, -1):
        settle(columns[index], lambda n: n.outputs)
    return max(n.y for n in nodes.values()) + NODE_H + PAD


def _lane(nodes: dict[int, Node], a: Node, b: Node) -> float | None:
    """For an edge that skips columns: a height free of boxes in every column it crosses,
    nearest to the straight line; ``None`` if the edge is short or the straight line is free."""
    between = [n for n in nodes.values() if a.layer < n.layer < b.layer]
    if not between:
        return None
    ideal = (a.y + b.y) / 2 + NODE_H / 2

    def free(y):
        return all(not (n.y - 3 <= y <= n.y + NODE_H + 3) for n in between)

    if free(ideal):
        return None
    candidates = [n.y - GAP_Y / 2 for n in between] + [n.y + NODE_H + GAP_Y / 2 for n in between]
    return min((y for y in candidates if free(y)), key=lambda y: abs(y - ideal), default=None)


def _truncate(text: str, size: int = NAME_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _bezier(p0, p1, p2, p3, t):
    u = 1 - t
    return tuple(
        u**3 * a + 3 * u**2 * t * b + 3 * u * t**2 * c + t**3 * d
        for a, b, c, d in zip(p0, p1, p2, p3, strict=True)
    )


def layout(graph: dict, current_id: int, samples: dict[int, str], states: dict[int, str],
           limit: int = MAX_NODES) -> tuple[dict[int, Node], list[dict], int, int, int]:
    """Place the nodes; returns ``(nodes, edges, width, height, total)``."""
    total = len(graph["nodes"])
    ids = {n["id"] for n in graph["nodes"]}
    if total > limit and current_id in ids:
        ids = _nearest(ids, graph["edges"], current_id, limit)
    nodes = {
        n["id"]: Node(
            id=n["id"], name=n["name"], kind=n["kind"], state=states.get(n["id"], ""),
            sample=samples.get(n["id"], ""), session=n["session"], technique=n["technique"],
        )
        for n in graph["nodes"] if n["id"] in ids
    }
    edges = [e for e in graph["edges"] if e["input"] in nodes and e["output"] in nodes]
    for e in edges:
        nodes[e["output"]].inputs.append(e["input"])
        nodes[e["input"]].outputs.append(e["output"])
    if not nodes:
        return nodes, edges, 0, 0, total
    _layers(nodes)
    columns = _order(nodes)
    height = _place(nodes, columns)
    width = PAD * 2 + len(columns) * NODE_W + (len(columns) - 1) * GAP_X
    return nodes, edges, width, height, total


def draw(graph: dict, current_id: int, samples: dict[int, str], states: dict[int, str],
         limit: int = MAX_NODES) -> Drawing:
    """The lineage as an SVG string; ``samples`` and ``states`` map dataset id to text."""
    nodes, edges, width, height, total = layout(graph, current_id, samples, states, limit)
    if not nodes:
        return Drawing(mark_safe(""), 0, 0, 0, total, nodes, edges)
    current = nodes.get(current_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage-svg" id="lineage-svg" '
        f'width="{width}" height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" '
        f'role="group" aria-labelledby="lineage-svg-title">',
        f'<title id="lineage-svg-title">Lineage of {escape(current.name if current else "")}: '
        f'{len(nodes)} datasets, {len(edges)} links, inputs on the left</title>',
        '<defs><marker id="lineage-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="lineage-arrowhead"/></marker></defs>',
        '<g class="lineage-edges">',
    ]
    labels = []
    fan_in = defaultdict(list)  # many inputs of one role: said once, in the target's badge
    for e in edges:
        fan_in[(e["output"], e["role"])].append(e)
    for e in edges:
        a, b = nodes[e["input"]], nodes[e["output"]]
        p0 = (a.x + NODE_W, a.y + NODE_H / 2)
        p3 = (b.x, b.y + NODE_H / 2)
        lane = _lane(nodes, a, b)
        if lane is None:
            bend = max((p3[0] - p0[0]) / 2, 40)
            p1, p2 = (p0[0] + bend, p0[1]), (p3[0] - bend, p3[1])
            d = (f"M{p0[0]:.1f},{p0[1]:.1f} C{p1[0]:.1f},{p1[1]:.1f} {p2[0]:.1f},{p2[1]:.1f} "
                 f"{p3[0]:.1f},{p3[1]:.1f}")
            lx, ly = _bezier(p0, p1, p2, p3, 0.3)
        else:  # around the boxes of the columns in between, along a free lane
            x1, x2 = p0[0] + GAP_X / 2, p3[0] - GAP_X / 2
            d = (f"M{p0[0]:.1f},{p0[1]:.1f} C{x1:.1f},{p0[1]:.1f} {p0[0]:.1f},{lane:.1f} "
                 f"{x1:.1f},{lane:.1f} L{x2:.1f},{lane:.1f} C{p3[0]:.1f},{lane:.1f} "
                 f"{x2:.1f},{p3[1]:.1f} {p3[0]:.1f},{p3[1]:.1f}")
            lx, ly = x1 + GAP_X / 2, lane
        focus = " lineage-edge-current" if current_id in (a.id, b.id) else ""
        parts.append(
            f'<path class="lineage-edge{focus}" data-input="{a.id}" data-output="{b.id}" '
            f'd="{d}" marker-end="url(#lineage-arrow)"><title>{escape(a.name)} → '
            f'{escape(b.name)}: {escape(e["role"])}</title></path>'
        )
        if len(fan_in[(e["output"], e["role"])]) >= FAN_IN_LABEL:
            continue
        role = _truncate(e["role"] or "input", 16)
        software = f" ({escape(e['software'])})" if e.get("software") else ""
        labels.append(
            f'<text class="lineage-role" x="{lx:.1f}" y="{ly - 4:.1f}" text-anchor="middle">'
            f'<title>{escape(e["role"])}{software}</title>{escape(role)}</text>'
        )
    parts.append("</g>")
    parts.append('<g class="lineage-labels">' + "".join(labels) + "</g>")
    parts.append('<g class="lineage-nodes">')
    roles = defaultdict(set)
    for e in edges:
        roles[e["output"]].add(e["role"] or "input")
    for node in nodes.values():
        parts.append(_node(node, node.id == current_id, roles[node.id]))
    parts.append("</g></svg>")
    return Drawing(mark_safe("".join(parts)), width, int(height), len(nodes), total, nodes, edges)


def _node(node: Node, is_current: bool, roles: set[str]) -> str:
    kind = KIND_CLASS.get(node.kind, "raw")
    classes = f"lineage-node lineage-{kind}" + (" lineage-current" if is_current else "")
    url = reverse("dataset-detail", args=[node.id])
    sample = f"sample {node.sample}" if node.sample else "no sample"
    tooltip = f"{node.name} — {node.kind}, {sample}, session {node.session}"
    if node.state:
        tooltip += f", {node.state}"
    current_attr = ' aria-current="page"' if is_current else ""
    x, y = node.x, node.y
    merged = kind == "merged"
    inner = ""
    if merged:  # a double frame: merged datasets stand out even without colour
        inner = (f'<rect class="lineage-frame-inner" x="{x + 4:.1f}" y="{y + 4:.1f}" '
                 f'width="{NODE_W - 8}" height="{NODE_H - 8}" rx="4"/>')
    badge = ""
    if merged or len(node.inputs) > 1:
        count = len(node.inputs)
        inputs = f"{_truncate(next(iter(roles)), 14)} ×{count}" if len(roles) == 1 else (
            f"{count} inputs")
        text = f"MERGED · {inputs}" if merged and count else ("MERGED" if merged else inputs)
        pill = 14 + 6.8 * len(text)
        badge = (f'<rect class="lineage-pill" x="{x + NODE_W - 10 - pill:.1f}" y="{y - 7:.1f}" '
                 f'width="{pill:.1f}" height="14" rx="7"/>'
                 f'<text class="lineage-badge" x="{x + NODE_W - 10 - pill / 2:.1f}" '
                 f'y="{y + 3.5:.1f}" text-anchor="middle">{escape(text)}</text>')
    third = f"{node.kind} · {node.session}"
    if is_current:
        third = "this dataset · " + third
    return (
        f'<a href="{url}" class="{classes}" data-dataset-id="{node.id}" '
        f'data-kind="{escape(node.kind)}"{current_attr}>'
        f"<title>{escape(tooltip)}</title>"
        f'<rect class="lineage-frame" x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" '
        f'height="{NODE_H}" rx="6"/>{inner}'
        f'<text class="lineage-name" x="{x + 10:.1f}" y="{y + 19:.1f}">'
        f"{escape(_truncate(node.name))}</text>{badge}"
        f'<text class="lineage-sample" x="{x + 10:.1f}" y="{y + 35:.1f}">'
        f"{escape(_truncate(sample, NAME_CHARS + 4))}</text>"
        f'<text class="lineage-meta" x="{x + 10:.1f}" y="{y + 50:.1f}">'
        f"{escape(_truncate(third, NAME_CHARS + 6))}</text>"
        "</a>"
    )
