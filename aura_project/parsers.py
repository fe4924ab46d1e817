"""The API's JSON parser: DRF's, with the nesting depth bounded and non-finite numbers refused."""

import codecs
import json
import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings

from aura_project.validation import MAX_JSON_DEPTH, json_depth


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e999 parses to inf, which no JSON column can store back.
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _strict_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class JSONParser(parsers.JSONParser):
    """400 for JSON nested deeper than MAX_JSON_DEPTH. The standard library would parse 500 levels and the
    recursive steps after it (validation, storage) then fail with RecursionError: a 500 that told the caller
    nothing. Deeper bodies than the parser itself can take (about 1,000 levels) are refused the same way."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_float=_finite_float,
                parse_constant=_strict_constant if api_settings.STRICT_JSON else None,
            )
        except RecursionError:
            raise TooDeep() from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise TooDeep()
        return data


class TooDeep(ParseError):
    default_detail = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
    default_code = "too_deep"
