"""Random valid ONNX graphs for differential testing (tests/difffuzz/difffuzz.py).

generate(seed) builds one graph from a seed, deterministically: a pool of
values starts with a few graph inputs (static dims and the symbolic dims N and
S) and grows by one random op at a time, each op's operands drawn from the pool
(the newest values most often, so chains form and fuse). Every value carries
what the generator needs to keep the graph valid and well conditioned:

  dtype   numpy dtype name
  shape   a tuple of dims; a dim is (coefficient, symbols), e.g. (2, ("N",))
          is 2*N and (4, ()) is 4 -- the monomials kiln's shapes take
  mag     an upper bound of |value| over every input the runner feeds, so no
          op overflows, and Exp/Pow/Sinh get arguments they are accurate on
  exact   True when the value is computed without rounding differences an
          implementation may legitimately have (inputs, selections, one
          correctly rounded Add/Sub/Div); discontinuous ops (Floor, Sign,
          comparisons, ArgMax, float-to-int Cast, ...) only read exact values,
          so a 1-ulp difference upstream cannot flip their result

The graph's outputs are its sinks and some random intermediates, declared
without a shape (kiln and ONNX Runtime infer them). Graph inputs get data from
Graph.feeds(env, rng) for a binding env of the symbolic dims.
"""
import math
import random

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 21
SYMS = ("N", "S")
SYM_MAX = 8  # the largest value the runner binds a symbol to (mag bounds use it)

ONNX_TYPE = {
    "float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "float64": TensorProto.DOUBLE,
    "int32": TensorProto.INT32, "int64": TensorProto.INT64, "int8": TensorProto.INT8,
    "uint8": TensorProto.UINT8, "bool": TensorProto.BOOL,
}
FLOATS = ("float32", "float16", "float64")
INTS = ("int32", "int64", "int8", "uint8")
INT_MAX = {"int32": 2**31 - 1, "int64": 2**63 - 1, "int8": 127, "uint8": 255}


def st(c):
    return (c, ())


def sym(s):
    return (1, (s,))


ONE = st(1)


def dmul(a, b):
    return (a[0] * b[0], tuple(sorted(a[1] + b[1])))


def dval(d, env):
    v = d[0]
    for s in d[1]:
        v *= env[s]
    return v


def dmax(d):
    return dval(d, {s: SYM_MAX for s in SYMS})


def numel_max(shape):
    n = 1
    for d in shape:
        n *= dmax(d)
    return n


def onnx_dim(d):
    if not d[1]:
        return d[0]
    if d[0] == 1 and len(d[1]) == 1:
        return d[1][0]
    return None


