"""What GitHub's runner reads back from a step: its file commands."""

from __future__ import annotations


def parse_output_file(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT the way the runner does: `name=value` lines and heredocs."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
            i += 1
        else:
            i += 1
    return outputs
