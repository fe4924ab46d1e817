"""Limits on what the API accepts, as pure functions: the JSON nesting depth and the characters a stored string
may hold. One source for each bound; the parser, the serializers, the middleware and the schema read them here.
"""

MAX_JSON_DEPTH = 32
"""Arrays and objects nested deeper than this are refused. A report's deepest field is a log entry a few levels
down; 32 leaves room for any honest payload and keeps every recursive walk (validation, storage) far from
Python's recursion limit."""


def json_depth(value) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0, `[]` is 1). Iterative, so any
    depth the parser produced can be measured."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored, or None. PostgreSQL refuses NUL in text and JSON, and a lone surrogate
    (JSON's "\\ud800") cannot be encoded as UTF-8 at all."""
    if "\x00" in text:
        return "must not contain NUL (U+0000) characters"
    for char in text:
        if 0xD800 <= ord(char) <= 0xDFFF:
            return f"must not contain lone surrogate characters (U+{ord(char):04X})"
    return None


def json_text_problem(value) -> tuple[str, str] | None:
    """The first string in a parsed JSON value (keys included) that cannot be stored: (where, why), with `where`
    in the API's own notation ("[2].detail"; "" for the value itself), or None."""
    stack = [("", value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            if problem := text_problem(node):
                return where, problem
        elif isinstance(node, dict):
            for key, child in node.items():
                if problem := text_problem(key):
                    return where, f"has a key that {problem}"
                stack.append((f"{where}.{key}", child))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(node))
    return None
