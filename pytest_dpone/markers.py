"""The evidence markers: their signatures, binding to typed values, and ini aliases.

Every marker is bound in one place (:class:`MarkBinder`) to frozen values and turned into
the plain JSON-safe record that rides on the test report. A new marker kind is one entry
in :data:`MARKER_KINDS` (binder + ``pytest --markers`` line) and one aggregator in
``dpone_ops.evidence_build``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from dpone_ops.checklist_names import CHECK_NAME_RE, CHECK_NAMES
from pytest_dpone.services import KNOWN_SERVICES

STATE_CHECKS = ("xmin_state", "kafka_offsets", "cdc_offsets", "run_state")
RECONCILIATION_KINDS = ("physical_delete", "row_count", "checksum")

# One JSON-safe value per marker application, e.g. {"backend": "postgres", "check": "xmin_state"}.
MarkValue = dict[str, Any]
# kind -> values, only for kinds the test carries; this is what rides on the report.
MarkRecord = dict[str, list[MarkValue]]


class MarkerError(ValueError):
    """A marker whose arguments do not fit its signature or vocabulary."""


@dataclass(frozen=True)
class Service:
    names: tuple[str, ...]


@dataclass(frozen=True)
class StateBackend:
    backend: str
    check: str


@dataclass(frozen=True)
class Reconciliation:
    kind: str


@dataclass(frozen=True)
class Certification:
    source: str
    sink: str
    strategy: str


@dataclass(frozen=True)
class ReleaseCheck:
    name: str


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MarkerError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def _service(name: object, *more_names: object) -> Service:
    return Service(tuple(_text(n, "service name") for n in (name, *more_names)))


def _state_backend(backend: object, check: object) -> StateBackend:
    checked = _text(check, "check")
    if checked not in STATE_CHECKS:
        raise MarkerError(f"check {checked!r} is not one of {', '.join(STATE_CHECKS)}")
    return StateBackend(_text(backend, "backend"), checked)


def _reconciliation(kind: object = "physical_delete") -> Reconciliation:
    checked = _text(kind, "kind")
    if checked not in RECONCILIATION_KINDS:
        raise MarkerError(f"kind {checked!r} is not one of {', '.join(RECONCILIATION_KINDS)}")
    return Reconciliation(checked)


def _certification(source: object, sink: object, strategy: object) -> Certification:
    return Certification(
        _text(source, "source"), _text(sink, "sink"), _text(strategy, "strategy")
    )


def _performance() -> None:
    return None


def _release_check(name: object) -> ReleaseCheck:
    checked = _text(name, "check name")
    if not CHECK_NAME_RE.match(checked):
        raise MarkerError(f"check name {checked!r} may only hold letters, digits, '_' and '-'")
    return ReleaseCheck(checked)


@dataclass(frozen=True)
class MarkerKind:
    """How one marker is declared, bound and recorded."""

    name: str
    line: str
    bind: Callable[..., Any]
    to_values: Callable[[Any], list[MarkValue]]


MARKER_KINDS: dict[str, MarkerKind] = {
    kind.name: kind
    for kind in (
        MarkerKind(
            "service",
            "service(name, *more_names): pytest-dpone evidence: the test exercises these "
            f"services ({', '.join(KNOWN_SERVICES)}, or names listed in the dpone_services ini)",
            _service,
            lambda v: [{"name": n} for n in v.names],
        ),
        MarkerKind(
            "state_backend",
            "state_backend(backend, check): pytest-dpone evidence: the test proves a state "
            f"backend check, check in {', '.join(STATE_CHECKS)}",
            _state_backend,
            lambda v: [{"backend": v.backend, "check": v.check}],
        ),
        MarkerKind(
            "reconciliation",
            "reconciliation(kind='physical_delete'): pytest-dpone evidence: the test reconciles "
            f"source and sink, kind in {', '.join(RECONCILIATION_KINDS)}",
            _reconciliation,
            lambda v: [{"kind": v.kind}],
        ),
        MarkerKind(
            "certification",
            "certification(source, sink, strategy): pytest-dpone evidence: the test certifies "
            "one source->sink matrix cell",
            _certification,
            lambda v: [{"source": v.source, "sink": v.sink, "strategy": v.strategy}],
        ),
        MarkerKind(
            "performance",
            "performance: pytest-dpone evidence: the test's measurements feed "
            "performance_metrics.json",
            _performance,
            lambda v: [{}],
        ),
        MarkerKind(
            "release_check",
            "release_check(name): pytest-dpone evidence: the test proves a pre-release "
            f"checklist item, name in {', '.join(CHECK_NAMES)} (or names listed in the "
            "dpone_release_checks ini); results go to release_checks.json",
            _release_check,
            lambda v: [{"name": v.name}],
        ),
    )
}


@dataclass(frozen=True)
class Alias:
    """``alias = kind:arg:arg`` from the ``dpone_marker_aliases`` ini option."""

    alias: str
    kind: str
    values: tuple[MarkValue, ...]


_ALIAS_ARITY = {"service": None, "state_backend": 2, "reconciliation": 1, "certification": 3,
                "performance": 0, "release_check": 1}


def parse_aliases(lines: Iterable[str]) -> dict[str, Alias]:
    """Parse ``name = kind:arg[:arg...]`` lines; a bad line raises :class:`pytest.UsageError`."""
    aliases: dict[str, Alias] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, target = line.partition("=")
        name, target = name.strip(), target.strip()
        if not sep or not name.isidentifier() or not target:
            raise pytest.UsageError(
                f"dpone_marker_aliases: expected 'marker = kind:args', got {raw!r}"
            )
        kind, *args = [part.strip() for part in target.split(":")]
        if kind not in MARKER_KINDS:
            raise pytest.UsageError(
                f"dpone_marker_aliases: {name}: unknown kind {kind!r}; known: "
                f"{', '.join(MARKER_KINDS)}"
            )
        arity = _ALIAS_ARITY[kind]
        if (arity is None and not args) or (arity is not None and len(args) != arity):
            raise pytest.UsageError(
                f"dpone_marker_aliases: {name}: {kind} takes "
                f"{'one or more names' if arity is None else arity} argument(s), got {target!r}"
            )
        if kind == "service":
            args = [n for part in args for n in part.split(",")]
        try:
            value = MARKER_KINDS[kind].bind(*args)
        except MarkerError as exc:
            raise pytest.UsageError(f"dpone_marker_aliases: {name}: {exc}") from None
        if name in aliases or name in MARKER_KINDS:
            raise pytest.UsageError(f"dpone_marker_aliases: {name} is defined twice")
        aliases[name] = Alias(name, kind, tuple(MARKER_KINDS[kind].to_values(value)))
    return aliases


class MarkBinder:
    """Binds the evidence marks of the collected items; a parent's marks are read once.

    ``item.iter_markers()`` walks the whole node chain for every item, although a suite of
    20,000 tests in 40 modules has only 40 chains: the marks an item inherits are looked up
    once per parent node, and per item only its own marks are read.
    """

    def __init__(
        self,
        aliases: Mapping[str, Alias],
        allowed_services: frozenset[str],
        allowed_checks: frozenset[str] = frozenset(CHECK_NAMES),
    ) -> None:
        self.aliases = aliases
        self.allowed_services = allowed_services
        self.allowed_checks = allowed_checks
        self._names = frozenset(MARKER_KINDS) | frozenset(aliases)
        # Keyed by ``id()`` of the parent node, which every item holds alive during
        # collection: a node's own ``__hash__`` is a Python call per lookup. The node is
        # kept beside its marks, so a reused id can never match.
        self._inherited: dict[int, tuple[Any, tuple[pytest.Mark, ...]]] = {}
        # Equal marks bind to one shared record: 2,000 marked tests in a suite often carry
        # a handful of distinct mark sets, and every record kept is objects that each
        # garbage collection pass of the run walks again.
        self._bound: dict[tuple[Any, ...], MarkRecord] = {}

    def _marks_of_chain(self, node: Any) -> tuple[pytest.Mark, ...]:
        """Evidence marks of ``node`` and its parents, nearest first (as iter_markers)."""
        if node is None:
            return ()
        cached = self._inherited.get(id(node))
        if cached is not None and cached[0] is node:
            return cached[1]
        own = tuple(m for m in node.own_markers if m.name in self._names)
        marks = own + self._marks_of_chain(node.parent)
        self._inherited[id(node)] = (node, marks)
        return marks

    def bind(self, item: pytest.Item) -> MarkRecord:
        """All evidence marks of ``item`` as a JSON-safe record; raises :class:`MarkerError`.

        Items with equal marks get the same record object: it is read-only.
        """
        own_markers = item.own_markers
        own = [m for m in own_markers if m.name in self._names] if own_markers else ()
        inherited = self._marks_of_chain(item.parent)
        if not own and not inherited:
            return {}
        marks = (*own, *inherited)
        key: tuple[Any, ...] | None = tuple(
            (m.name, m.args, tuple(sorted(m.kwargs.items()))) for m in marks)
        try:
            shared = self._bound.get(key)  # type: ignore[arg-type]
        except TypeError:  # an unhashable argument: bound on its own
            shared = key = None
        if shared is not None:
            return shared
        record = self._bind(item, marks)
        if key is not None:
            self._bound[key] = record
        return record

    def _bind(self, item: pytest.Item, marks: tuple[pytest.Mark, ...]) -> MarkRecord:
        record: MarkRecord = {}
        for mark in marks:
            kind = MARKER_KINDS.get(mark.name)
            if kind is not None:
                try:
                    value = kind.bind(*mark.args, **mark.kwargs)
                except (TypeError, MarkerError) as exc:
                    raise MarkerError(
                        f"{item.nodeid}: marker @pytest.mark.{kind.name}: {exc} "
                        f"(signature: {kind.line.split(':')[0]})"
                    ) from None
                record.setdefault(kind.name, []).extend(kind.to_values(value))
            else:
                alias = self.aliases[mark.name]
                record.setdefault(alias.kind, []).extend(alias.values)
        _refuse_unknown(item.nodeid, record.get("service"), self.allowed_services,
                        marker="service", noun="service", ini="dpone_services")
        # A typo must not become a check nobody requires: unknown names are errors.
        _refuse_unknown(item.nodeid, record.get("release_check"), self.allowed_checks,
                        marker="release_check", noun="check", ini="dpone_release_checks")
        return {kind: _unique(values) for kind, values in record.items()}


def _unique(values: list[MarkValue]) -> list[MarkValue]:
    # Marks stack from class and module; the same cell marked twice is still one cell.
    seen: list[MarkValue] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _refuse_unknown(
    nodeid: str,
    values: list[dict[str, Any]] | None,
    allowed: frozenset[str],
    *,
    marker: str,
    noun: str,
    ini: str,
) -> None:
    """A name outside ``allowed`` is a collection error naming the test and the ini option."""
    if not values:
        return
    unknown = sorted({v["name"] for v in values} - allowed)
    if unknown:
        raise MarkerError(
            f"{nodeid}: marker @pytest.mark.{marker}: unknown {noun} "
            f"{', '.join(map(repr, unknown))}; known: {', '.join(sorted(allowed))} "
            f"(add others to the {ini} ini option)"
        )
