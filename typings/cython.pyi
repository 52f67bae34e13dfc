"""What type checkers see for ``import cython`` in ``oxyde/_speedups``.

Cython's pure-Python-mode module ships no type information, and is not even installed
where oxyde runs without it (``oxyde._speedups._cython_shim`` stands in at run time). Here
its C types are aliases of the Python types their values have in pure Python, and its
decorators are identity functions, which is what both are when the code is not compiled.
Keep the names in step with the shim; a test compares them.
"""

import builtins
import dataclasses as _std_dataclasses
from types import TracebackType
from typing import Any, Final, TypeAlias, TypeVar

_T = TypeVar("_T")

compiled: Final[builtins.bool]

class _NoOp:
    def __call__(self, target: _T) -> _T: ...
    def __enter__(self) -> None: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

cfunc: Final[_NoOp]
ccall: Final[_NoOp]
cclass: Final[_NoOp]
inline: Final[_NoOp]
final: Final[_NoOp]
internal: Final[_NoOp]
no_gc: Final[_NoOp]
no_gc_clear: Final[_NoOp]
total_ordering: Final[_NoOp]
ufunc: Final[_NoOp]
nogil: Final[_NoOp]
gil: Final[_NoOp]
with_gil: Final[_NoOp]

def locals(**types: object) -> _NoOp: ...
def returns(type_: object, /) -> _NoOp: ...
def exceptval(value: object = ..., *, check: builtins.bool = ...) -> _NoOp: ...
def boundscheck(flag: builtins.bool, /) -> _NoOp: ...
def wraparound(flag: builtins.bool, /) -> _NoOp: ...
def initializedcheck(flag: builtins.bool, /) -> _NoOp: ...
def nonecheck(flag: builtins.bool, /) -> _NoOp: ...
def cdivision(flag: builtins.bool, /) -> _NoOp: ...
def cdivision_warnings(flag: builtins.bool, /) -> _NoOp: ...
def overflowcheck(flag: builtins.bool, /) -> _NoOp: ...
def infer_types(flag: builtins.bool | None, /) -> _NoOp: ...
def annotation_typing(flag: builtins.bool, /) -> _NoOp: ...
def profile(flag: builtins.bool, /) -> _NoOp: ...
def linetrace(flag: builtins.bool, /) -> _NoOp: ...
def binding(flag: builtins.bool, /) -> _NoOp: ...
def embedsignature(flag: builtins.bool, /) -> _NoOp: ...
def always_allow_keywords(flag: builtins.bool, /) -> _NoOp: ...
def freelist(size: builtins.int, /) -> _NoOp: ...
def auto_pickle(flag: builtins.bool, /) -> _NoOp: ...

class _Optimize:
    def use_switch(self, flag: builtins.bool, /) -> _NoOp: ...
    def unpack_method_calls(self, flag: builtins.bool, /) -> _NoOp: ...

optimize: _Optimize

class _Dataclasses:
    dataclass = staticmethod(_std_dataclasses.dataclass)
    field = staticmethod(_std_dataclasses.field)
    fields = staticmethod(_std_dataclasses.fields)

dataclasses: _Dataclasses

# C types, as the Python types their values have when not compiled.
char: TypeAlias = builtins.int
schar: TypeAlias = builtins.int
uchar: TypeAlias = builtins.int
short: TypeAlias = builtins.int
ushort: TypeAlias = builtins.int
int: TypeAlias = builtins.int
uint: TypeAlias = builtins.int
long: TypeAlias = builtins.int
ulong: TypeAlias = builtins.int
longlong: TypeAlias = builtins.int
ulonglong: TypeAlias = builtins.int
Py_ssize_t: TypeAlias = builtins.int
Py_hash_t: TypeAlias = builtins.int
ssize_t: TypeAlias = builtins.int
size_t: TypeAlias = builtins.int
Py_UCS4: TypeAlias = builtins.int | builtins.str
# a pointer to bytes: indexing it gives their values
p_uchar: TypeAlias = builtins.bytes
float: TypeAlias = builtins.float
double: TypeAlias = builtins.float
longdouble: TypeAlias = builtins.float
bint: TypeAlias = builtins.bool
void: TypeAlias = None
NULL: Final[None]
py_int: TypeAlias = builtins.int
py_float: TypeAlias = builtins.float
py_bool: TypeAlias = builtins.bool
unicode: TypeAlias = builtins.str

def declare(type_: type[_T] | None = ..., value: Any = ..., **kwargs: object) -> Any: ...
def cast(type_: type[_T], value: object, *, typecheck: builtins.bool = ...) -> _T: ...
def typeof(value: object) -> builtins.str: ...
def sizeof(value: object) -> builtins.int: ...
def address(value: _T) -> _T: ...
def likely(condition: _T) -> _T: ...
def unlikely(condition: _T) -> _T: ...
def cdiv(a: builtins.int, b: builtins.int) -> builtins.int: ...
def cmod(a: builtins.int, b: builtins.int) -> builtins.int: ...
def fused_type(*types: object) -> Any: ...
