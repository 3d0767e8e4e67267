"""The mutants of a file: ONE small change to ONE place each (tools/mutation.py runs the tests).

Operators, applied wherever they fit (never in docstrings or comments; constants and deletions
only inside functions other than __init__, where a change would only fail the import or the
first attribute access):
  compare    < <-> <=, > <-> >=, == <-> !=, is <-> is not, in <-> not in
  bool       and <-> or;  not x -> x
  const      an integer n -> n + 1;  True <-> False
  arith      + <-> -,  & <-> |,  << <-> >>  (also as +=, -=, &=, |=)
  delete     one assignment, augmented assignment or call statement -> pass
lib/vebus/_core.py keeps its per-byte loops as source text compiled at import: the same operators
are applied inside that text.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EMBEDDED = ("COLLECT", "CHECK", "DELIVER")  # source text inside lib/vebus/_core.py

_SWAP_CMP = {
    ast.Lt: "<=",
    ast.LtE: "<",
    ast.Gt: ">=",
    ast.GtE: ">",
    ast.Eq: "!=",
    ast.NotEq: "==",
    ast.Is: "is not",
    ast.IsNot: "is",
    ast.In: "not in",
    ast.NotIn: "in",
}
_SWAP_BIN = {ast.Add: "-", ast.Sub: "+", ast.BitAnd: "|", ast.BitOr: "&", ast.LShift: ">>"}
_SWAP_BIN[ast.RShift] = "<<"
_OP_TOKEN = re.compile(
    rb"<<=?|>>=?|<=|>=|==|!=|<|>|\bis\s+not\b|\bnot\s+in\b|\bis\b|\bin\b|[-+&|]=?"
)


class Mutant:
    def __init__(self, path, lines, op, text, module):
        self.path = path  # repo-relative
        self.line = lines[0]
        self.lines = lines  # first and last line of the changed expression or statement
        self.op = op
        self.text = text  # the whole mutated file
        self.module = module  # its import name

    def where(self):
        return "%s:%d %s" % (self.path, self.line, self.op)


def _line_starts(data):
    starts = [0]
    for i, b in enumerate(data):
        if b == 10:
            starts.append(i + 1)
    return starts


def _docstrings(tree):
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def edits(src):
    """((first line, last line), operator name, start, end, replacement bytes) of every mutation
    of src (a str); offsets index src.encode()."""
    data = src.encode()
    starts = _line_starts(data)
    tree = ast.parse(src)
    docs = _docstrings(tree)
    # Constants and deletions only inside functions other than __init__: a module constant or
    # an attribute left out at construction only fails the import or the first access.
    inner = set()
    for f in ast.walk(tree):
        if isinstance(f, ast.FunctionDef) and f.name != "__init__":
            inner.update(id(n) for n in ast.walk(f))
    out = []

    def pos(line, col):
        return starts[line - 1] + col

    def span(node):
        return pos(node.lineno, node.col_offset), pos(node.end_lineno, node.end_col_offset)

    def token_between(a, b, node, name, new):
        lo = span(a)[1]
        hi = span(b)[0]
        m = _OP_TOKEN.search(data, lo, hi)
        if m:
            out.append((node, name, m.start(), m.end(), new.encode()))

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            left = node.left
            for op, right in zip(node.ops, node.comparators):
                new = _SWAP_CMP.get(type(op))
                if new:
                    token_between(left, right, node, "compare", new)
                left = right
        elif isinstance(node, ast.BoolOp):
            new = b"or" if isinstance(node.op, ast.And) else b"and"
            for a, b in zip(node.values, node.values[1:]):
                lo, hi = span(a)[1], span(b)[0]
                m = re.compile(rb"\b(and|or)\b").search(data, lo, hi)
                if m:
                    out.append((node, "bool", m.start(), m.end(), new))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            s, _ = span(node)
            out.append((node, "bool", s, span(node.operand)[0], b""))
        elif isinstance(node, ast.Constant) and id(node) not in docs and id(node) in inner:
            s, e = span(node)
            if node.value is True or node.value is False:
                out.append((node, "const", s, e, repr(not node.value).encode()))
            elif type(node.value) is int:
                out.append((node, "const", s, e, str(node.value + 1).encode()))
        elif isinstance(node, ast.BinOp) and type(node.op) in _SWAP_BIN:
            token_between(node.left, node.right, node, "arith", _SWAP_BIN[type(node.op)])
        elif isinstance(node, ast.AugAssign) and type(node.op) in _SWAP_BIN:
            new = _SWAP_BIN[type(node.op)] + "="
            token_between(node.target, node.value, node, "arith", new)
        if id(node) in inner and (
            isinstance(node, (ast.Assign, ast.AugAssign))
            or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))
        ):
            if node.lineno == node.end_lineno:
                s, e = span(node)
                out.append((node, "delete", s, e, b"pass"))
    return [((n.lineno, n.end_lineno), name, s, e, new) for n, name, s, e, new in out]


def _embedded(tree):
    """Assignments NAME = \"\"\"...\"\"\" of EMBEDDED names: (value node) list."""
    found = []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in EMBEDDED
            and isinstance(node.value, ast.Constant)
        ):
            found.append(node.value)
    return found


def module_name(rel):
    p = rel[:-3].split("/")
    if p[0] == "lib":
        p = p[1:]
    return ".".join(p)


def mutants(rel):
    """Every mutant of the repo-relative file rel."""
    src = (ROOT / rel).read_text()
    data = src.encode()
    name = module_name(rel)
    found = []
    for lines, op, s, e, new in edits(src):
        text = (data[:s] + new + data[e:]).decode()
        found.append(Mutant(rel, lines, op, text, name))
    starts = _line_starts(data)
    for value in _embedded(ast.parse(src)):
        # the text between the triple quotes is the value (no escapes in it)
        begin = starts[value.lineno - 1] + value.col_offset + 3
        inner = value.value
        assert data[begin : begin + len(inner.encode())] == inner.encode()
        for lines, op, s, e, new in edits(inner):
            idata = inner.encode()
            mutated = idata[:s] + new + idata[e:]
            text = (data[:begin] + mutated + data[begin + len(idata) :]).decode()
            at = (value.lineno + lines[0] - 1, value.lineno + lines[1] - 1)
            found.append(Mutant(rel, at, op, text, name))
    return found
