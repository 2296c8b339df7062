"""The three HSTS edits of vendor Python files in the OLVM Administration Guide,
"Administration Tasks", section "Enabling HTTP Strict Transport Security" ("HTTP Strict
Transport Securityの有効化"), found structurally (see :mod:`_pypatch`).

- ovirt-imageio ``_internal/http.py``: ``class Response.__init__`` builds its default headers
  with ``self.headers = Headers({"content-length": 0})``; the header joins that dict.
- ``http/server.py`` (ovirt-provider-ovn): ``BaseHTTPRequestHandler.send_response`` sends the
  ``Date`` header; ``self.send_header("Strict-Transport-Security", ...)`` follows it.
- webob ``response.py`` (ovirt-websocket-proxy): ``Response.__init__`` initialises
  ``self._headerlist`` in ``if headerlist is None: ... else: ...``; an
  ``self._headerlist.append(('Strict-Transport-Security', ...))`` follows that ``if``.
"""

from __future__ import annotations

import ast

from opsrunner_plugins.hsts.pypatch import (
    HEADER,
    OVN_COMMENT,
    Found,
    PatchMismatch,
    PyPatch,
    delete_statement,
    find_method,
    insert_after,
    is_self_attr,
    replace_node,
    segment,
    self_call,
    string_const,
)


class ImageioHeaders(PyPatch):
    """``Response.__init__``'s default ``Headers({...})`` gains the HSTS entry."""

    where = "class Response, method __init__, self.headers = Headers({...})"

    def find(self, tree: ast.Module) -> Found:
        init = find_method(tree, "Response", "__init__")
        calls = [s.value for s in init.body if isinstance(s, ast.Assign) and len(s.targets) == 1
                 and is_self_attr(s.targets[0], "headers") and isinstance(s.value, ast.Call)
                 and isinstance(s.value.func, ast.Name) and s.value.func.id == "Headers"]
        if len(calls) != 1 or len(calls[0].args) != 1 or not isinstance(calls[0].args[0],
                                                                          ast.Dict):
            raise PatchMismatch("Response.__init__ does not set self.headers = Headers({...}) "
                                "exactly once")
        headers = calls[0].args[0]
        keys = [k.value if isinstance(k, ast.Constant) else None for k in headers.keys]
        if "content-length" not in keys or not set(keys) <= {"content-length", HEADER}:
            raise PatchMismatch(f"the default headers of Response.__init__ are {keys}, "
                                f"expected content-length (and {HEADER})")
        value = headers.values[keys.index(HEADER)] if HEADER in keys else None
        if value is not None and string_const(value) is None:
            raise PatchMismatch(f"the {HEADER} default header is not a string")
        return Found(headers, value, string_const(value))

    def insert(self, source: str, found: Found, value: str) -> str:
        return replace_node(source, found.anchor, self._dict(source, found, value))

    def delete(self, source: str, found: Found) -> str:
        return replace_node(source, found.anchor, self._dict(source, found, None))

    @staticmethod
    def _dict(source: str, found: Found, value: str | None) -> str:
        assert isinstance(found.anchor, ast.Dict)
        entries = [f"{segment(source, k)}: {segment(source, v)}"
                   for k, v in zip(found.anchor.keys, found.anchor.values, strict=True)
                   if isinstance(k, ast.Constant) and k.value != HEADER]
        if value is not None:
            entries.append(f'"{HEADER}": "{value}"')
        return "{" + ", ".join(entries) + "}"


class SendResponseHeader(PyPatch):
    """``BaseHTTPRequestHandler.send_response`` sends the header after ``Date``."""

    where = "class BaseHTTPRequestHandler, method send_response, after the Date header"

    def find(self, tree: ast.Module) -> Found:
        method = find_method(tree, "BaseHTTPRequestHandler", "send_response")
        dates, patches = [], []
        for stmt in method.body:
            call = self_call(stmt, "send_header")
            name = string_const(call.args[0]) if call and call.args else None
            if name is not None and name.value == "Date":
                dates.append(stmt)
            elif name is not None and name.value == HEADER:
                patches.append((stmt, call))
        if len(dates) != 1:
            raise PatchMismatch("BaseHTTPRequestHandler.send_response does not send the Date "
                                "header exactly once")
        if len(patches) > 1:
            raise PatchMismatch(f"send_response sends {HEADER} {len(patches)} times")
        if not patches:
            return Found(dates[0], None, None)
        stmt, call = patches[0]
        value = string_const(call.args[1]) if call and len(call.args) == 2 else None
        if value is None:
            raise PatchMismatch(f"send_response sends {HEADER} with a value that is not a string")
        return Found(dates[0], stmt, value)

    def insert(self, source: str, found: Found, value: str) -> str:
        assert isinstance(found.anchor, ast.stmt)
        return insert_after(source, found.anchor,
                            [OVN_COMMENT, f'self.send_header("{HEADER}", "{value}")'])

    def delete(self, source: str, found: Found) -> str:
        assert isinstance(found.patch, ast.stmt)
        return delete_statement(source, found.patch, OVN_COMMENT)


class HeaderlistAppend(PyPatch):
    """``Response.__init__`` appends the header after initialising ``self._headerlist``."""

    where = "class Response, method __init__, after `if headerlist is None: ...`"

    def find(self, tree: ast.Module) -> Found:
        init = find_method(tree, "Response", "__init__")
        inits = [s for s in init.body if isinstance(s, ast.If) and _is_none_test(s.test)
                 and any(isinstance(b, ast.Assign) and is_self_attr(b.targets[0], "_headerlist")
                         for b in s.body)]
        if len(inits) != 1:
            raise PatchMismatch("Response.__init__ does not initialise self._headerlist in "
                                "`if headerlist is None:` exactly once")
        patches = []
        for stmt in init.body:
            call = self_call(stmt, "_headerlist", "append")
            entry = call.args[0] if call and len(call.args) == 1 else None
            if isinstance(entry, ast.Tuple) and len(entry.elts) == 2:
                name = string_const(entry.elts[0])
                if name is not None and name.value == HEADER:
                    patches.append((stmt, string_const(entry.elts[1])))
        if len(patches) > 1:
            raise PatchMismatch(f"Response.__init__ appends {HEADER} {len(patches)} times")
        if not patches:
            return Found(inits[0], None, None)
        stmt, value = patches[0]
        if value is None:
            raise PatchMismatch(f"Response.__init__ appends {HEADER} with a value that is not "
                                "a string")
        return Found(inits[0], stmt, value)

    def insert(self, source: str, found: Found, value: str) -> str:
        assert isinstance(found.anchor, ast.stmt)
        return insert_after(source, found.anchor,
                            [f"self._headerlist.append(('{HEADER}', '{value}'))"])

    def delete(self, source: str, found: Found) -> str:
        assert isinstance(found.patch, ast.stmt)
        return delete_statement(source, found.patch)


def _is_none_test(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "headerlist" and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Is) and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None)
