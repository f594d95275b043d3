"""The agent's side of the logging commands, ported from microsoft/azure-pipelines-agent
(src/Microsoft.VisualStudio.Services.Agent/Command.cs, src/Agent.Sdk/CommandStringConvertor.cs), to read
back what the Azure Pipelines runner wrote exactly as the agent reads it. Shared by the unit and the
end-to-end tests of that runner."""

from __future__ import annotations

LOGGING_COMMAND_PREFIX = "##vso["


def agent_unescape(text: str) -> str:
    """CommandStringConvertor.Unescape with unescapePercents (the DECODE_PERCENTS default, true)."""
    for token, replacement in ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D")):
        text = text.replace(replacement, token)
    return text.replace("%AZP25", "%")


def agent_parse(line: str) -> tuple[str, dict[str, str], str] | None:
    """Command.TryParse: the first `##vso[` anywhere in the line, up to the first `]` after it; None when
    the agent would take the line for plain output."""
    prefix = line.find(LOGGING_COMMAND_PREFIX)
    if prefix < 0:
        return None
    end = line.find("]", prefix)
    if end < 0:
        return None
    info = line[prefix + len(LOGGING_COMMAND_PREFIX) : end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if len([part for part in name.split(".") if part]) != 2:
        return None
    properties: dict[str, str] = {}
    if space > 0:
        for prop in (p for p in info[space + 1 :].split(";") if p):
            pair = [part for part in prop.split("=", 1) if part]
            if len(pair) == 2:
                properties[pair[0]] = agent_unescape(pair[1])
    return name, properties, agent_unescape(line[end + 1 :])


def commands(stdout: str, name: str) -> list[tuple[dict[str, str], str]]:
    """The logging commands of one kind (`task.logissue`), as (properties, data), in order.

    Lines split as the agent's reader splits them (LF, CR, CRLF)."""
    found = []
    for line in stdout.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parsed = agent_parse(line)
        if parsed is not None and parsed[0] == name:
            found.append((parsed[1], parsed[2]))
    return found


def issues(stdout: str, kind: str = "error") -> list[str]:
    """The messages of the issues of one type (error, warning)."""
    return [data for props, data in commands(stdout, "task.logissue") if props.get("type") == kind]


def variables(stdout: str) -> dict[str, str]:
    """The variables set, by name (a later value wins, as in the agent)."""
    return {props["variable"]: data for props, data in commands(stdout, "task.setvariable")}
