"""Turn an exception into a picklable failure record, where the task ran.

Chooses the frame whose locals are traced, ``repr``s them safely and redacts secrets,
so nothing that leaves this module can leak a secret value. Imports only ``redaction``,
``outcome`` and ``saferepr``.
"""

from __future__ import annotations

import functools
import inspect
import os
import site
import sys
import sysconfig
import threading
import traceback
import types
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from processes.outcome import failure_headline, message_of
from processes.redaction import REDACTED, Redactor, mask, remember_secret
from processes.saferepr import MAX_REPR_CHARS, keep_ends, safe_repr, truncate

_MASK_BEFORE_CUT = 4 * MAX_REPR_CHARS
#: How long the locals of a frame that hung are given to be shown: their ``repr`` is the
#: task's code, and may wait on what hung (a lock it holds, an event never set).
LOCALS_OF_A_HUNG_FRAME_SECONDS = 0.5

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import FrameType, TracebackType


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed attempt sends back: text only, plus the exception where it is local.

    ``exception`` is the failure as it is shown (``"ValueError: bad row"``, what the
    engine logs and keeps per attempt); ``message`` the message alone, ``str(exc)``.
    """

    exception: str
    exception_type: str
    traceback_str: str
    traced_vars: dict[str, str]
    traced_vars_location: str
    #: Positions and names of the call's arguments that hold secrets: reports show
    #: ``[redacted]`` there instead.
    hidden_args: tuple[int, ...] = ()
    hidden_kwargs: tuple[str, ...] = ()
    #: True when a secret was masked out of the message or traceback: the exception
    #: object (``cause``) still holds it, so it must not be shown as it is.
    redacted: bool = False
    cause: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def message(self) -> str:
        """The message alone (``"bad row"``), as ``ErrorData.exception`` holds it: read
        from ``exception``, so that text added to it (or masked in it) is kept."""
        return message_of(self.exception, self.exception_type)

    def without_cause(self) -> Failure:
        """Return a copy safe to pickle: the exception object may not survive it."""
        return replace(self, cause=None)

    def masked(self, secrets: list[str]) -> Failure:
        """Return this record with ``secrets`` masked out of its text (learned after the
        attempt, such as an upstream result that is a secret)."""
        exception, traceback_str = mask(self.exception, secrets), mask(self.traceback_str, secrets)
        traced_vars = {name: mask(text, secrets) for name, text in self.traced_vars.items()}
        if (exception, traceback_str, traced_vars) == (
            self.exception,
            self.traceback_str,
            self.traced_vars,
        ):
            return self
        return replace(
            self,
            exception=exception,
            traceback_str=traceback_str,
            traced_vars=traced_vars,
            redacted=True,
        )

    def hide_arguments(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Return the call's arguments with those that hold secrets replaced."""
        if self.hidden_args:
            args = tuple(REDACTED if i in self.hidden_args else a for i, a in enumerate(args))
        if self.hidden_kwargs:
            kwargs = {k: REDACTED if k in self.hidden_kwargs else v for k, v in kwargs.items()}
        return args, kwargs


def stand_in_failure(
    kind: type[BaseException],
    message: str,
    *,
    traceback_str: str | None = None,
    chained: bool = True,
    stack: Stack | None = None,
) -> Failure:
    """The failure of an attempt the run ended from outside (a timeout, the deadline,
    Ctrl-C, SIGTERM): there is no traceback of the task's own to capture, only this,
    and ``stack``, where the task's code was then, if it was read.

    The one place such a record is built. With ``chained``, ``cause`` is the exception,
    raised here so that it is chained like any other.
    """
    exception = failure_headline(qualified_name(kind), message)
    cause: BaseException | None = None
    if chained:
        try:
            raise kind(message)
        except BaseException as exc:  # only ever ``kind``
            cause = exc
    if stack is not None:
        traceback_str = f"{STACK_HEADER}{stack.text}{exception}\n"
    elif traceback_str is None:
        traceback_str = f"{exception}\n"
    return Failure(
        exception=exception,
        exception_type=qualified_name(kind),
        traceback_str=traceback_str,
        traced_vars={} if stack is None else stack.traced_vars,
        traced_vars_location="" if stack is None else stack.traced_vars_location,
        cause=cause,
    )


#: The first line of a stand-in failure's traceback that shows where the task's code was.
STACK_HEADER = "Where the task's code was (most recent call last):\n"