def bcast(a, b):
    """Multidirectional broadcast of two shapes, or None."""
    r = max(len(a), len(b))
    a = (ONE,) * (r - len(a)) + tuple(a)
    b = (ONE,) * (r - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == y or y == ONE:
            out.append(x)
        elif x == ONE:
            out.append(y)
        else:
            return None
    return tuple(out)


class Skip(Exception):
    """An op that cannot be built on the operands drawn: try another."""


class Value:
    def __init__(self, name, dtype, shape, mag, exact):
        self.name, self.dtype, self.shape = name, dtype, tuple(shape)
        self.mag, self.exact = float(mag), exact

    @property
    def rank(self):
        return len(self.shape)

    def static(self):
        return all(not d[1] for d in self.shape)


class Graph:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.nodes = []
        self.inputs = []  # (Value, scale, kind)
        self.inits = []
        self.pool = []
        self.n = 0
        self.ops = []
        self.used = set()
        self.values = {}  # every top-level value by name

    # -- names, constants, inputs ------------------------------------------
    def fresh(self, base="v"):
        self.n += 1
        return "%s%d" % (base, self.n)

    def const(self, arr, dtype=None, base="c"):
        arr = np.asarray(arr, dtype=dtype)
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(arr, name))
        mag = float(np.max(np.abs(arr.astype(np.float64)))) if arr.size and arr.dtype != bool else 1.0
        return Value(name, arr.dtype.name, [st(x) for x in arr.shape], mag, True)

    def scalar(self, x, dtype):
        return self.const(np.array(x, dtype=dtype))

    def new_input(self, dtype, shape, scale=1.0):
        """A graph input; floats uniform in [-scale, scale), ints small."""
        if any(d[1] and onnx_dim(d) is None for d in shape):
            raise Skip()  # an input dim is static or one symbol, never 2*N
        v = Value(self.fresh("in"), dtype, shape, self.input_mag(dtype, scale), True)
        self.inputs.append((v, scale))
        self.values[v.name] = v
        return v

    @staticmethod
    def input_mag(dtype, scale):
        if dtype in FLOATS:
            return scale
        if dtype == "uint8":
            return 8
        if dtype == "bool":
            return 1
        return 4

    def weight(self, dtype, shape, scale=1.0):
        """A constant of random data (shape static)."""
        dims = [d[0] for d in shape]
        if dtype in FLOATS:
            a = np.array([self.rng.uniform(-scale, scale) for _ in range(int(np.prod(dims)))])
        elif dtype == "bool":
            a = np.array([self.rng.random() < 0.5 for _ in range(int(np.prod(dims)))])
        else:
            lo = 0 if dtype == "uint8" else -4
            a = np.array([self.rng.randint(lo, 4) for _ in range(int(np.prod(dims)))])
        return self.const(a.reshape(dims).astype(dtype), base="w")

    def operand(self, dtype, shape, scale=1.0):
        """A second operand of a given shape: a new input or, when static, a constant."""
        if all(not d[1] for d in shape) and self.rng.random() < 0.4:
            return self.weight(dtype, shape, scale)
        return self.new_input(dtype, shape, scale)

    # -- nodes ---------------------------------------------------------------
    def node(self, op, ins, outs, **attrs):
        names = [i.name if isinstance(i, Value) else i for i in ins]
        self.nodes.append(helper.make_node(op, names, [o.name for o in outs], **attrs))
        for o in outs:
            self.values[o.name] = o
        self.ops.append(op)
        for i in ins:
            if isinstance(i, Value):
                self.used.add(i.name)
        return outs[0] if len(outs) == 1 else outs

    def add(self, op, ins, dtype, shape, mag, exact, pool=True, **attrs):
        v = Value(self.fresh(), dtype, shape, mag, exact)
        self.node(op, ins, [v], **attrs)
        if pool:
            self.pool.append(v)
        return v

    def pick(self, pred=lambda v: True):
        """A value of the pool satisfying pred, the newest most likely; None if none."""
        cands = [v for v in self.pool if pred(v)]
        if not cands:
            return None
        k = min(int(self.rng.expovariate(0.7)), len(cands) - 1)
        return cands[len(cands) - 1 - k]

    def noisy(self, v):
        """v plus fresh noise of its shape: the input of a normalization, whose
        output is rounding noise blown up by 1/sqrt(epsilon) when v is (nearly)
        constant (Max, Clip, Relu and Min make such values; two LayerNorms in a
        row then differ by 1e-2 between correct implementations)."""
        if any(d[1] and onnx_dim(d) is None for d in v.shape):
            return v  # no input can have this shape; v is what it is
        n = self.new_input(v.dtype, v.shape)
        return self.add("Add", [v, n], v.dtype, v.shape, v.mag + 1, False, pool=False)

    def positive(self, v, off=0.5):
        """|v| + off, bounded away from zero (denominators, Log, Sqrt)."""
        a = self.add("Abs", [v], v.dtype, v.shape, v.mag, v.exact, pool=False)
        c = self.scalar(off if v.dtype in FLOATS else max(1, int(off)), v.dtype)
        return self.add("Add", [a, c], v.dtype, v.shape, v.mag + off, False, pool=False)

    # -- the model -----------------------------------------------------------
    def outputs(self):
        sinks = [v for v in self.pool if v.name not in self.used]
        extra = [v for v in self.pool if v.name in self.used and self.rng.random() < 0.15]
        outs = sinks + extra
        seen, res = set(), []
        for v in outs:
            if v.name not in seen:
                seen.add(v.name)
                res.append(v)
        return res[:6]

    def precisions(self, names):
        """For each value of NAMES, the float dtype whose rounding bounds its
        error: the coarsest of the inexact float values it is computed from (an
        f32 result cast to f64 still carries f32 rounding), or None when no
        inexact float value is on its way."""
        order = {"float64": 0, "float32": 1, "float16": 2}
        producer = {o: n for n in self.nodes for o in n.output}
        memo = {}

        def prec(name):
            if name not in memo:
                v = self.values.get(name)
                best = v.dtype if v is not None and v.dtype in order and not v.exact else None
                n = producer.get(name)
                for i in (n.input if n is not None else []):
                    p = prec(i) if i else None
                    if p and (best is None or order[p] > order[best]):
                        best = p
                memo[name] = best
            return memo[name]

        return {name: prec(name) for name in names}

    def model(self, outs):
        ins = [helper.make_tensor_value_info(v.name, ONNX_TYPE[v.dtype], [onnx_dim(d) for d in v.shape])
               for v, _ in self.inputs]
        outv = [helper.make_tensor_value_info(v.name, ONNX_TYPE[v.dtype], [None] * v.rank) for v in outs]
        g = helper.make_graph(self.nodes, "fuzz%d" % self.seed, ins, outv, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 10
        return m

    def feeds(self, env, rng):
        res = {}
        for v, scale in self.inputs:
            dims = [dval(d, env) for d in v.shape]
            n = int(np.prod(dims)) if dims else 1
            if v.dtype in FLOATS:
                a = rng.uniform(-scale, scale, n)
            elif v.dtype == "bool":
                a = rng.random(n) < 0.5
            elif v.dtype == "uint8":
                a = rng.integers(0, 9, n)
            else:
                a = rng.integers(-4, 5, n)
            res[v.name] = a.astype(v.dtype).reshape(dims)
        return res


# -- op generators: each returns True when it added its node(s) ---------------

def is_float(v):
    return v.dtype in FLOATS


def is_num(v):
    return v.dtype != "bool"


def small(v, lim=1e4):
    return v.mag <= lim


UNARY = {
    # name: (input predicate, output mag, keeps exactness)
    "Relu": (lambda v: True, lambda m: m, True),
    "Abs": (lambda v: True, lambda m: m, True),
    "Neg": (lambda v: v.dtype != "uint8", lambda m: m, True),
    "Sigmoid": (lambda v: True, lambda m: 1, False),
    "Tanh": (lambda v: True, lambda m: 1, False),
    "Softsign": (lambda v: True, lambda m: 1, False),
    "Exp": (lambda v: v.mag <= 12, lambda m: math.exp(m), False),
    "Sin": (lambda v: v.mag <= 100, lambda m: 1, False),
    "Cos": (lambda v: v.mag <= 100, lambda m: 1, False),
    "Tan": (lambda v: v.mag <= 1, lambda m: 1.6, False),
    "Atan": (lambda v: True, lambda m: 1.6, False),
    # steep near +-1: a 1-ulp difference upstream (tanh(9) is 1 - 3e-8: 1.0 or
    # the float below) moves acos by 3e-4; exact inputs are safe anywhere
    "Asin": (lambda v: v.mag <= 0.9 or v.exact and v.mag <= 1, lambda m: 1.6, False),
    "Acos": (lambda v: v.mag <= 0.9 or v.exact and v.mag <= 1, lambda m: 3.2, False),
    "Atanh": (lambda v: v.mag <= 0.6, lambda m: 0.7, False),
    "Asinh": (lambda v: True, lambda m: math.log(2 * m + 1) + 1, False),
    "Sinh": (lambda v: v.mag <= 8, lambda m: math.exp(m), False),
    "Cosh": (lambda v: v.mag <= 8, lambda m: math.exp(m), False),
    "Erf": (lambda v: True, lambda m: 1, False),
    "Softplus": (lambda v: v.mag <= 30, lambda m: m + 1, False),
    "Selu": (lambda v: v.mag <= 30, lambda m: 1.06 * m + 1.8, False),
    "Elu": (lambda v: v.mag <= 30, lambda m: m + 1, False),
    "Celu": (lambda v: v.mag <= 30, lambda m: m + 1, False),
    "Mish": (lambda v: v.mag <= 30, lambda m: m + 1, False),
    "HardSigmoid": (lambda v: True, lambda m: 1, False),
    "HardSwish": (lambda v: True, lambda m: m + 1, False),
    "LeakyRelu": (lambda v: True, lambda m: m, False),
    "Gelu": (lambda v: True, lambda m: m + 1, False),
}
DISCONT = ("Floor", "Ceil", "Round", "Sign", "ThresholdedRelu")


def op_unary(g):
    name = g.rng.choice(list(UNARY))
    pred, mag, keep = UNARY[name]
    v = g.pick(lambda v: is_float(v) and pred(v))
    if v is None:
        return False
    attrs = {}
    if name == "LeakyRelu":
        attrs["alpha"] = g.rng.choice([0.01, 0.2, 1.5])
    if name in ("Elu", "Celu"):
        attrs["alpha"] = g.rng.choice([0.5, 1.0, 2.0])
    if name == "HardSigmoid":
        attrs.update(alpha=g.rng.choice([0.2, 0.5]), beta=g.rng.choice([0.5, 0.3]))
    if name == "Gelu" and g.rng.random() < 0.5:
        attrs["approximate"] = "tanh"
    g.add(name, [v], v.dtype, v.shape, mag(v.mag), keep and v.exact, **attrs)
    return True


def op_unary_int(g):
    name = g.rng.choice(["Abs", "Neg", "Relu", "Sign"])
    v = g.pick(lambda v: v.dtype in ("int32", "int64", "int8") and (name != "Relu" or v.dtype != "int64"))
    if v is None:
        return False
    g.add(name, [v], v.dtype, v.shape, v.mag, True)
    return True


def op_discont(g):
    name = g.rng.choice(DISCONT)
    v = g.pick(lambda v: is_float(v) and v.exact)
    if v is None:
        return False
    attrs = {"alpha": g.rng.choice([0.0, 0.3])} if name == "ThresholdedRelu" else {}
    g.add(name, [v], v.dtype, v.shape, v.mag + 1, True, **attrs)
    return True


def op_domain(g):
    """Log, Sqrt, Reciprocal, Acosh of |x| + offset."""
    name = g.rng.choice(["Log", "Sqrt", "Reciprocal", "Acosh"])
    v = g.pick(lambda v: is_float(v) and small(v))
    if v is None:
        return False
    p = g.positive(v, 1.0 if name == "Acosh" else 0.5)
    mag = {"Log": math.log(p.mag) + 1, "Sqrt": math.sqrt(p.mag), "Reciprocal": 2.0,
           "Acosh": math.log(2 * p.mag) + 1}[name]
    g.add(name, [p], v.dtype, v.shape, mag, False)
    return True


def broadcast_shape_for(g, shape):
    """A shape that broadcasts with SHAPE without changing it: a suffix, some dims 1."""
    k = g.rng.randint(0, len(shape))
    suf = list(shape[len(shape) - k:])
    for i in range(len(suf)):
        if g.rng.random() < 0.3:
            suf[i] = ONE
    return tuple(suf)


def partner(g, v, dtype=None, scale=1.0):
    """A second operand for a broadcasting binary op on v."""
    dtype = dtype or v.dtype
    r = g.rng.random()
    if r < 0.45:
        w = g.pick(lambda w: w is not v and w.dtype == dtype and bcast(w.shape, v.shape) is not None
                   and len(bcast(w.shape, v.shape)) <= 5 and numel_max(bcast(w.shape, v.shape)) <= 4096)
        if w is not None:
            return w
    if r < 0.7:
        shape = broadcast_shape_for(g, v.shape)
    else:
        # widen: v broadcast against something bigger on a 1-dim or a new leading dim
        shape = list(v.shape)
        ones = [i for i, d in enumerate(shape) if d == ONE]
        if ones and g.rng.random() < 0.6:
            shape[g.rng.choice(ones)] = st(g.rng.choice([2, 3, 4]))
        elif len(shape) < 4 and numel_max(shape) * 3 <= 4096:
            shape = [st(g.rng.choice([1, 2, 3]))] + shape
        shape = tuple(shape)
    return g.operand(dtype, shape, scale)


def op_binary(g):
    name = g.rng.choice(["Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "PRelu"])
    v = g.pick(lambda v: is_float(v) and small(v, 1e3))
    if v is None:
        return False
    w = partner(g, v)
    if name == "PRelu":
        if bcast(v.shape, w.shape) != v.shape:  # the slope broadcasts to X only
            return False
    out = bcast(v.shape, w.shape)
    if out is None:
        return False
    if name == "Div":
        w = g.positive(w)
        g.add("Div", [v, w], v.dtype, out, v.mag * 2, v.exact and w.exact)
    elif name == "Pow":
        base = g.positive(v)
        if g.rng.random() < 0.5:
            e = g.scalar(g.rng.choice([2.0, 0.5, 3.0, -1.0, 1.5]), v.dtype)
            out = v.shape
        elif w.mag <= 2:
            e = w
        else:
            return False
        g.add("Pow", [base, e], v.dtype, out, base.mag ** max(e.mag, 1) + 2, False)
    elif name == "Mul":
        g.add("Mul", [v, w], v.dtype, out, v.mag * w.mag, False)
    elif name in ("Add", "Sub"):
        g.add(name, [v, w], v.dtype, out, v.mag + w.mag, v.exact and w.exact)
    else:
        g.add(name, [v, w], v.dtype, out, max(v.mag, w.mag), v.exact and w.exact)
    return True


def op_binary_int(g):
    name = g.rng.choice(["Add", "Sub", "Mul", "Max", "Min", "Div", "Mod", "BitwiseAnd", "BitwiseOr",
                         "BitwiseXor", "BitShift", "BitwiseNot"])
    if name == "BitShift":
        v = g.pick(lambda v: v.dtype == "uint8" and v.mag <= 15)
        if v is None:
            return False
        amt = g.operand("uint8", broadcast_shape_for(g, v.shape))  # data in [0, 8]
        d = g.rng.choice(["LEFT", "RIGHT"])
        g.add("BitShift", [v, amt], "uint8", v.shape, 255, True, direction=d)
        return True
    v = g.pick(lambda v: v.dtype in INTS and v.mag <= 1000)
    if v is None:
        return False
    if name == "BitwiseNot":
        g.add(name, [v], v.dtype, v.shape, INT_MAX[v.dtype] + 1, True)
        return True
    w = partner(g, v)
    out = bcast(v.shape, w.shape)
    if out is None:
        return False
    lim = INT_MAX[v.dtype]
    if name in ("Div", "Mod"):
        if v.dtype == "uint8":
            return False
        w = g.positive(w, 1)
        g.add(name, [v, w], v.dtype, out, v.mag, True, **({"fmod": 0} if name == "Mod" else {}))
        return True
    mag = {"Add": v.mag + w.mag, "Sub": v.mag + w.mag, "Mul": v.mag * w.mag}.get(name, max(v.mag, w.mag))
    if name.startswith("Bitwise"):
        mag = 2 * max(v.mag, w.mag) + 1
        if v.dtype in ("int8", "int32", "int64"):
            mag = max(mag, lim + 1)
    if name in ("Add", "Sub", "Mul") and mag > lim / 2:
        return False
    if v.dtype == "uint8" and name == "Sub":
        return False
    g.add(name, [v, w], v.dtype, out, mag, True)
    return True


def op_compare(g):
    name = g.rng.choice(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
    v = g.pick(lambda v: is_num(v) and v.exact)
    if v is None:
        return False
    w = partner(g, v)
    out = bcast(v.shape, w.shape)
    if out is None or not w.exact:
        return False
    g.add(name, [v, w], "bool", out, 1, True)
    return True


def op_logic(g):
    name = g.rng.choice(["And", "Or", "Xor", "Not"])
    v = g.pick(lambda v: v.dtype == "bool")
    if v is None:
        return False
    if name == "Not":
        g.add("Not", [v], "bool", v.shape, 1, True)
        return True
    w = partner(g, v)
    out = bcast(v.shape, w.shape)
    if out is None:
        return False
    g.add(name, [v, w], "bool", out, 1, True)
    return True


def op_isx(g):
    name = g.rng.choice(["IsNaN", "IsInf"])
    v = g.pick(lambda v: is_float(v) and v.exact)
    if v is None:
        return False
    g.add(name, [v], "bool", v.shape, 1, True)
    return True


def op_where(g):
    v = g.pick(lambda v: is_num(v) and small(v))
    if v is None:
        return False
    c = g.pick(lambda c: c.dtype == "bool" and bcast(c.shape, v.shape) is not None
               and numel_max(bcast(c.shape, v.shape)) <= 4096)
    if c is None:
        c = g.new_input("bool", broadcast_shape_for(g, v.shape))
    w = partner(g, v)
    out = bcast(bcast(c.shape, v.shape) or (), w.shape) if bcast(c.shape, v.shape) else None
    if out is None:
        return False
    g.add("Where", [c, v, w], v.dtype, out, max(v.mag, w.mag), v.exact and w.exact)
    return True


def op_variadic(g):
    name = g.rng.choice(["Sum", "Mean", "Max", "Min"])
    v = g.pick(lambda v: is_float(v) and small(v))
    if v is None:
        return False
    ws = [partner(g, v) for _ in range(g.rng.randint(1, 3))]
    out = v.shape
    for w in ws:
        out = bcast(out, w.shape) if out is not None else None
    if out is None:
        return False
    mags = [v.mag] + [w.mag for w in ws]
    exact = name in ("Max", "Min") and v.exact and all(w.exact for w in ws)
    g.add(name, [v] + ws, v.dtype, out, sum(mags) if name == "Sum" else max(mags), exact)
    return True


def op_clip(g):
    v = g.pick(lambda v: is_num(v) and v.dtype != "bool")
    if v is None:
        return False
    lo = g.rng.choice([None, -0.5, 0.0, 1.0]) if is_float(v) else g.rng.choice([None, -2, 0])
    hi = g.rng.choice([None, 0.5, 2.0]) if is_float(v) else g.rng.choice([None, 3])
    if v.dtype == "uint8" and lo is not None and lo < 0:
        lo = 0
    ins = [v, g.scalar(lo, v.dtype) if lo is not None else "", g.scalar(hi, v.dtype) if hi is not None else ""]
    while ins and ins[-1] == "":
        ins.pop()
    g.add("Clip", ins, v.dtype, v.shape, v.mag, v.exact)
    return True


def op_cast(g):
    v = g.pick(lambda v: small(v, 100))
    if v is None:
        return False
    to = g.rng.choice(["float32", "float16", "float64", "int32", "int64", "int8", "uint8", "bool"])
    if to == v.dtype:
        return False
    if is_float(v) and to not in FLOATS and not v.exact:
        return False  # truncation of a rounded value
    if to == "uint8" and v.dtype not in ("bool", "uint8"):
        return False  # negative values: implementation-defined
    if to == "int8" and v.mag > 100:
        return False
    if is_float(v) and to in INTS:
        mag, exact = v.mag, True
    elif to == "float16" and v.dtype != "bool":
        mag, exact = v.mag, v.dtype in INTS
    else:
        mag, exact = (1 if to == "bool" else v.mag), v.exact
    if g.rng.random() < 0.2:
        like = g.const(np.zeros((1,), dtype=to))
        g.add("CastLike", [v, like], to, v.shape, mag, exact)
    else:
        g.add("Cast", [v], to, v.shape, mag, exact, to=ONNX_TYPE[to])
    return True


REDUCE = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceLogSumExp", "ReduceSumSquare", "ReduceLogSum"]


def op_reduce(g):
    name = g.rng.choice(REDUCE)
    if name in ("ReduceSum", "ReduceMax", "ReduceMin") and g.rng.random() < 0.25:
        v = g.pick(lambda v: v.dtype in ("int32", "int64") and v.rank >= 1)
    else:
        v = g.pick(lambda v: is_float(v) and v.rank >= 1 and small(v, 100))
    if v is None:
        return False
    axes = sorted(g.rng.sample(range(v.rank), g.rng.randint(1, v.rank)))
    if g.rng.random() < 0.1:
        axes = []  # all (noop_with_empty_axes 0)
    raxes = axes or list(range(v.rank))
    cnt = 1
    for a in raxes:
        cnt *= dmax(v.shape[a])
    keep = g.rng.random() < 0.5
    shape = tuple(ONE if i in raxes else d for i, d in enumerate(v.shape) if keep or i not in raxes)
    if name == "ReduceProd":
        if v.mag > 1.0 or cnt > 16:
            return False
        mag = 1.0
    elif name in ("ReduceSum", "ReduceL1"):
        mag = v.mag * cnt
    elif name == "ReduceSumSquare":
        mag = v.mag * v.mag * cnt
    elif name == "ReduceLogSumExp":
        if v.mag > 20:
            return False
        mag = v.mag + math.log(max(1, cnt)) + 1
    else:
        mag = v.mag * (math.sqrt(cnt) if name == "ReduceL2" else 1)
    src = v
    if name == "ReduceLogSum":
        src = g.positive(v)
        mag = math.log(src.mag * max(1, cnt)) + 1
    ins = [src] + ([g.const(np.array(axes, dtype=np.int64))] if axes else [])
    exact = name in ("ReduceMax", "ReduceMin") and v.exact or (v.dtype in INTS)
    g.add(name, ins, v.dtype, shape, mag, exact, keepdims=int(keep))
    return True


def op_argmax(g):
    name = g.rng.choice(["ArgMax", "ArgMin"])
    v = g.pick(lambda v: is_num(v) and v.exact and v.rank >= 1 and v.dtype in ("float32", "int32", "int64", "float64"))
    if v is None:
        return False
    axis = g.rng.randrange(v.rank)
    keep = g.rng.random() < 0.5
    shape = tuple(ONE if i == axis else d for i, d in enumerate(v.shape) if keep or i != axis)
    g.add(name, [v], "int64", shape, dmax(v.shape[axis]), True, axis=axis - v.rank * g.rng.randint(0, 1),
          keepdims=int(keep), select_last_index=g.rng.randint(0, 1))
    return True


def op_softmax(g):
    name = g.rng.choice(["Softmax", "LogSoftmax", "Softmax", "Hardmax"])
    v = g.pick(lambda v: v.dtype in ("float32", "float64") and v.rank >= 1 and small(v, 50)
               and (name != "Hardmax" or v.exact))
    if v is None:
        return False
    axis = g.rng.randrange(-v.rank, v.rank)
    mag = 1.0 if name != "LogSoftmax" else 2 * v.mag + math.log(max(1, numel_max(v.shape))) + 1
    g.add(name, [v], v.dtype, v.shape, mag, name == "Hardmax", axis=axis)
    return True


def op_cumsum(g):
    v = g.pick(lambda v: v.dtype in ("float32", "float64", "int32", "int64") and v.rank >= 1 and small(v, 100))
    if v is None:
        return False
    axis = g.rng.randrange(-v.rank, v.rank)
    ax = g.const(np.array(axis, dtype=g.rng.choice([np.int32, np.int64])))
    g.add("CumSum", [v, ax], v.dtype, v.shape, v.mag * dmax(v.shape[axis]), v.dtype in INTS,
          exclusive=g.rng.randint(0, 1), reverse=g.rng.randint(0, 1))
    return True


def op_layernorm(g):
    v = g.pick(lambda v: v.dtype == "float32" and v.rank >= 1 and small(v, 100))
    if v is None:
        return False
    axis = g.rng.randrange(v.rank)
    ns = v.shape[axis:]
    scale = g.operand("float32", ns)
    ins = [g.noisy(v), scale]
    if g.rng.random() < 0.6:
        ins.append(g.operand("float32", ns))
    g.add("LayerNormalization", ins, v.dtype, v.shape, 2 * math.sqrt(numel_max(ns)) + 2, False,
          axis=axis - v.rank * g.rng.randint(0, 1), epsilon=g.rng.choice([1e-5, 1e-2]))
    return True


def op_norm_nchw(g):
    name = g.rng.choice(["BatchNormalization", "InstanceNormalization", "MeanVarianceNormalization",
                         "LpNormalization"])
    v = g.pick(lambda v: v.dtype == "float32" and v.rank >= 3 and not v.shape[1][1] and small(v, 100))
    if v is None:
        return False
    c = v.shape[1][0]
    if name in ("InstanceNormalization", "MeanVarianceNormalization"):
        v = g.noisy(v)
    if name == "BatchNormalization":
        mean, var = g.weight("float32", [st(c)]), g.weight("float32", [st(c)], 1.0)
        var = g.positive(var)
        ins = [v, g.weight("float32", [st(c)]), g.weight("float32", [st(c)]), mean, var]
        g.add(name, ins, v.dtype, v.shape, 2 * v.mag / math.sqrt(0.5) + 2, False,
              epsilon=g.rng.choice([1e-5, 1e-3]))
    elif name == "InstanceNormalization":
        ins = [v, g.weight("float32", [st(c)]), g.weight("float32", [st(c)])]
        g.add(name, ins, v.dtype, v.shape, math.sqrt(numel_max(v.shape[2:])) + 2, False, epsilon=1e-3)
    elif name == "MeanVarianceNormalization":
        # over at least 4 elements: the spec's function computes E[x^2] - E[x]^2,
        # which for a constant group is rounding noise (NaN, 0 or +-1 out,
        # by the order of the sums: all right)
        axes = [0] + list(range(2, v.rank))
        cnt = 1
        for a in axes:
            cnt *= v.shape[a][0]  # symbolic dims count at their least, 1 (the coefficient)
        if cnt < 4:
            return False
        g.add(name, [v], v.dtype, v.shape, math.sqrt(numel_max(v.shape)) + 1, False, axes=axes)
    else:
        w = g.positive(v)  # no all-zero row
        g.add(name, [w], v.dtype, v.shape, 1.0, False, axis=g.rng.randrange(-v.rank, v.rank),
              p=g.rng.choice([1, 2]))
    return True


def op_transpose(g):
    v = g.pick(lambda v: v.rank >= 2)
    if v is None:
        return False
    perm = list(range(v.rank))
    g.rng.shuffle(perm)
    attrs = {"perm": perm} if g.rng.random() < 0.85 else {}
    if not attrs:
        perm = list(reversed(range(v.rank)))
    g.add("Transpose", [v], v.dtype, [v.shape[p] for p in perm], v.mag, v.exact, **attrs)
    return True


def factor(n, rng):
    fs = [f for f in range(2, n) if n % f == 0]
    return rng.choice(fs) if fs else None


def op_reshape(g):
    v = g.pick(lambda v: v.rank >= 1)
    if v is None:
        return False
    shape = list(v.shape)
    r = g.rng.random()
    syms = [i for i, d in enumerate(shape) if d[1]]
    if r < 0.3 and len(shape) >= 2:  # merge two adjacent dims
        i = g.rng.randrange(len(shape) - 1)
        new = shape[:i] + [dmul(shape[i], shape[i + 1])] + shape[i + 2:]
    elif r < 0.6:  # split a static dim
        cands = [i for i, d in enumerate(shape) if not d[1] and factor(d[0], g.rng)]
        if not cands:
            return False
        i = g.rng.choice(cands)
        f = factor(shape[i][0], g.rng)
        new = shape[:i] + [st(f), st(shape[i][0] // f)] + shape[i + 1:]
    elif r < 0.75:  # flatten
        n = (1, ())
        for d in shape:
            n = dmul(n, d)
        new = [n]
    else:  # add or drop 1s
        new = [d for d in shape if d != ONE]
        if len(new) < 5:
            new.insert(g.rng.randint(0, len(new)), ONE)
    if len(new) > 5 or any(d[0] == 0 for d in shape):
        return False
    # spell the target: static dims as numbers; a symbolic dim the same as the
    # input's at that position as 0; one other symbolic dim as -1
    tgt, minus = [], False
    for i, d in enumerate(new):
        if not d[1]:
            tgt.append(d[0])
        elif i < len(shape) and shape[i] == d and g.rng.random() < 0.7:
            tgt.append(0)
        elif not minus:
            tgt.append(-1)
            minus = True
        else:
            return False
    if not minus and syms and g.rng.random() < 0.3:
        # a -1 for a static dim is fine too
        st_idx = [i for i, t in enumerate(tgt) if t > 0]
        if st_idx:
            tgt[g.rng.choice(st_idx)] = -1
    g.add("Reshape", [v, g.const(np.array(tgt, dtype=np.int64))], v.dtype, new, v.mag, v.exact)
    return True


def op_flatten(g):
    v = g.pick(lambda v: v.rank >= 1)
    if v is None:
        return False
    axis = g.rng.randint(0, v.rank)
    a, b = (1, ()), (1, ())
    for i, d in enumerate(v.shape):
        if i < axis:
            a = dmul(a, d)
        else:
            b = dmul(b, d)
    g.add("Flatten", [v], v.dtype, [a, b], v.mag, v.exact, axis=axis)
    return True


def op_squeeze(g):
    if g.rng.random() < 0.5:
        v = g.pick(lambda v: ONE in v.shape)
        if v is None:
            return False
        ones = [i for i, d in enumerate(v.shape) if d == ONE]
        axes = sorted(g.rng.sample(ones, g.rng.randint(1, len(ones))))
        shape = [d for i, d in enumerate(v.shape) if i not in axes]
        # without axes every dim that is 1 goes, a symbolic one too when it is
        # 1 at run time: the rank is then unknown; only static values
        ins = [v] + ([g.const(np.array(axes, dtype=np.int64))] if g.rng.random() < 0.9 or not v.static() else [])
        if len(ins) == 1:
            shape = [d for d in v.shape if d != ONE]
        g.add("Squeeze", ins, v.dtype, shape, v.mag, v.exact)
    else:
        v = g.pick(lambda v: v.rank <= 4)
        if v is None:
            return False
        r = v.rank + 1
        ax = g.rng.randrange(r)
        shape = list(v.shape)
        shape.insert(ax, ONE)
        ax = ax - r if g.rng.random() < 0.3 else ax
        g.add("Unsqueeze", [v, g.const(np.array([ax], dtype=np.int64))], v.dtype, shape, v.mag, v.exact)
    return True


def op_concat(g):
    v = g.pick(lambda v: v.rank >= 1 and numel_max(v.shape) <= 2048)
    if v is None:
        return False
    axis = g.rng.randrange(v.rank)
    d = v.shape[axis]
    parts = [v]
    for _ in range(g.rng.randint(1, 3)):
        if d[1]:
            parts.append(g.pick(lambda w: w.dtype == v.dtype and w.shape == v.shape) or v)
        else:
            shape = list(v.shape)
            shape[axis] = st(g.rng.randint(1, 4))
            w = g.pick(lambda w: w.dtype == v.dtype and w.rank == v.rank and all(
                w.shape[i] == v.shape[i] for i in range(v.rank) if i != axis) and not w.shape[axis][1])
            parts.append(w if w is not None and g.rng.random() < 0.5 else g.operand(v.dtype, shape))
    tot = (sum(p.shape[axis][0] for p in parts), d[1])
    shape = list(v.shape)
    shape[axis] = tot
    g.add("Concat", parts, v.dtype, shape, max(p.mag for p in parts), all(p.exact for p in parts),
          axis=axis - v.rank * g.rng.randint(0, 1))
    return True


def op_split(g):
    v = g.pick(lambda v: v.rank >= 1 and any(d[0] >= 2 for d in v.shape))
    if v is None:
        return False
    axes = [i for i, d in enumerate(v.shape) if d[0] >= 2]
    axis = g.rng.choice(axes)
    d = v.shape[axis]
    if d[1] or g.rng.random() < 0.4:
        k = factor(d[0], g.rng) if d[0] > 2 else 2
        k = k or d[0]
        sizes = [(d[0] // k, d[1])] * k
        attrs = {"num_outputs": k}
        ins = [v]
    else:
        n, sizes = d[0], []
        while n > 0:
            s = g.rng.randint(1, n)
            sizes.append(st(s))
            n -= s
        attrs = {}
        ins = [v, g.const(np.array([s[0] for s in sizes], dtype=np.int64))]
    if len(sizes) > 6:
        return False
    outs = []
    for s in sizes:
        shape = list(v.shape)
        shape[axis] = s
        outs.append(Value(g.fresh(), v.dtype, shape, v.mag, v.exact))
    g.node("Split", ins, outs, axis=axis, **attrs)
    g.pool.extend(outs)
    return True


def op_slice(g):
    v = g.pick(lambda v: v.rank >= 1)
    if v is None:
        return False
    k = g.rng.randint(1, v.rank)
    axes = sorted(g.rng.sample(range(v.rank), k))
    starts, ends, steps = [], [], []
    shape = list(v.shape)
    for a in axes:
        d = v.shape[a]
        if d[1]:  # symbolic: the whole axis, forward or reversed
            if g.rng.random() < 0.5:
                starts.append(0), ends.append(2**62), steps.append(1)
            else:
                starts.append(-1), ends.append(-2**62), steps.append(-1)
            continue
        n = d[0]
        step = g.rng.choice([1, 1, 2, -1, 3, -2])
        if step > 0:
            s = g.rng.randint(-n - 1, n)
            e = g.rng.choice([g.rng.randint(-n, n + 2), 2**62])
        else:
            s = g.rng.choice([g.rng.randint(-n, n), 2**62])
            e = g.rng.choice([g.rng.randint(-n - 2, n), -2**62])
        cnt = len(range(*slice(s, e, step).indices(n)))
        if cnt == 0 and g.rng.random() < 0.8:
            return False
        starts.append(s), ends.append(e), steps.append(step)
        shape[a] = st(cnt)
    ins = [v, g.const(np.array(starts, dtype=np.int64)), g.const(np.array(ends, dtype=np.int64))]
    ins.append(g.const(np.array(axes, dtype=np.int64)))
    if any(s != 1 for s in steps) or g.rng.random() < 0.5:
        ins.append(g.const(np.array(steps, dtype=np.int64)))
    g.add("Slice", ins, v.dtype, shape, v.mag, v.exact)
    return True


def op_expand(g):
    v = g.pick(lambda v: v.rank <= 4 and numel_max(v.shape) <= 512)
    if v is None:
        return False
    lead = [st(g.rng.choice([1, 2, 3]))] * g.rng.randint(0, 1)
    tgt, shape = [], []
    for d in lead:
        tgt.append(d[0]), shape.append(d)
    for d in v.shape:
        if d == ONE and g.rng.random() < 0.6:
            n = g.rng.choice([2, 3, 4])
            tgt.append(n), shape.append(st(n))
        else:
            tgt.append(1), shape.append(d)
    if numel_max(shape) > 4096:
        return False
    g.add("Expand", [v, g.const(np.array(tgt, dtype=np.int64))], v.dtype, shape, v.mag, v.exact)
    return True


def op_tile(g):
    v = g.pick(lambda v: v.rank >= 1 and numel_max(v.shape) <= 512)
    if v is None:
        return False
    reps = [g.rng.choice([1, 1, 2, 3]) for _ in v.shape]
    shape = [(d[0] * r, d[1]) for d, r in zip(v.shape, reps)]
    if numel_max(shape) > 4096:
        return False
    g.add("Tile", [v, g.const(np.array(reps, dtype=np.int64))], v.dtype, shape, v.mag, v.exact)
    return True


def op_pad(g):
    v = g.pick(lambda v: v.rank >= 1 and is_num(v) and any(not d[1] for d in v.shape))
    if v is None:
        return False
    mode = g.rng.choice(["constant", "constant", "reflect", "edge", "wrap"])
    axes = [i for i, d in enumerate(v.shape) if not d[1]]
    axes = sorted(g.rng.sample(axes, g.rng.randint(1, len(axes))))
    pads_b, pads_e, shape = [], [], list(v.shape)
    for a in axes:
        n = v.shape[a][0]
        hi = n - 1 if mode == "reflect" else (n if mode == "wrap" else 3)
        lo_neg = -(n - 1) if mode == "constant" else 0
        b, e = g.rng.randint(lo_neg, max(hi, 0)), g.rng.randint(lo_neg, max(hi, 0))
        if mode == "constant" and b + e + n <= 0:
            return False
        pads_b.append(b), pads_e.append(e)
        shape[a] = st(n + b + e)
    ins = [v, g.const(np.array(pads_b + pads_e, dtype=np.int64))]
    if mode == "constant":
        ins.append(g.scalar(g.rng.choice([0, 1, -2]), v.dtype) if v.dtype != "uint8" else g.scalar(3, v.dtype))
    else:
        ins.append("")
    ins.append(g.const(np.array(axes, dtype=np.int64)))
    g.add("Pad", ins, v.dtype, shape, max(v.mag, 3), v.exact, mode=mode)
    return True


def op_gather(g):
    name = g.rng.choice(["Gather", "GatherElements", "Gather"])
    v = g.pick(lambda v: v.rank >= 1 and any(not d[1] for d in v.shape))
    if v is None:
        return False
    axes = [i for i, d in enumerate(v.shape) if not d[1] and d[0] >= 1]
    if not axes:
        return False
    axis = g.rng.choice(axes)
    n = v.shape[axis][0]
    if name == "Gather":
        ishape = [g.rng.randint(1, 4) for _ in range(g.rng.randint(0, 2))]
        idx = np.array([g.rng.randint(-n, n - 1) for _ in range(int(np.prod(ishape)))], dtype=np.int64)
        ind = g.const(idx.reshape(ishape).astype(g.rng.choice([np.int64, np.int32])))
        shape = list(v.shape[:axis]) + [st(x) for x in ishape] + list(v.shape[axis + 1:])
        if len(shape) > 5:
            return False
        g.add("Gather", [v, ind], v.dtype, shape, v.mag, v.exact, axis=axis - v.rank * g.rng.randint(0, 1))
        return True
    if not v.static():
        return False
    ishape = [d[0] for d in v.shape]
    ishape[axis] = g.rng.randint(1, n + 1)
    idx = np.array([g.rng.randint(-n, n - 1) for _ in range(int(np.prod(ishape)))], dtype=np.int64)
    ind = g.const(idx.reshape(ishape))
    g.add("GatherElements", [v, ind], v.dtype, [st(x) for x in ishape], v.mag, v.exact, axis=axis)
    return True


def op_shape(g):
    name = g.rng.choice(["Shape", "Size", "Shape"])
    v = g.pick(lambda v: v.rank >= 1)
    if v is None:
        return False
    big = numel_max(v.shape)
    if name == "Size":
        out = g.add("Size", [v], "int64", [], big, True)
    else:
        out = g.add("Shape", [v], "int64", [st(v.rank)], max(dmax(d) for d in v.shape), True)
    # use it numerically too: as floats into the data path
    if g.rng.random() < 0.5:
        g.add("Cast", [out], "float32", out.shape, out.mag, True, to=TensorProto.FLOAT)
    return True


def op_matmul(g):
    v = g.pick(lambda v: v.dtype in ("float32", "float64") and v.rank >= 1 and not v.shape[-1][1] and small(v, 100))
    if v is None:
        return False
    k = v.shape[-1][0]
    n = g.rng.choice([1, 2, 3, 4, 5, 8, 16])
    if v.rank >= 3 and g.rng.random() < 0.3:
        bshape = list(v.shape[:-2]) + [st(k), st(n)]
    else:
        bshape = [st(k), st(n)]
    b = g.operand(v.dtype, bshape)
    if v.rank == 1:
        shape = bshape[:-2] + [st(n)]
    else:
        shape = list(v.shape[:-1]) + [st(n)]
    g.add("MatMul", [v, b], v.dtype, shape, v.mag * b.mag * k, False)
    return True


def op_gemm(g):
    v = g.pick(lambda v: v.dtype == "float32" and v.rank == 2 and small(v, 100))
    if v is None:
        return False
    ta = g.rng.randint(0, 1)
    m, k = (v.shape[1], v.shape[0]) if ta else (v.shape[0], v.shape[1])
    if k[1]:
        return False
    n = g.rng.choice([1, 3, 4, 7, 16])
    tb = g.rng.randint(0, 1)
    b = g.weight("float32", [st(n), k] if tb else [k, st(n)])
    ins = [v, b]
    if g.rng.random() < 0.7:
        cshape = g.rng.choice([[st(n)], [ONE, st(n)], [m, ONE] if not m[1] else [st(n)], []])
        ins.append(g.operand("float32", cshape))
    alpha, beta = g.rng.choice([1.0, 0.5]), g.rng.choice([1.0, 2.0])
    g.add("Gemm", ins, v.dtype, [m, st(n)], v.mag * k[0] * alpha + beta, False,
          transA=ta, transB=tb, alpha=alpha, beta=beta)
    return True


def spatial_input(g):
    """A float32 NCHW (or NCW) value with static C and spatial dims."""
    v = g.pick(lambda v: v.dtype == "float32" and v.rank in (3, 4) and
               all(not d[1] and d[0] >= 1 for d in v.shape[1:]))
    if v is not None and small(v, 100) and g.rng.random() < 0.7:
        return v
    n = g.rng.choice([st(1), st(2), sym("N")])
    sp = [st(g.rng.randint(3, 9)) for _ in range(g.rng.choice([1, 2, 2]))]
    return g.new_input("float32", [n, st(g.rng.choice([1, 2, 3, 4, 8]))] + sp)


def conv_out(n, k, s, p0, p1, d):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def op_conv(g):
    v = spatial_input(g)
    c = v.shape[1][0]
    sp = [d[0] for d in v.shape[2:]]
    group = g.rng.choice([1, 1, c]) if c > 1 else 1
    m = g.rng.choice([1, 2, 4, 8]) * (group if group > 1 else 1)
    ks = [g.rng.choice([1, 2, 3]) for _ in sp]
    ss = [g.rng.choice([1, 1, 2]) for _ in sp]
    ds = [g.rng.choice([1, 1, 2]) for _ in sp]
    pads = [g.rng.randint(0, k - 1) for k in ks] * 2
    outs = [conv_out(n, k, s, pads[i], pads[i + len(sp)], d) for i, (n, k, s, d) in enumerate(zip(sp, ks, ss, ds))]
    if min(outs) < 1:
        return False
    w = g.weight("float32", [st(m), st(c // group)] + [st(k) for k in ks])
    ins = [v, w] + ([g.weight("float32", [st(m)])] if g.rng.random() < 0.6 else [])
    attrs = dict(kernel_shape=ks, strides=ss, dilations=ds, group=group)
    if g.rng.random() < 0.2:
        attrs["auto_pad"] = g.rng.choice(["SAME_UPPER", "SAME_LOWER"])
        if any(d != 1 for d in ds):
            return False
        outs = [-(-n // s) for n, s in zip(sp, ss)]
    else:
        attrs["pads"] = pads
    k = c // group * int(np.prod(ks))
    g.add("Conv", ins, "float32", [v.shape[0], st(m)] + [st(o) for o in outs], v.mag * k + 1, False, **attrs)
    return True


def op_convt(g):
    v = spatial_input(g)
    c = v.shape[1][0]
    sp = [d[0] for d in v.shape[2:]]
    group = g.rng.choice([1, 1, c]) if c > 1 else 1
    mg = g.rng.choice([1, 2, 3])
    ks = [g.rng.choice([1, 2, 3]) for _ in sp]
    ss = [g.rng.choice([1, 2]) for _ in sp]
    pads = [g.rng.randint(0, k - 1) for k in ks] * 2
    ops = [g.rng.randint(0, s - 1) for s in ss]
    outs = [(n - 1) * s + k - pads[i] - pads[i + len(sp)] + op
            for i, (n, k, s, op) in enumerate(zip(sp, ks, ss, ops))]
    if min(outs) < 1:
        return False
    w = g.weight("float32", [st(c), st(mg)] + [st(k) for k in ks])
    ins = [v, w] + ([g.weight("float32", [st(mg * group)])] if g.rng.random() < 0.5 else [])
    g.add("ConvTranspose", ins, "float32", [v.shape[0], st(mg * group)] + [st(o) for o in outs],
          v.mag * c * int(np.prod(ks)) + 1, False, kernel_shape=ks, strides=ss, pads=pads,
          output_padding=ops, group=group)
    return True


def op_pool(g):
    name = g.rng.choice(["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool"])
    v = spatial_input(g)
    sp = [d[0] for d in v.shape[2:]]
    if name.startswith("Global"):
        g.add(name, [v], "float32", list(v.shape[:2]) + [ONE] * len(sp), v.mag, name == "GlobalMaxPool" and v.exact)
        return True
    ks = [g.rng.randint(1, min(3, n)) for n in sp]
    ss = [g.rng.choice([1, 2]) for _ in sp]
    pads = [g.rng.randint(0, k - 1) for k in ks] * 2
    ceil = g.rng.randint(0, 1) if name != "LpPool" else 0
    outs = []
    for i, (n, k, s) in enumerate(zip(sp, ks, ss)):
        tot = n + pads[i] + pads[i + len(sp)] - k
        o = (-(-tot // s) if ceil else tot // s) + 1
        if ceil and (o - 1) * s >= n + pads[i]:
            o -= 1
        outs.append(o)
    attrs = dict(kernel_shape=ks, strides=ss, pads=pads)
    if name != "LpPool":
        attrs["ceil_mode"] = ceil
    if name == "AveragePool":
        attrs["count_include_pad"] = g.rng.randint(0, 1)
    if name == "LpPool":
        attrs["p"] = g.rng.choice([1, 2])
    mag = v.mag * (int(np.prod(ks)) if name == "LpPool" else 1)
    g.add(name, [v], "float32", list(v.shape[:2]) + [st(o) for o in outs], mag,
          name == "MaxPool" and v.exact, **attrs)
    return True


def op_depth_space(g):
    name = g.rng.choice(["DepthToSpace", "SpaceToDepth"])
    b = 2
    if name == "DepthToSpace":
        v = g.pick(lambda v: v.rank == 4 and not v.shape[1][1] and v.shape[1][0] % 4 == 0
                   and not v.shape[2][1] and not v.shape[3][1])
        if v is None:
            return False
        c, h, w = v.shape[1][0], v.shape[2][0], v.shape[3][0]
        g.add(name, [v], v.dtype, [v.shape[0], st(c // 4), st(h * b), st(w * b)], v.mag, v.exact,
              blocksize=b, mode=g.rng.choice(["DCR", "CRD"]))
    else:
        v = g.pick(lambda v: v.rank == 4 and all(not d[1] for d in v.shape[1:]) and
                   v.shape[2][0] % 2 == 0 and v.shape[3][0] % 2 == 0)
        if v is None:
            return False
        c, h, w = v.shape[1][0], v.shape[2][0], v.shape[3][0]
        g.add(name, [v], v.dtype, [v.shape[0], st(c * 4), st(h // b), st(w // b)], v.mag, v.exact, blocksize=b)
    return True


def op_trilu(g):
    v = g.pick(lambda v: v.rank >= 2 and is_num(v))
    if v is None:
        return False
    ins = [v] + ([g.const(np.array(g.rng.randint(-2, 2), dtype=np.int64))] if g.rng.random() < 0.6 else [])
    g.add("Trilu", ins, v.dtype, v.shape, v.mag, v.exact, upper=g.rng.randint(0, 1))
    return True


def op_einsum(g):
    v = g.pick(lambda v: v.dtype == "float32" and v.rank in (2, 3) and v.static() and small(v, 100))
    if v is None:
        return False
    if v.rank == 2:
        eq, oshape = g.rng.choice([("ij,jk->ik", None), ("ij->ji", None), ("ij,ij->i", None), ("ij->", None)])
    else:
        eq, oshape = g.rng.choice([("bij,bjk->bik", None), ("bij->bji", None), ("bij->b", None)])
    ins_s, out_s = eq.split("->")
    terms = ins_s.split(",")
    size = dict(zip(terms[0], v.shape))
    ops = [v]
    if len(terms) == 2:
        for ch in terms[1]:
            size.setdefault(ch, st(g.rng.choice([1, 2, 3, 5])))
        ops.append(g.operand("float32", [size[ch] for ch in terms[1]]))
    k = 1
    for ch in size:
        if ch not in out_s:
            k *= size[ch][0]
    mag = v.mag * (ops[1].mag if len(ops) == 2 else 1) * k
    g.add("Einsum", ops, "float32", [size[ch] for ch in out_s], mag, False, equation=eq)
    return True


def shape_preserving_chain(g, v, body_nodes, prefix, outer_ok=True):
    """Nodes of a sub-graph computing f(v) with v's shape and dtype; returns the final name."""
    cur = v.name
    for _ in range(g.rng.randint(1, 3)):
        op = g.rng.choice(["Relu", "Neg", "Tanh", "Abs", "Sigmoid", "Add", "Mul"])
        out = g.fresh(prefix)
        if op in ("Add", "Mul"):
            c = g.scalar(g.rng.choice([0.5, -1.0, 2.0]), v.dtype)  # from the outer graph's initializers
            body_nodes.append(helper.make_node(op, [cur, c.name], [out]))
        else:
            body_nodes.append(helper.make_node(op, [cur], [out]))
        g.ops.append(op)
        cur = out
    return cur


def op_if(g):
    v = g.pick(lambda v: v.dtype == "float32" and small(v, 10))
    if v is None:
        return False
    if g.rng.random() < 0.5:
        cond = g.new_input("bool", [])
    else:
        cond = g.const(np.array(g.rng.random() < 0.5))
    branches = []
    for b in ("then", "else"):
        nodes = []
        res = shape_preserving_chain(g, v, nodes, b)
        out = g.fresh(b + "_out")
        nodes.append(helper.make_node("Identity", [res], [out]))
        branches.append(helper.make_graph(nodes, b, [], [helper.make_tensor_value_info(
            out, ONNX_TYPE[v.dtype], [onnx_dim(d) for d in v.shape])]))
    g.used.add(v.name)
    g.add("If", [cond], v.dtype, v.shape, max(v.mag * 2, 2), False,
          then_branch=branches[0], else_branch=branches[1])
    return True


def op_loop(g):
    # a carried value whose dims the body can declare (2*N cannot be written:
    # declared '?', kiln cannot tell the final value's dim; noted for the
    # real-model issue)
    v = g.pick(lambda v: v.dtype == "float32" and small(v, 10) and
               all(not d[1] or onnx_dim(d) is not None for d in v.shape))
    if v is None:
        return False
    trips = g.rng.randint(1, 4)
    m = g.const(np.array(trips, dtype=np.int64))
    nodes = []
    it, cin, vin = g.fresh("iter"), g.fresh("cond"), g.fresh("carry")
    res = shape_preserving_chain(g, Value(vin, v.dtype, v.shape, 1, False), nodes, "body")
    # mix in the loop-invariant outer value (implicit input) and squash
    mixed = g.fresh("body")
    nodes.append(helper.make_node("Add", [res, v.name], [mixed]))
    squashed = g.fresh("body")
    nodes.append(helper.make_node("Tanh", [mixed], [squashed]))
    cout = g.fresh("cond")
    nodes.append(helper.make_node("Identity", [cin], [cout]))
    vshape = [onnx_dim(d) for d in v.shape]
    outs = [helper.make_tensor_value_info(cout, TensorProto.BOOL, []),
            helper.make_tensor_value_info(squashed, ONNX_TYPE[v.dtype], vshape)]
    scan = g.rng.random() < 0.4
    if scan:
        so = g.fresh("scan")
        nodes.append(helper.make_node("Identity", [squashed], [so]))
        outs.append(helper.make_tensor_value_info(so, ONNX_TYPE[v.dtype], vshape))
    body = helper.make_graph(nodes, "body", [
        helper.make_tensor_value_info(it, TensorProto.INT64, []),
        helper.make_tensor_value_info(cin, TensorProto.BOOL, []),
        helper.make_tensor_value_info(vin, ONNX_TYPE[v.dtype], vshape)], outs)
    g.used.add(v.name)
    final = Value(g.fresh(), v.dtype, v.shape, 1, False)
    res_vals = [final]
    if scan:
        res_vals.append(Value(g.fresh(), v.dtype, [st(trips)] + list(v.shape), 1, False))
    g.node("Loop", [m, "", v], res_vals, body=body)
    g.pool.extend(res_vals)
    return True



def op_resize(g):
    v = g.pick(lambda v: v.dtype == "float32" and v.rank == 4 and all(not d[1] and d[0] >= 1 for d in v.shape[2:]))
    if v is None:
        return False
    mode = g.rng.choice(["nearest", "linear", "cubic"])
    h, w = v.shape[2][0], v.shape[3][0]
    sc = [g.rng.choice([0.5, 1.0, 2.0, 3.0]) for _ in range(2)]
    oh, ow = int(math.floor(h * sc[0])), int(math.floor(w * sc[1]))
    if oh < 1 or ow < 1 or numel_max(v.shape) * sc[0] * sc[1] > 8192:
        return False
    attrs = {"mode": mode}
    ctm = g.rng.choice(["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"])
    attrs["coordinate_transformation_mode"] = ctm
    if mode == "nearest":
        attrs["nearest_mode"] = g.rng.choice(["round_prefer_floor", "floor", "ceil"])
        if not v.exact:
            return False  # a rounded coordinate on a tie picks another pixel
    if mode == "cubic":
        attrs["cubic_coeff_a"] = -0.75
    use_sizes = g.rng.random() < 0.5
    if use_sizes:
        ins = [v, "", "", g.const(np.array([oh, ow], dtype=np.int64))]
        attrs["axes"] = [2, 3]
    else:
        ins = [v, "", g.const(np.array([1, 1] + sc, dtype=np.float32))]
    g.add("Resize", ins, v.dtype, list(v.shape[:2]) + [st(oh), st(ow)], v.mag * 1.5,
          mode == "nearest" and v.exact, **attrs)
    return True


def op_topk(g):
    v = g.pick(lambda v: v.dtype in ("float32", "int32", "int64") and v.rank >= 1 and v.exact
               and not v.shape[-1][1] and v.shape[-1][0] >= 1)
    if v is None:
        return False
    axis = g.rng.choice([-1, v.rank - 1])
    n = v.shape[-1][0]
    k = g.rng.randint(1, n)
    vals = Value(g.fresh(), v.dtype, list(v.shape[:-1]) + [st(k)], v.mag, True)
    idx = Value(g.fresh(), "int64", list(v.shape[:-1]) + [st(k)], n, True)
    g.node("TopK", [v, g.const(np.array([k], dtype=np.int64))], [vals, idx], axis=axis,
           largest=g.rng.randint(0, 1), sorted=1)
    g.pool.extend([vals, idx])
    return True


def op_scatter(g):
    name = g.rng.choice(["ScatterElements", "ScatterND", "GatherND"])
    v = g.pick(lambda v: v.rank >= 1 and v.static() and all(d[0] >= 1 for d in v.shape) and numel_max(v.shape) <= 512)
    if v is None:
        return False
    dims = [d[0] for d in v.shape]
    if name == "ScatterElements":
        axis = g.rng.randrange(v.rank)
        ishape = [g.rng.randint(1, d) for d in dims]
        # distinct positions along axis per line, so no two updates collide
        idx = np.zeros(ishape, dtype=np.int64)
        for pos in np.ndindex(*[s for i, s in enumerate(ishape) if i != axis]):
            perm = g.rng.sample(range(dims[axis]), ishape[axis])
            for j, p in enumerate(perm):
                full = list(pos)
                full.insert(axis, j)
                idx[tuple(full)] = p - (dims[axis] if g.rng.random() < 0.3 else 0)
        upd = g.operand(v.dtype, [st(x) for x in ishape])
        red = g.rng.choice(["none", "none", "add", "max"]) if v.dtype != "bool" else "none"
        g.add(name, [v, g.const(idx), upd], v.dtype, v.shape, v.mag + upd.mag if red == "add" else max(v.mag, upd.mag),
              v.exact and upd.exact and red != "add", axis=axis, reduction=red)
        return True
    k = g.rng.randint(1, v.rank)
    m = g.rng.randint(1, 3)
    if name == "GatherND":
        idx = np.array([[g.rng.randrange(dims[j]) for j in range(k)] for _ in range(m)], dtype=np.int64)
        shape = [st(m)] + list(v.shape[k:])
        g.add(name, [v, g.const(idx)], v.dtype, shape, v.mag, v.exact)
        return True
    cells = list(np.ndindex(*dims[:k]))
    if len(cells) < m:
        return False
    idx = np.array(g.rng.sample(cells, m), dtype=np.int64).reshape(m, k)
    upd = g.operand(v.dtype, [st(m)] + list(v.shape[k:]))
    g.add(name, [v, g.const(idx), upd], v.dtype, v.shape, max(v.mag, upd.mag), v.exact and upd.exact)
    return True


def op_onehot(g):
    v = g.pick(lambda v: v.dtype in ("int32", "int64") and v.rank <= 3 and numel_max(v.shape) <= 512)
    if v is None:
        return False
    depth = g.rng.randint(2, 9)
    axis = g.rng.randint(-1, v.rank)
    vals = g.const(np.array([g.rng.choice([0.0, -1.0]), g.rng.choice([1.0, 3.0])], dtype=np.float32))
    shape = list(v.shape)
    shape.insert(axis if axis >= 0 else v.rank + 1 + axis, st(depth))
    g.add("OneHot", [v, g.const(np.array(depth, dtype=np.int64)), vals], "float32", shape, 3, True, axis=axis)
    return True


def op_range_fill(g):
    name = g.rng.choice(["Range", "ConstantOfShape", "EyeLike"])
    if name == "Range":
        dt = g.rng.choice(["float32", "int64", "int32"])
        start, delta = g.rng.randint(-4, 4), g.rng.choice([1, 2, -1, 3])
        n = g.rng.randint(1, 12)
        limit = start + delta * n
        ins = [g.scalar(start, dt), g.scalar(limit, dt), g.scalar(delta, dt)]
        g.add("Range", ins, dt, [st(n)], abs(start) + abs(delta) * n, True)
        return True
    if name == "EyeLike":
        v = g.pick(lambda v: v.rank == 2 and v.static())
        if v is None:
            return False
        g.add("EyeLike", [v], v.dtype, v.shape, 1, True, k=g.rng.randint(-1, 1))
        return True
    v = g.pick(lambda v: v.rank >= 1 and numel_max(v.shape) <= 1024)
    if v is None:
        return False
    sh = g.add("Shape", [v], "int64", [st(v.rank)], max(dmax(d) for d in v.shape), True)
    val = helper.make_tensor("value", TensorProto.FLOAT, [1], [g.rng.choice([0.5, -2.0, 1.0])])
    g.add("ConstantOfShape", [sh], "float32", v.shape, 2.0, True, value=val)
    return True


def op_expand_shape(g):
    """Expand to a shape computed from another value's Shape (symbolic dims at run time)."""
    v = g.pick(lambda v: v.rank >= 1 and any(d[1] for d in v.shape) and numel_max(v.shape) <= 2048)
    if v is None:
        return False
    src = g.pick(lambda w: w is not v and w.dtype in FLOATS and w.rank <= v.rank and
                 bcast(w.shape, v.shape) == v.shape) or g.operand("float32", broadcast_shape_for(g, v.shape))
    if bcast(src.shape, v.shape) != v.shape:
        return False
    sh = g.add("Shape", [v], "int64", [st(v.rank)], max(dmax(d) for d in v.shape), True, pool=False)
    g.add("Expand", [src, sh], src.dtype, v.shape, src.mag, src.exact)
    return True


def op_groupnorm(g):
    v = g.pick(lambda v: v.dtype == "float32" and v.rank >= 3 and not v.shape[1][1] and v.shape[1][0] >= 2
               and small(v, 100) and numel_max(v.shape[2:]) >= 2)
    if v is None:
        return False
    c = v.shape[1][0]
    gs = [x for x in range(1, c + 1) if c % x == 0]
    ng = g.rng.choice(gs)
    if c // ng * numel_max(v.shape[2:]) < 4:
        return False
    ins = [g.noisy(v), g.weight("float32", [st(c)]), g.weight("float32", [st(c)])]
    g.add("GroupNormalization", ins, v.dtype, v.shape, math.sqrt(numel_max(v.shape[1:])) + 2, False,
          num_groups=ng, epsilon=1e-3)
    return True


def op_misc(g):
    name = g.rng.choice(["Identity", "Dropout", "Shrink", "Mod", "ReverseSequence", "LRN", "GlobalLpPool",
                         "Compress"])
    if name in ("Identity", "Dropout"):
        v = g.pick(lambda v: True)
        if v is None:
            return False
        g.add(name, [v], v.dtype, v.shape, v.mag, v.exact)
        return True
    if name == "Shrink":
        v = g.pick(lambda v: is_float(v) and v.exact)
        if v is None:
            return False
        g.add(name, [v], v.dtype, v.shape, v.mag + 1, True, lambd=g.rng.choice([0.5, 0.25]),
              bias=g.rng.choice([0.0, 0.5]))
        return True
    if name == "Mod":
        v = g.pick(lambda v: v.dtype in ("float32", "float64") and v.exact)
        if v is None:
            return False
        w = g.positive(partner(g, v))
        out = bcast(v.shape, w.shape)
        if out is None or not w.exact:
            return False
        g.add("Mod", [v, w], v.dtype, out, w.mag, False, fmod=1)
        return True
    if name == "ReverseSequence":
        v = g.pick(lambda v: v.rank >= 2 and not v.shape[0][1] and not v.shape[1][1] and v.shape[1][0] >= 1)
        if v is None:
            return False
        ba = g.rng.randint(0, 1)
        ta = 1 - ba
        b, t = v.shape[ba][0], v.shape[ta][0]
        lens = g.const(np.array([g.rng.randint(1, t) for _ in range(b)], dtype=np.int64))
        g.add(name, [v, lens], v.dtype, v.shape, v.mag, v.exact, batch_axis=ba, time_axis=ta)
        return True
    if name == "LRN":
        v = g.pick(lambda v: v.dtype == "float32" and v.rank == 4 and not v.shape[1][1] and small(v, 10))
        if v is None:
            return False
        g.add(name, [v], v.dtype, v.shape, v.mag, False, size=g.rng.choice([1, 3, 5]), alpha=1e-2, beta=0.75, bias=1.0)
        return True
    if name == "GlobalLpPool":
        v = spatial_input(g)
        g.add(name, [v], "float32", list(v.shape[:2]) + [ONE] * (v.rank - 2), v.mag * numel_max(v.shape[2:]), False,
              p=g.rng.choice([1, 2]))
        return True
    v = g.pick(lambda v: v.rank >= 1 and any(not d[1] and d[0] >= 1 for d in v.shape))
    if v is None:
        return False
    axes = [i for i, d in enumerate(v.shape) if not d[1] and d[0] >= 1]
    axis = g.rng.choice(axes)
    n = v.shape[axis][0]
    cond = np.array([g.rng.random() < 0.6 for _ in range(n)])
    if not cond.any():
        cond[0] = True
    shape = list(v.shape)
    shape[axis] = st(int(cond.sum()))
    g.add("Compress", [v, g.const(cond)], v.dtype, shape, v.mag, v.exact, axis=axis)
    return True


def op_rnn(g):
    name = g.rng.choice(["LSTM", "GRU", "RNN"])
    v = g.pick(lambda v: v.dtype == "float32" and v.rank == 3 and not v.shape[2][1] and not v.shape[0][1]
               and small(v, 10) and v.shape[0][0] >= 1)
    if v is None:
        v = g.new_input("float32", [st(g.rng.randint(1, 5)), g.rng.choice([st(1), st(2), sym("N")]),
                                    st(g.rng.randint(1, 6))])
    seq, batch, inp = v.shape
    hid = g.rng.randint(1, 6)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[name]
    dirs = g.rng.choice(["forward", "reverse", "bidirectional"])
    nd = 2 if dirs == "bidirectional" else 1
    w = g.weight("float32", [st(nd), st(gates * hid), inp], 0.5)
    r = g.weight("float32", [st(nd), st(gates * hid), st(hid)], 0.5)
    ins = [v, w, r]
    if g.rng.random() < 0.6:
        ins.append(g.weight("float32", [st(nd), st(2 * gates * hid)], 0.5))
    attrs = dict(hidden_size=hid, direction=dirs)
    if name == "GRU":
        attrs["linear_before_reset"] = g.rng.randint(0, 1)
    y = Value(g.fresh(), "float32", [seq, st(nd), batch, st(hid)], 2, False)
    yh = Value(g.fresh(), "float32", [st(nd), batch, st(hid)], 2, False)
    outs = [y, yh]
    if name == "LSTM" and g.rng.random() < 0.5:
        outs.append(Value(g.fresh(), "float32", [st(nd), batch, st(hid)], 20, False))
    g.node(name, ins, outs, **attrs)
    g.pool.extend(outs)
    return True


def op_gridsample(g):
    v = g.pick(lambda v: v.dtype == "float32" and v.rank == 4 and v.static() and small(v, 100))
    if v is None:
        return False
    n = v.shape[0][0]
    oh, ow = g.rng.randint(1, 4), g.rng.randint(1, 4)
    grid = g.weight("float32", [st(n), st(oh), st(ow), st(2)], 1.1)
    mode = g.rng.choice(["linear", "nearest", "cubic"])
    g.add("GridSample", [v, grid], "float32", [v.shape[0], v.shape[1], st(oh), st(ow)], v.mag * 2, False,
          mode=mode, padding_mode=g.rng.choice(["zeros", "border", "reflection"]),
          align_corners=g.rng.randint(0, 1))
    return True


# (generator, weight)
OPS = [
    (op_unary, 14), (op_unary_int, 2), (op_discont, 3), (op_domain, 3), (op_binary, 14),
    (op_binary_int, 4), (op_compare, 3), (op_logic, 2), (op_isx, 1), (op_where, 3), (op_variadic, 2),
    (op_clip, 2), (op_cast, 4), (op_reduce, 5), (op_argmax, 2), (op_softmax, 3), (op_cumsum, 1),
    (op_layernorm, 2), (op_norm_nchw, 2), (op_transpose, 4), (op_reshape, 5), (op_flatten, 1),
    (op_squeeze, 2), (op_concat, 3), (op_split, 2), (op_slice, 4), (op_expand, 2), (op_tile, 2),
    (op_pad, 2), (op_gather, 3), (op_shape, 1), (op_matmul, 5), (op_gemm, 2), (op_conv, 4),
    (op_convt, 1), (op_pool, 3), (op_depth_space, 1), (op_trilu, 1), (op_einsum, 1),
    (op_if, 1), (op_loop, 1), (op_resize, 1), (op_topk, 1), (op_scatter, 2), (op_onehot, 1),
    (op_range_fill, 1), (op_expand_shape, 2), (op_groupnorm, 1), (op_misc, 3), (op_rnn, 1),
    (op_gridsample, 1),
]


def initial_inputs(g):
    symbolic = g.rng.random() < 0.5
    for _ in range(g.rng.randint(1, 2)):
        r = g.rng.choice([1, 2, 2, 3, 3, 4])
        shape = [st(g.rng.choice([1, 2, 3, 4, 5, 6, 8])) for _ in range(r)]
        if symbolic:
            shape[0] = sym("N")
            if r >= 3 and g.rng.random() < 0.3:
                shape[1] = sym("S")
        dtype = g.rng.choices(["float32", "float16", "float64", "int32", "int64", "uint8", "bool"],
                              [70, 5, 5, 6, 6, 3, 5])[0]
        g.pool.append(g.new_input(dtype, shape, g.rng.choice([1.0, 1.0, 0.5])))
    if g.rng.random() < 0.3:
        g.pool.append(g.new_input("float32", [st(g.rng.choice([1, 3, 8]))]))


def generate(seed, n_ops=None):
    """A Graph with its nodes, and the list of output Values."""
    g = Graph(seed)
    initial_inputs(g)
    n_ops = n_ops or (g.rng.randint(2, 14) if g.rng.random() < 0.8 else g.rng.randint(15, 32))
    gens, weights = zip(*OPS)
    tries = 0
    while len([o for o in g.ops]) < n_ops and tries < n_ops * 20:
        tries += 1
        try:
            added = g.rng.choices(gens, weights)[0](g)
        except Skip:
            added = False
        if added:
            if numel_max(g.pool[-1].shape) > 8192:
                break
    return g, g.outputs()
