"""Warnings for a secret that a template changes before it reaches a command line or message.

Secrets are masked by value: only the exact text of a secret is replaced by ``********``. A
template that changes it first (``{{ tok | upper }}``, ``{{ tok[:4] }}``, ``{{ tok.lower() }}``,
``{% for c in tok %}``, ``{% filter upper %}``) makes text no mask matches. :func:`secret_warnings`
finds such uses in the step parameters (``with:``) and the workflow ``vars`` of a workflow,
given which variables hold secrets (:func:`secret_paths`); a workflow variable that takes a
secret unchanged (``auth: "Bearer {{ tok }}"``) holds that secret too.

A secret path is a variable name and the keys under it: ``("tok",)``, ``("db", "password")``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes

from opsrunner.templating import environment, is_template
from opsrunner.workflow.model import Workflow

SecretPath = tuple[Any, ...]
_SAFE_FILTERS = frozenset({"default", "d", "string"})
"""Filters that pass a secret on unchanged (its mask still matches)."""
_NOT_THE_VALUE = frozenset({"length", "count"})
"""Filters whose result does not show the secret."""
_KEEP_ITEMS = frozenset({"join", "first", "last", "list", "unique", "sort", "reverse", "min",
                         "max", "random", "batch", "slice"})
"""Filters that keep the items of a list unchanged (``[tok] | join(' ')``)."""
_TO_ITEM = frozenset({"join", "first", "last", "min", "max", "random"})
"""Of those, the ones whose result is an item (or the items' text), not a list."""
_CONTAINERS = (nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair, nodes.CondExpr, nodes.Concat,
               nodes.Add, nodes.Mod, nodes.Mul)
"""Expressions whose value holds an operand's text unchanged (``'Bearer ' ~ tok``)."""


def secret_paths(data: Iterable[Mapping[str, Any]], secrets: Collection[str]) -> set[SecretPath]:
    """The paths in the hosts' variables ``data`` whose value is one of ``secrets`` (by value:
    a copy of a secret is as secret as the secret)."""
    found: set[SecretPath] = set()
    if not secrets:
        return found
    for variables in data:
        pending: list[tuple[SecretPath, Any]] = [((name,), value)
                                                 for name, value in variables.items()]
        while pending:
            path, value = pending.pop()
            if isinstance(value, str) and value in secrets:
                found.add(path)
            elif isinstance(value, Mapping):
                pending.extend(((*path, key), item) for key, item in value.items())
            elif isinstance(value, list | tuple):
                pending.extend(((*path, index), item) for index, item in enumerate(value))
    return found


def secret_warnings(workflow: Workflow, paths: Collection[SecretPath]) -> list[str]:
    """One ``file:line:col: ...`` warning per value of the workflow that changes a secret."""
    secret = set(paths)
    warnings: list[str] = []
    for name, value in workflow.vars.items():
        where = workflow.positions.value(("vars", name))
        changes, carries = _examine(value, secret)
        warnings += [f"{where}: {_message(change, f'variable {name!r}')}" for change in changes]
        if carries:
            secret.add((name,))
    for step in (*workflow.steps, *workflow.always):
        for param, value in step.args.items():
            where = step.arg_locations.get(param, step.location)
            changes, _ = _examine(value, secret)
            warnings += [f"{where}: {_message(change, f'parameter {param!r}')}"
                         for change in changes]
    return list(dict.fromkeys(warnings))


def _message(change: str, target: str) -> str:
    return (f"warning: {change} before it reaches {target}; only a secret's exact value is "
            f"masked in output, reports and the journal, so the changed text would show")


def _examine(value: Any, secret: set[SecretPath]) -> tuple[list[str], bool]:
    """How the templates in ``value`` change a secret, and whether one passes it on as is."""
    roots = {path[0] for path in secret}
    changes: list[str] = []
    carries = False
    for text in _strings(value):
        if not is_template(text) or not any(str(root) in text for root in roots):
            continue
        try:
            tree = environment().parse(text)
        except jinja2.TemplateSyntaxError:
            continue  # reported by the syntax check
        found, passed = _Template(tree, secret).uses()
        changes += found
        carries = carries or passed
    return changes, carries


def _strings(value: Any) -> Iterator[str]:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)