@dataclass(frozen=True, slots=True)
class Stack:
    """Where a task's code was when the run gave up on it, read at that moment: its
    frames as a traceback shows them, and one frame's locals, masked as in a failure."""

    text: str
    traced_vars: dict[str, str]
    traced_vars_location: str


#: The attribute under which a halt carries the stack of the thread it abandoned.
_STACK_ATTRIBUTE = "_processes_stack"


def thread_stack(
    ident: int | None, redactor: Redactor, frame_filter: str | None = None
) -> Stack | None:
    """The stack of thread ``ident`` now, from the task's code in, or None when the
    thread runs none of it (it ended, or never reached the task's code)."""
    frame = sys._current_frames().get(ident) if ident is not None else None
    located = []
    while frame is not None:
        located.append((frame, frame.f_lineno))
        frame = frame.f_back
    located.reverse()
    return _stack_of(located, redactor, frame_filter)


def halted_stack(
    halt: BaseException, redactor: Redactor, frame_filter: str | None = None
) -> Stack | None:
    """Where a halt (Ctrl-C, SIGTERM, the deadline) found the task's code: the stack of
    the helper thread it abandoned (``attach_stack``), else its own traceback's frames,
    when it was raised in the task's code in this thread."""
    attached: Stack | None = getattr(halt, _STACK_ATTRIBUTE, None)
    if attached is not None:
        return attached
    located = []
    tb = halt.__traceback__
    while tb is not None:
        located.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return _stack_of(located, redactor, frame_filter)


def attach_stack(halt: BaseException, stack: Stack | None) -> None:
    """Let ``halt`` carry the stack of the thread it made the run abandon."""
    if stack is not None:
        setattr(halt, _STACK_ATTRIBUTE, stack)


def _stack_of(
    located: list[tuple[FrameType, int]], redactor: Redactor, frame_filter: str | None
) -> Stack | None:
    """The ``Stack`` of these frames (outermost first, each with its line now)."""
    located = _the_tasks_frames(located)
    if not located:
        return None
    frames = [frame for frame, _ in located]
    secrets = list(redactor.known_values())
    _remember_secrets_in(frames, redactor, secrets)
    traced_vars: dict[str, str] = {}
    location = ""
    for frame, line in reversed(located):
        if _is_traced(frame, frame_filter):
            location = f"{frame.f_code.co_filename}:{line}"
            traced_vars = _traced_locals_in_time(frame, redactor, secrets)
            break
    try:
        text = "".join(traceback.StackSummary.extract(iter(located)).format())
    except Exception:  # a source line that cannot be read: the frames are still told
        text = "".join(f"  in {frame.f_code.co_name}, line {line}\n" for frame, line in located)
    return Stack(
        redactor.mask_shapes(mask(text, secrets)),
        _masked_vars(traced_vars, redactor, secrets),
        location,
    )


def _the_tasks_frames(located: list[tuple[FrameType, int]]) -> list[tuple[FrameType, int]]:
    """The frames from the task's code in: without the thread's outer frames up to the
    library's call of the task, nor the library's innermost ones (a signal's handler)."""
    start = 0
    for position, (frame, _) in enumerate(located):
        filename = frame.f_code.co_filename
        if is_user_file(filename):
            break
        if _is_library_file(filename):
            start = position + 1
    end = len(located)
    while end > start and _is_library_file(located[end - 1][0].f_code.co_filename):
        end -= 1
    return located[start:end]


def _library_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__)) + os.sep


def _foreign_dirs() -> tuple[str, ...]:
    """Directories whose frames are never the user's: the stdlib and installed packages."""
    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    dirs.update(getattr(site, "getsitepackages", list)())
    dirs.add(os.path.dirname(os.__file__))
    return tuple(os.path.abspath(d) + os.sep for d in dirs if d)


_LIBRARY_DIR = _library_dir()
_FOREIGN_DIRS = _foreign_dirs()


def is_user_file(filename: str) -> bool:
    """True for files the user wrote: not this library, the stdlib or site-packages."""
    if filename.startswith("<"):  # <string>, <stdin>, <frozen ...>: not a file of theirs
        return filename in ("<string>", "<stdin>") or filename.startswith("<ipython")
    path = os.path.abspath(filename)
    if path.startswith(_LIBRARY_DIR) or path.startswith(_FOREIGN_DIRS):
        return False
    return "site-packages" not in path and "dist-packages" not in path


def _is_library_file(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_LIBRARY_DIR)


def _frames(tb: TracebackType | None) -> list[FrameType]:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def select_frame(exc: BaseException, frame_filter: str | None) -> FrameType | None:
    """Pick the innermost frame to trace: matching ``frame_filter``, else user code."""
    for frame in reversed(_frames(exc.__traceback__)):
        if _is_traced(frame, frame_filter):
            return frame
    return None


