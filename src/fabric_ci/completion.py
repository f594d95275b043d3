"""`fabric-ci completion bash|zsh|fish`: a shell completion script, written from the parser itself so
that every command and option in the registry (a new one included) completes without a list to keep.

Completion offers command names and each command's options; values are not guessed (a pipeline's
name is the tenant's, not ours). zsh loads the bash script through its bashcompinit, zsh's own
bridge for bash completions.
"""

from __future__ import annotations

import argparse
import shlex

__all__ = ["SHELLS", "completion_script"]

SHELLS = ("bash", "zsh", "fish")


def _commands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, list[str]]]:
    """Each command's help line and its long options, in the parser's order."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    found: dict[str, tuple[str, list[str]]] = {}
    for name, command in sub.choices.items():
        options = [o for action in command._actions for o in action.option_strings if o.startswith("--")]
        found[name] = (helps.get(name, ""), options)
    return found


def _bash(commands: dict[str, tuple[str, list[str]]]) -> str:
    cases = "\n".join(
        f'        {shlex.quote(name)}) words="{" ".join(options)}" ;;' for name, (_, options) in commands.items()
    )
    return f"""# fabric-ci completion for bash: eval "$(fabric-ci completion bash)", e.g. in ~/.bashrc
_fabric_ci() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" words
    if [ "$COMP_CWORD" -eq 1 ]; then
        words="{" ".join(commands)} --help --version"
    else
        case "${{COMP_WORDS[1]}}" in
{cases}
        *) words="" ;;
        esac
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -F _fabric_ci fabric-ci
"""


def _fish(commands: dict[str, tuple[str, list[str]]]) -> str:
    lines = ["# fabric-ci completion for fish: fabric-ci completion fish > ~/.config/fish/completions/fabric-ci.fish"]
    lines.append("complete -c fabric-ci -f")
    for name, (text, options) in commands.items():
        description = shlex.quote(text.split(". ")[0][:80])
        lines.append(f"complete -c fabric-ci -n __fish_use_subcommand -a {shlex.quote(name)} -d {description}")
        lines += [
            f"complete -c fabric-ci -n {shlex.quote('__fish_seen_subcommand_from ' + name)} -l {option[2:]}"
            for option in options
        ]
    return "\n".join(lines) + "\n"


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The script for `shell` (one of SHELLS)."""
    commands = _commands(parser)
    if shell == "bash":
        return _bash(commands)
    if shell == "zsh":
        return (
            '# fabric-ci completion for zsh: eval "$(fabric-ci completion zsh)", e.g. in ~/.zshrc\n'
            "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n"
            + _bash(commands).split("\n", 1)[1]
        )
    if shell == "fish":
        return _fish(commands)
    raise ValueError(shell)
