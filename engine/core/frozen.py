"""Frozen dataclasses that are cheap to declare and to build: `record`.

A `@dataclass(frozen=True, slots=True)` compiles six methods from source when its class is
declared (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`): about
4 M instructions a class on Python 3.11, nearly all of it in the parser. `bre serve` declares
some ninety such classes before its first answer, which was a quarter of its start-up.

`record` declares the same class (the same fields, `__init__` signature, equality, hash, repr,
ordering, frozenness, `__slots__`, pickling and `__match_args__`; `dataclasses.fields`,
`replace` and `asdict` work as on any dataclass) but compiles only its `__init__`; the other
methods are closures over the fields' names. Its `__init__` sets each slot through the slot's
own descriptor, which is also what the records built on every transition need:
a frozen dataclass's generated `__init__` looks `object.__setattr__` up per field (a 10-field
`Job` cost about six times what a mutable one does).
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError, fields, is_dataclass
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

C = TypeVar("C", bound=type)
T = TypeVar("T")


class _Factory:
    """Stands for a field with a default factory that was not given (shown as `<factory>` in
    the signature, as the generated `__init__` shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_NOTHING: Any = _Factory()


def _init_source(
    cls: type, names: dict[str, Any], *, slots: bool, post_init: bool
) -> tuple[str, dict[str, Any]]:
    """The source of an `__init__` with the generated one's signature and assignments, and its
    annotations; `names` receives what the source refers to."""
    self = "__dataclass_self__" if any(f.name == "self" for f in fields(cls)) else "self"
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    annotations: dict[str, Any] = {}
    for f in fields(cls):
        if slots:
            names[f"_set_{f.name}"] = vars(cls)[f.name].__set__
            assign = f"_set_{f.name}({self}, {{}})"
        else:
            assign = f"_object_setattr({self}, {f.name!r}, {{}})"
        value = f.name
        if f.default is not MISSING:
            names[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
            if not f.init:
                if not slots:
                    continue  # read from the class, as the generated `__init__` leaves it
                value = f"_default_{f.name}"
        elif f.default_factory is not MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            param = f"{f.name}=_NOTHING"
            if f.init:
                body.append(f"    if {f.name} is _NOTHING: {f.name} = _factory_{f.name}()")
            else:
                value = f"_factory_{f.name}()"
        else:
            param = f.name
            if not f.init:
                continue  # set by __post_init__, if at all
        if f.init:
            (keyword if f.kw_only else positional).append(param)
            annotations[f.name] = f.type
        body.append("    " + assign.format(value))
    if post_init:
        body.append(f"    {self}.__post_init__()")
    params = [self, *positional] + (["*", *keyword] if keyword else [])
    annotations["return"] = None
    return f"def __init__({', '.join(params)}):\n" + "\n".join(body or ["    pass"]), annotations


def _make_init(cls: type, *, slots: bool) -> Callable[..., None]:
    for f in getattr(cls, "__dataclass_fields__", {}).values():
        if f._field_type is dataclasses._FIELD_INITVAR:  # type: ignore[attr-defined]
            raise TypeError(f"{cls.__name__}.{f.name}: InitVar is not supported")
    names: dict[str, Any] = {"_NOTHING": _NOTHING, "_object_setattr": object.__setattr__}
    post_init = hasattr(cls, "__post_init__")
    source, annotations = _init_source(cls, names, slots=slots, post_init=post_init)
    exec(source, names)  # built from the declaration, never from input
    init: Callable[..., None] = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = annotations
    return init


# ---------------------------------------------------------------------------- record


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of an object's attributes `names` (what the generated methods compare)."""
    if len(names) > 1:
        return attrgetter(*names)
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


def _eq(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _order(values: Callable[[Any], tuple[Any, ...]], op: str) -> Callable[[Any, Any], Any]:
    compare: Callable[[Any, Any], bool] = getattr(tuple, op)

    def method(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compare(values(self), values(other))
        return NotImplemented

    method.__name__ = op
    return method


def _hash(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in names])
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _frozen(
    cls: type[Any], names: tuple[str, ...]
) -> tuple[Callable[..., None], Callable[..., None]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(fields(self), state, strict=False):
        object.__setattr__(self, f.name, value)


def _declare(cls: C, *, order: bool, slots: bool) -> C:
    own = dict(vars(cls))  # methods the class writes itself win, as with @dataclass
    documented = bool(own.get("__doc__"))
    for base in cls.__mro__[1:]:
        if is_dataclass(base):
            raise TypeError(f"{cls.__name__}: a record does not inherit from a dataclass")
    if not documented:
        cls.__doc__ = "-"  # made below, once the class has its `__init__`
    made: type = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots)
    every = fields(made)
    compared = tuple(f.name for f in every if f.compare)
    hashed = tuple(f.name for f in every if (f.compare if f.hash is None else f.hash))
    shown = tuple(f.name for f in every if f.repr)
    setattr_, delattr_ = _frozen(made, tuple(f.name for f in every))
    methods: dict[str, Callable[..., Any]] = {
        "__init__": _make_init(made, slots=slots),
        "__repr__": _repr(shown),
        "__eq__": _eq(_values(compared)),
        "__setattr__": setattr_,
        "__delattr__": delattr_,
    }
    if order:
        for op in ("__lt__", "__le__", "__gt__", "__ge__"):
            if op in own:
                raise TypeError(f"Cannot overwrite attribute {op} in class {cls.__name__}")
            methods[op] = _order(_values(compared), op)
    if slots:
        methods["__getstate__"] = _getstate
        methods["__setstate__"] = _setstate
    explicit_hash = own.get("__hash__", MISSING)
    if explicit_hash is MISSING or (explicit_hash is None and "__eq__" in own):
        own.pop("__hash__", None)  # None, set by Python for a class that writes its own __eq__
        methods["__hash__"] = _hash(_values(hashed))
    for name, method in methods.items():
        if name in ("__setattr__", "__delattr__") and name in own:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        if name not in own:
            if method not in (_getstate, _setstate):
                method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(made, name, method)
    # what `dataclasses` says of the class (`__dataclass_params__`) as if it had made these
    # methods: set on its own object (a new one would need its constructor, which every
    # Python version extends)
    params = made.__dataclass_params__  # type: ignore[attr-defined]
    params.init = params.repr = params.eq = params.frozen = True
    params.order = order
    if not documented:  # the generated class's own: its name and signature
        import inspect

        made.__doc__ = made.__name__ + str(inspect.signature(made)).replace(" -> None", "")
    return made  # type: ignore[return-value]


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(*, order: bool = False, slots: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(
    cls: type[T] | None = None, /, *, order: bool = False, slots: bool = True
) -> type[T] | Callable[[type[T]], type[T]]:
    """`@dataclass(frozen=True, slots=True)` (and `order=True` when asked; `slots=False` for a
    class whose instances need a `__dict__`) without compiling any method but `__init__`."""

    def wrap(cls: type[T]) -> type[T]:
        return _declare(cls, order=order, slots=slots)

    return wrap if cls is None else wrap(cls)