def _is_traced(frame: FrameType, frame_filter: str | None) -> bool:
    """Whether ``frame`` may be the traced one: its file matches ``frame_filter``, or
    without one, it is a file the user wrote."""
    filename = frame.f_code.co_filename
    if frame_filter is not None:
        return frame_filter in filename
    return is_user_file(filename)


def _user_traceback(exc: BaseException) -> TracebackType | None:
    """The traceback without this library's own leading frames (the attempt's call)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_LIBRARY_DIR):
            break
        tb = tb.tb_next
    return tb


def _beyond_library(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from its first frame that is not this library's: the frames of the
    call that ran the attempt (the run loop, whose locals hold the whole run) are not
    the task's, and hold none of its secrets."""
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(
        _LIBRARY_DIR
    ):
        tb = tb.tb_next
    return tb


def qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


#: How many exceptions of a chain or group, and how many of their frames, are searched
#: for secrets; any exception past either is shown as ``NOT_SEARCHED`` (fail closed).
_MOST_EXCEPTIONS_SEARCHED = 1_000
_MOST_FRAMES_SEARCHED = 20_000
#: What a failure's traceback shows in place of the text of an exception not searched.
NOT_SEARCHED = "[not shown: this exception was not searched for secrets]"
_MAX_SECRET_FORMS = 1_024
# A secret-named tuple or dict (``auth = ("admin", password)``): shorter items such as
# "admin" are more likely names than secrets, and would be masked in every line.
_LONGEST_WORD_IN_A_CONTAINER = 8


def _remember_secret_locals(exc: BaseException, redactor: Redactor, secrets: list[str]) -> set[int]:
    """Remember the secrets held by every frame of the traceback, and of chained and
    grouped exceptions, from the task's own code on (not the library's frames that
    called it, nor the caller's frames above ``run()``, which a traceback never holds);
    return the ids of the exceptions searched.

    Not only the traced frame: a key held one call up and passed on as ``k`` shows up
    in the message of the exception raised further down. In each frame: the values of
    secret-named locals (and of secret-named globals the code uses), and what dicts
    and plain objects hold under secret-looking keys or attribute names; and of each
    exception, its own secret-named attributes (``exc.token``). Breadth-first, in the
    order a traceback shows them, up to ``_MOST_EXCEPTIONS_SEARCHED`` exceptions and
    ``_MOST_FRAMES_SEARCHED`` frames: ``exc`` itself always.
    """
    searched_ids: set[int] = set()
    pending: deque[BaseException | None] = deque([exc])
    containers: list[Any] = []  # held under secret names: their long items are remembered
    searched: list[Any] = []  # for secret-named keys and attributes, last, within a budget
    frames_left = _MOST_FRAMES_SEARCHED
    while pending and len(searched_ids) < _MOST_EXCEPTIONS_SEARCHED:
        current = pending.popleft()
        if current is None or id(current) in searched_ids:
            continue
        frames = _frames(_beyond_library(current.__traceback__))
        frames_left -= len(frames)
        if frames_left < 0 and searched_ids:
            break
        searched_ids.add(id(current))
        _remember_own_fields(current, redactor, secrets, searched)
        for frame in frames:
            _remember_frame(frame, redactor, secrets, containers, searched)
        pending.extend((current.__cause__, current.__context__))
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
    _remember_held(containers, searched, redactor, secrets)
    return searched_ids


def _remember_secrets_in(
    frames: Iterable[FrameType], redactor: Redactor, secrets: list[str]
) -> None:
    """Remember the secrets ``frames`` hold (see ``_remember_secret_locals``)."""
    containers: list[Any] = []
    searched: list[Any] = []
    for frame in frames:
        _remember_frame(frame, redactor, secrets, containers, searched)
    _remember_held(containers, searched, redactor, secrets)


def _remember_held(
    containers: list[Any], searched: list[Any], redactor: Redactor, secrets: list[str]
) -> None:
    """Remember the long items of ``containers`` held under secret names, then what
    ``searched`` values hold under secret-named keys and attributes."""
    for value in containers:
        if len(secrets) >= _MAX_SECRET_FORMS:
            break
        remember_secret(value, secrets, shortest=_LONGEST_WORD_IN_A_CONTAINER)
    redactor.collect(searched, secrets)


