#!/usr/bin/env python3
"""Draws the layout of the dashboard in template.yaml: one box per widget on CloudWatch's
24-column grid, with its title and what it shows, so a reader sees what they will get
before deploying.

Usage: scripts/draw-dashboard.py [OUTPUT]   (default docs/dashboard.png)
Needs PyYAML and matplotlib (scripts/install-tools.sh puts both in .venv).
"""
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
KIND_COLOURS = {"metric": "#dbe9f6", "alarm": "#fde2cf", "log": "#e2f0d9", "text": "#eeeeee"}


class TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Sub, !Ref, ...) as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


TemplateLoader.add_multi_constructor("!", _any_tag)


def dashboard_body():
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=TemplateLoader)
    body = template["Resources"]["OperatorDashboard"]["Properties"]["DashboardBody"]
    if isinstance(body, list):  # !Sub [text, {vars}]
        body = body[0]
    return json.loads(body)


def summary(widget):
    """What a widget shows, in a few words."""
    props = widget["properties"]
    if widget["type"] == "alarm":
        return f"{len(props['alarms'])} alarms"
    if widget["type"] == "log":
        fields = props["query"].split("fields", 1)[1].split("|", 1)[0]
        return "table: " + ", ".join(f.strip() for f in fields.split(","))
    labels = []
    for entry in props.get("metrics", []):
        options = entry[-1] if isinstance(entry[-1], dict) else {}
        labels.append(options.get("label") or entry[1])
    return ", ".join(labels)


def wrap(text, width):
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "\n".join(lines)


def main():
    output = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "dashboard.png"
    widgets = dashboard_body()["widgets"]
    rows = max(w["y"] + w["height"] for w in widgets)
    figure, axes = plt.subplots(figsize=(14, rows * 0.42))
    axes.set_xlim(0, 24)
    axes.set_ylim(rows, 0)
    axes.axis("off")
    for widget in widgets:
        x, y, w, h = widget["x"], widget["y"], widget["width"], widget["height"]
        axes.add_patch(
            plt.Rectangle(
                (x + 0.1, y + 0.1), w - 0.2, h - 0.2,
                facecolor=KIND_COLOURS.get(widget["type"], "#ffffff"), edgecolor="#4a6c8f",
            )
        )
        title = axes.text(x + 0.4, y + 0.5, wrap(widget["properties"]["title"], int(w * 3.6)),
                          fontsize=10, fontweight="bold", va="top")
        # Placed under the title's drawn bottom edge, not at a fixed row, so a title that
        # wraps onto a third line pushes the summary down instead of overlapping it.
        axes.annotate(wrap(summary(widget), int(w * 4.2)), xy=(0, 0), xycoords=title,
                      xytext=(0, -6), textcoords="offset points",
                      fontsize=8, va="top", color="#333333")
    axes.set_title("merge-deprovision: the operators' dashboard (layout from template.yaml)",
                   fontsize=12, loc="left")
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110, bbox_inches="tight")
    print(f"wrote {output} ({len(widgets)} widgets)")


if __name__ == "__main__":
    main()
