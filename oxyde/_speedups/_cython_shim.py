"""A stand-in for the ``cython`` module, so the speedup sources run where Cython is absent.

The modules in ``oxyde/_speedups/`` are written in Cython's pure-Python mode: their
``cython.*`` decorators, types and helpers mean something to the Cython compiler and
nothing at run time. Cython is a build dependency only, so an installed oxyde that runs the
pure-Python implementation may not have it; those modules then import this module as
``cython`` instead.

Only what the speedup sources use needs to be here. ``tests/speedups`` checks that every
``cython.<name>`` they mention exists in this module, and imports them with Cython hidden,
so a name missing here fails a test rather than a user's import.
"""

from __future__ import annotations

import builtins
import dataclasses as _std_dataclasses
from collections.abc import Callable
from types import SimpleNamespace, TracebackType
from typing import Any, Final, TypeVar

_T = TypeVar("_T")

#: Tells a module whether it runs as a compiled extension. Here it never does.
compiled: Final = False


class _NoOp:
    """A decorator that returns what it decorates, and a context manager that does nothing.

    Cython reads ``@cython.cfunc``, ``with cython.nogil:`` and friends at compile time; at
    run time they must stay out of the way.
    """

    __slots__ = ()

    def __call__(self, target: _T) -> _T:
        return target

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


_NOOP: Final = _NoOp()


def _directive(*_args: object, **_kwargs: object) -> _NoOp:
    """A compiler directive that takes arguments: ``@cython.boundscheck(False)``."""
    return _NOOP


# Decorators used bare (``@cython.cfunc``) or as context managers (``with cython.nogil:``).
cfunc: Final = _NOOP
ccall: Final = _NOOP
cclass: Final = _NOOP
inline: Final = _NOOP
final: Final = _NOOP
internal: Final = _NOOP
no_gc: Final = _NOOP
no_gc_clear: Final = _NOOP
total_ordering: Final = _NOOP
ufunc: Final = _NOOP
nogil: Final = _NOOP
gil: Final = _NOOP
with_gil: Final = _NOOP

# Directives that take a value: ``@cython.boundscheck(False)``, ``@cython.returns(int)``.
locals = _directive
returns = _directive
exceptval = _directive
boundscheck = _directive
wraparound = _directive
initializedcheck = _directive
nonecheck = _directive
cdivision = _directive
cdivision_warnings = _directive
overflowcheck = _directive
infer_types = _directive
annotation_typing = _directive
profile = _directive
linetrace = _directive
binding = _directive
embedsignature = _directive
always_allow_keywords = _directive
freelist = _directive
auto_pickle = _directive
optimize = SimpleNamespace(use_switch=_directive, unpack_method_calls=_directive)

# ``@cython.dataclasses.dataclass`` compiles to an extension type with dataclass behaviour;
# the standard library gives the same behaviour at run time.
dataclasses = SimpleNamespace(
    dataclass=_std_dataclasses.dataclass,
    field=_std_dataclasses.field,
    fields=_std_dataclasses.fields,
)


class _CType:
    """A C type name usable in annotations, ``declare`` and ``cast`` (``cython.Py_ssize_t``).

    Calling it converts a value the way the C type would accept it from Python.
    """

    __slots__ = ("name", "pytype")

    def __init__(self, name: str, pytype: Callable[..., Any]) -> None:
        self.name = name
        self.pytype = pytype

    def __call__(self, *value: Any) -> Any:
        return self.pytype(*value)

    def __repr__(self) -> str:
        return f"cython.{self.name}"


def _int_type(name: str) -> _CType:
    return _CType(name, builtins.int)


def _float_type(name: str) -> _CType:
    return _CType(name, builtins.float)


# ``cython.int`` and friends shadow builtins on purpose: these are Cython's names.
char = _int_type("char")
schar = _int_type("schar")
uchar = _int_type("uchar")
short = _int_type("short")
ushort = _int_type("ushort")
int = _int_type("int")
uint = _int_type("uint")
long = _int_type("long")
ulong = _int_type("ulong")
longlong = _int_type("longlong")
ulonglong = _int_type("ulonglong")
Py_ssize_t = _int_type("Py_ssize_t")
Py_hash_t = _int_type("Py_hash_t")
ssize_t = _int_type("ssize_t")
size_t = _int_type("size_t")
Py_UCS4 = _int_type("Py_UCS4")
# only compiled code dereferences a pointer; pure, the name need only exist
p_uchar = _CType("p_uchar", builtins.bytes)
float = _float_type("float")
double = _float_type("double")
longdouble = _float_type("longdouble")
bint = _CType("bint", builtins.bool)
void = _CType("void", lambda *_: None)
NULL: Final = None

# Python types Cython can type-check exactly when they are spelled through ``cython``.
py_int = _CType("py_int", builtins.int)
py_float = _CType("py_float", builtins.float)
py_bool = _CType("py_bool", builtins.bool)
unicode = _CType("unicode", builtins.str)


_UNSET: Final = object()


def declare(type_: object = None, value: Any = _UNSET, **_kwargs: object) -> Any:
    """``x = cython.declare(cython.int, 0)``: the value, or a C type's zero value."""
    if value is not _UNSET:
        return value
    if isinstance(type_, _CType):
        return type_()
    return None


def cast(type_: object, value: Any, *, typecheck: builtins.bool = False) -> Any:
    """``cython.cast(T, v)``: a C type converts the value; a Python class is unchecked."""
    if isinstance(type_, _CType):
        return type_(value)
    if typecheck and isinstance(type_, builtins.type) and not isinstance(value, type_):
        raise TypeError(f"cannot cast {type(value).__name__} to {type_.__name__}")
    return value


def typeof(value: object) -> str:
    return builtins.type(value).__name__


def sizeof(value: object) -> builtins.int:
    # No C layout exists in pure Python; a positive number keeps arithmetic meaningful.
    return 1


def address(value: _T) -> _T:
    return value


def likely(condition: _T) -> _T:
    return condition


def unlikely(condition: _T) -> _T:
    return condition


def cdiv(a: builtins.int, b: builtins.int) -> builtins.int:
    """C division: truncates toward zero, unlike ``//``."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def cmod(a: builtins.int, b: builtins.int) -> builtins.int:
    """C remainder: takes the sign of the dividend, unlike ``%``."""
    return a - cdiv(a, b) * b


def fused_type(*_types: object) -> object:
    return object


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"cython.{name} is not provided by oxyde._speedups._cython_shim; a speedup module "
        "that uses it must get it added there so the pure-Python implementation runs "
        "without Cython installed"
    )