def _remember_own_fields(
    exc: BaseException, redactor: Redactor, secrets: list[str], searched: list[Any]
) -> None:
    """What the exception holds under secret-looking attribute names (``exc.token``);
    its other attributes are searched like locals."""
    try:
        namespace = object.__getattribute__(exc, "__dict__")
    except AttributeError:
        return
    for name, value in list(namespace.items()):
        if isinstance(name, str) and redactor.is_secret(name):
            remember_secret(value, secrets)
        searched.append(value)


def _remember_frame(
    frame: FrameType,
    redactor: Redactor,
    secrets: list[str],
    containers: list[Any],
    searched: list[Any],
) -> None:
    """What one frame's secret-named locals and the secret-named globals it uses hold."""
    for name, value in frame.f_locals.items():
        if not redactor.is_secret(name):
            searched.append(value)
        elif isinstance(value, dict | tuple | set | frozenset):
            containers.append(value)
        # Not a list: a list called ``tokens`` in some caller would mask every
        # word it holds. The traced frame's lists are handled with its locals.
        elif not isinstance(value, list):
            remember_secret(value, secrets)
            searched.append(value)  # an object: what its secret fields hold
    for name in frame.f_code.co_names:
        if redactor.is_secret(name) and name in frame.f_globals:
            value = frame.f_globals[name]
            if isinstance(value, str | bytes | int):
                remember_secret(value, secrets)


def _traceback_text(exc: BaseException, searched: set[int]) -> str:
    """The traceback as ``traceback.format_exception`` writes it, where an exception the
    search did not reach shows ``NOT_SEARCHED`` instead of its message and notes."""
    shown = traceback.TracebackException(type(exc), exc, _user_traceback(exc), compact=True)
    pending: list[tuple[Any, BaseException]] = [(shown, exc)]
    visited: set[int] = set()
    while pending:
        part, original = pending.pop()
        if id(part) in visited:
            continue
        visited.add(id(part))
        if id(original) not in searched:
            part._str = NOT_SEARCHED  # the text every Python 3.11+ writes as the message
            part.__notes__ = None
        for side in ("__cause__", "__context__"):
            chained, chained_original = getattr(part, side, None), getattr(original, side)
            if chained is not None and chained_original is not None:
                pending.append((chained, chained_original))
        members = getattr(part, "exceptions", None) or ()
        pending.extend(zip(members, getattr(original, "exceptions", ()), strict=False))
    return "".join(shown.format())


def secret_positions(func: Callable[..., Any], redactor: Redactor, count: int) -> tuple[int, ...]:
    """Positions, among ``count`` positional arguments, of parameters with secret names.

    Read through decorators (``functools.wraps``) to the function the user wrote, as
    ``inspect.signature`` does; from its code object when it has one, which is cheap
    enough to do for every task of a large run.
    """
    skip = 0
    target = func
    if isinstance(target, types.MethodType):
        target, skip = target.__func__, 1
    plain = type(target) is types.FunctionType and not (
        "__wrapped__" in target.__dict__ or "__signature__" in target.__dict__
    )
    if plain:  # the common case: its code object names its parameters
        return _positions_in_code(target.__code__, skip, count, redactor)
    target = inspect.unwrap(target)
    code = getattr(target, "__code__", None)
    if isinstance(code, types.CodeType) and "__signature__" not in vars(target):
        return _positions_in_code(code, skip, count, redactor)
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # builtins and odd callables may have no signature
        return ()
    positions = []
    for position, parameter in enumerate(parameters[:count]):
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            break
        if redactor.is_secret(parameter.name):
            positions.append(position)
    return tuple(positions)


@functools.lru_cache(maxsize=1024)
def _positions_in_code(
    code: types.CodeType, skip: int, count: int, redactor: Redactor
) -> tuple[int, ...]:
    # Keyed by the code object, which holds no closure or bound object alive.
    names = code.co_varnames[skip : min(code.co_argcount, skip + count)]
    return tuple(i for i, name in enumerate(names) if redactor.is_secret(name))


