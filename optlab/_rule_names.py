"""The update rules the command line can name, and the parser of ``--rules`` (one place for all commands)."""

from __future__ import annotations

RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def parse_rules(text: str) -> list[str]:
    """``"adam, sgd" -> ["adam", "sgd"]``; ValueError names unknown rules.

    >>> parse_rules(" adam , sgd")
    ['adam', 'sgd']
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(RULES))
    if unknown or not names:
        raise ValueError(f"--rules must be a comma-separated subset of {', '.join(RULES)}, got {text!r}")
    return names