class _Template:
    """One parsed template: every node's parent, and the uses of secrets in it."""

    def __init__(self, tree: nodes.Template, secret: set[SecretPath]) -> None:
        self.secret = set(secret)
        self.parent: dict[int, nodes.Node] = {}
        self.order: list[nodes.Node] = []
        pending: list[nodes.Node] = [tree]
        while pending:  # iterative: a template nests as deep as it likes
            node = pending.pop()
            self.order.append(node)
            children = list(node.iter_child_nodes())
            for child in children:
                self.parent[id(child)] = node
            pending.extend(reversed(children))

    def uses(self) -> tuple[list[str], bool]:
        """The changes made to a secret, and whether one reaches the output unchanged."""
        changes: list[str] = []
        passed = False
        for node in self.order:
            if (isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name)
                    and self._carried(node)):  # {% set t = tok %}: t is the secret too
                self.secret.add((node.target.name,))
            if not isinstance(node, nodes.Name) or node.ctx != "load":
                continue
            top, path = self._chain(node)
            related = [s for s in self.secret if s[:len(path)] == path or path[:len(s)] == s]
            if not related:
                continue
            shown = _spelled(path)
            within = [s for s in related if len(path) > len(s)]
            if within:
                call = self.parent.get(id(top))
                how = (f"is changed by its method {path[-1]!r}"
                       if isinstance(call, nodes.Call) and call.node is top
                       else f"has a part taken ({shown})")
                changes.append(f"the secret {_spelled(within[0])!r} {how}")
                continue
            subject = (f"the secret {shown!r}" if path in self.secret else
                       f"{shown!r}, which holds the secret {_spelled(related[0])!r},")
            change, reached = self._change(top, subject)
            if change is not None:
                changes.append(change)
            passed = passed or isinstance(reached, nodes.Output)
        return changes, passed

    def _chain(self, name: nodes.Name) -> tuple[nodes.Node, SecretPath]:
        """The longest ``a.b['c']`` above ``name`` and its path."""
        node: nodes.Node = name
        path: SecretPath = (name.name,)
        while True:
            parent = self.parent.get(id(node))
            if isinstance(parent, nodes.Getattr) and parent.node is node:
                path = (*path, parent.attr)
            elif (isinstance(parent, nodes.Getitem) and parent.node is node
                  and isinstance(parent.arg, nodes.Const)):
                path = (*path, parent.arg.value)
            else:
                return node, path
            node = parent

    def _change(self, node: nodes.Node, subject: str) -> tuple[str | None, nodes.Node | None]:
        """How the value of ``node`` (``subject``: a secret, or what holds one) is changed, if
        it is, and the node its value reaches unchanged (an ``Output`` when it is printed)."""
        for block in self._ancestors(node):
            if isinstance(block, nodes.FilterBlock):
                name = block.filter.name if block.filter is not None else "?"
                if name not in _SAFE_FILTERS:
                    return f"{subject} is changed by the filter block {name!r}", None
        in_items = False  # the secret is an item of a list or tuple
        while True:
            parent = self.parent.get(id(node))
            if isinstance(parent, _CONTAINERS):
                in_items = in_items or isinstance(parent, nodes.List | nodes.Tuple)
                node = parent
                continue
            if isinstance(parent, nodes.Filter) and parent.node is node:
                if parent.name in _NOT_THE_VALUE:
                    return None, None
                if in_items and parent.name in _KEEP_ITEMS:
                    in_items = parent.name not in _TO_ITEM
                    node = parent
                    continue
                if parent.name not in _SAFE_FILTERS:
                    return f"{subject} is changed by the filter {parent.name!r}", None
                node = parent
                continue
            if isinstance(parent, nodes.Getitem) and parent.node is node:
                return f"{subject} has a part taken (an index or a slice)", None
            if isinstance(parent, nodes.Getattr) and parent.node is node:
                return f"{subject} is changed by its method {parent.attr!r}", None
            if isinstance(parent, nodes.For) and parent.iter is node:
                return f"{subject} is taken apart by a for loop", None
            return None, parent

    def _carried(self, assign: nodes.Assign) -> bool:
        """True when ``{% set x = ... %}`` gives ``x`` a secret unchanged (``tok``,
        ``tok | default('')``, ``'Bearer ' ~ tok``)."""
        names = [assign.node] if isinstance(assign.node, nodes.Name) else []
        for name in [*names, *assign.node.find_all(nodes.Name)]:
            if isinstance(name, nodes.Name) and name.ctx == "load":
                top, path = self._chain(name)
                if any(s[:len(path)] == path for s in self.secret):
                    change, reached = self._change(top, "")
                    if change is None and reached is assign:
                        return True
        return False

    def _ancestors(self, node: nodes.Node) -> Iterator[nodes.Node]:
        parent = self.parent.get(id(node))
        while parent is not None:
            yield parent
            parent = self.parent.get(id(parent))


def _spelled(path: SecretPath) -> str:
    """``db.password``, ``hosts[0]``: a path as a template writes it."""
    text = str(path[0])
    for key in path[1:]:
        text += f".{key}" if isinstance(key, str) and key.isidentifier() else f"[{key!r}]"
    return text