def _secret_arguments(
    func: Callable[..., Any] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    redactor: Redactor,
    secrets: list[str],
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Find the arguments that hold secrets: by their parameter's name, or by their value."""
    redactor.collect((args, kwargs), secrets)
    hidden_args = set(secret_positions(func, redactor, len(args))) if func else set()
    hidden_kwargs = {name for name in kwargs if redactor.is_secret(name)}
    for position in hidden_args:
        remember_secret(args[position], secrets)
    for name in hidden_kwargs:
        remember_secret(kwargs[name], secrets)
    known = set(secrets)
    for position, value in enumerate(args):  # a secret passed on under an innocent name
        if isinstance(value, str) and value in known:
            hidden_args.add(position)
    for name, value in kwargs.items():
        if isinstance(value, str) and value in known:
            hidden_kwargs.add(name)
    return tuple(sorted(hidden_args)), tuple(sorted(hidden_kwargs))


def capture_failure(
    exc: BaseException,
    *,
    frame_filter: str | None = None,
    redactor: Redactor,
    func: Callable[..., Any] | None = None,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Failure:
    """Record ``exc``: its message, traceback and one frame's locals, redacted.

    With the call (``func``, ``args``, ``kwargs``), the arguments that hold secrets are
    found too, so that reports and logs can hide them.
    """
    secrets = list(redactor.known_values())  # the environment's, read when the run began
    searched = _remember_secret_locals(exc, redactor, secrets)
    traced_vars: dict[str, str] = {}
    location = ""
    frame = select_frame(exc, frame_filter)
    if frame is not None:
        location = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        traced_vars = _traced_locals(frame, redactor, secrets)
    hidden_args, hidden_kwargs = _secret_arguments(func, args, kwargs or {}, redactor, secrets)
    exception_type = qualified_name(type(exc))
    try:
        text = str(exc)
    except Exception:  # whatever an exotic exception does to formatting, capture goes on
        text = "<message unavailable>"
    # "Type: message", built here rather than taken from the traceback's last line (which
    # may span lines, with notes): ``Failure.message`` reads the message back from it.
    message = failure_headline(exception_type, text)
    try:
        tb_text = _traceback_text(exc, searched)
    except Exception:
        tb_text = f"{message}\n<traceback unavailable>"
    masked_message = redactor.mask_shapes(mask(message, secrets))
    masked_tb = redactor.mask_shapes(mask(tb_text, secrets))
    # Changed anywhere, even in a source line only: the exception object must not be
    # shown as it is, since printing it would read that line again from its file.
    redacted = masked_message != message or masked_tb != tb_text or NOT_SEARCHED in tb_text
    message, tb_text = keep_ends(masked_message), keep_ends(masked_tb)  # bounded (§17)
    return Failure(
        exception=message,
        exception_type=exception_type,
        traceback_str=tb_text,
        traced_vars=_masked_vars(traced_vars, redactor, secrets),
        traced_vars_location=location,
        hidden_args=hidden_args,
        hidden_kwargs=hidden_kwargs,
        redacted=redacted,
        cause=exc,
    )


def _traced_locals_in_time(
    frame: FrameType, redactor: Redactor, secrets: list[str]
) -> dict[str, str]:
    """``_traced_locals`` of a frame that hung, read in a helper thread given
    ``LOCALS_OF_A_HUNG_FRAME_SECONDS``: past that, none is shown, and the thread (stuck in
    a ``repr``) is left behind, so the run goes on."""
    found: list[str] = []
    box: list[dict[str, str]] = []
    reader = threading.Thread(
        target=lambda: box.append(_traced_locals(frame, redactor, found)),
        name="processes-traced-locals",
        daemon=True,
    )
    reader.start()
    reader.join(LOCALS_OF_A_HUNG_FRAME_SECONDS)
    if not box:
        return {
            "<locals>": "not shown: their repr did not return within "
            f"{LOCALS_OF_A_HUNG_FRAME_SECONDS:g} s"
        }
    secrets.extend(found)
    return box[0]


def _traced_locals(frame: FrameType, redactor: Redactor, secrets: list[str]) -> dict[str, str]:
    """The traced frame's locals as text: secret names ``REDACTED`` (their values
    remembered in ``secrets``), the rest scrubbed, not masked yet (``_masked_vars``)."""
    traced_vars: dict[str, str] = {}
    for name, value in frame.f_locals.items():
        if redactor.is_secret(name):
            remember_secret(value, secrets)
            traced_vars[name] = REDACTED
        else:
            shown = redactor.scrub(value, secrets)
            if isinstance(shown, str) and not isinstance(value, str):
                traced_vars[name] = shown  # a repr already: an object's, masked
            else:
                # Longer than kept, so that a secret is masked before the cut.
                traced_vars[name] = safe_repr(shown, _MASK_BEFORE_CUT)
    return traced_vars


def _masked_vars(
    traced_vars: dict[str, str], redactor: Redactor, secrets: list[str]
) -> dict[str, str]:
    """The traced variables' text with every secret known by now masked, then cut."""
    return {
        name: truncate(redactor.mask_shapes(mask(text, secrets)))
        for name, text in traced_vars.items()
    }
