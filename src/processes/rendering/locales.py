"""Every word a reader sees in a rendered report, in each supported language.

Renderings look words up here instead of writing them inline, so a language is added in
one place. Imports only ``processes.outcome``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from processes.outcome import (
    ENGLISH_SKIP_REASONS,
    SkipReason,
    StopReason,
    TaskChange,
    TaskStatus,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "LANGUAGES",
    "FindingWords",
    "Locale",
    "Plural",
    "finding_words",
    "get_locale",
    "is_singular",
]


#: ``{count|one|many}``: the form that agrees with the number given for ``count``.
_FORMS = re.compile(r"\{(\w+)\|([^{}|]*)\|([^{}|]*)\}")
_DIGITS = re.compile(r"\d")


def is_singular(language: str, count: int) -> bool:
    """Whether ``count`` takes the singular in ``language`` (Unicode CLDR plural rules).

    French and (Brazilian) Portuguese say "0 tâche", "0 tarefa": 0 and 1 are singular
    there; English, Spanish, German and Italian use the singular for 1 alone.
    """
    if language in ("fr", "pt"):
        return count in (0, 1)
    return count == 1


def _count_of(value: object) -> int | None:
    """The number a template field was given: an int, or digits grouped as ``number()``."""
    if isinstance(value, int):
        return value
    digits = "".join(_DIGITS.findall(str(value)))
    return int(digits) if digits and len(digits) < 20 else None


class Plural(str):
    """A ``str.format`` template whose ``{count|one|many}`` parts agree with their numbers.

    ``Plural("{n} {n|task|tasks} failed", "en").format(n=1)`` is "1 task failed". Every
    other field is filled as ``str.format`` fills it, so call sites format it as any
    template; a number given already formatted ("1,000") counts as its digits.
    """

    language: str

    def __new__(cls, template: str, language: str) -> Plural:
        made = super().__new__(cls, template)
        made.language = language
        return made

    def format(self, *args: object, **kwargs: object) -> str:
        def agree(match: re.Match[str]) -> str:
            count = _count_of(kwargs.get(match[1]))
            singular = count is not None and is_singular(self.language, count)
            return match[2] if singular else match[3]

        return str.format(_FORMS.sub(agree, self), *args, **kwargs)


@dataclass(frozen=True, slots=True)
class Locale:
    """The words of one language; ``{n}``-style fields are filled with ``str.format``.

    A field may say ``{n|task|tasks}``: it becomes a ``Plural``, whose ``format`` picks the
    form that agrees with ``n`` in this language.
    """

    code: str
    status: Mapping[TaskStatus, str]
    subject_errors: str
    heading_failures: str
    heading_skipped: str
    heading_successes: str
    heading_timeline: str
    label_tasks: str
    label_succeeded: str
    label_failed: str
    label_skipped: str
    label_duration: str
    label_started: str
    label_function: str
    label_arguments: str
    label_error: str
    label_attempts: str
    label_failed_attempts: str
    label_skipped_because: str
    label_caused_by: str
    label_traced_vars: str
    label_traceback: str
    at: str
    attempt_one: str
    attempt_many: str
    and_more: str
    more_lines: str
    more_chars: str
    more_vars: str
    more_failures: str
    timeline_partial: str
    all_ok: str
    failed_one: str
    failed_many: str
    skipped_as_result_one: str
    skipped_as_result_many: str
    skipped_one: str
    skipped_many: str
    errors_only: str
    no_tasks: str
    not_run: str
    unnamed: str
    footer: str
    decimal: str
    unit_ms: str
    unit_s: str
    unit_min: str
    unit_h: str
    #: Subject words by how the run went (``errors-only`` keeps ``subject_errors``).
    subject_failed: str
    subject_still_failing: str
    subject_recovered: str
    subject_succeeded: str
    #: What changed since the previous run, shown next to a task.
    change: Mapping[TaskChange, str]
    still_failing_since: str
    run_one: str
    run_many: str
    heading_recovered: str
    label_host: str
    label_run: str
    attempts_all_same: str
    reused: str
    ran_again: str
    #: Why a task was skipped, after ``skipped_for`` ("skipped: {reason}").
    skip_reason: Mapping[SkipReason, str]
    skipped_for: str
    #: Why the run stopped early: one sentence.
    stopped_by: Mapping[StopReason, str]
    #: An earlier run this one found dead and closed (§13), one sentence each: ``{who}``
    #: is ``crash_previous`` (one crashed run) or ``crash_earlier`` (several) with its
    #: ``{run}`` id and ``crash_started``; ``{done}`` is ``crash_done_one``/``_many`` (by
    #: ``{total}``); ``crash_during`` names the ``{running}`` tasks; ``crash_more`` counts
    #: the rest (always two or more).
    crash_previous: str
    crash_earlier: str
    crash_started: str
    crash_done_one: str
    crash_done_many: str
    crash_during: str
    crash_between: str
    crash_before: str
    crash_more: str
    #: Subject words when this run closed a crashed one: this run succeeded / failed.
    subject_crashed_ok: str
    subject_crashed_failed: str
    #: Chat messages (Slack, Discord, Teams): short lines; ``thousands`` groups digits.
    chat_title_failed: str
    chat_title_skipped: str
    chat_title_ok: str
    chat_new_count: str
    chat_recovered_count: str
    chat_counts: str
    chat_took: str
    chat_started: str
    chat_errored_after: str
    chat_errored_alike: str
    chat_unknown_error: str
    chat_skipped_count: str
    chat_variables: str
    chat_variables_at: str
    chat_more_failed: str
    chat_see_report: str
    chat_more: str
    label_recovered: str
    thousands: str
    #: A mapped task's items (SPEC §15): "{ok} of {total} {total|item|items} succeeded"
    items_succeeded: str
    #: A run's items counted apart from its declared tasks: "{total} items: {succeeded}
    #: succeeded, {failed} failed, {skipped} skipped", and "{failed} of {total} items failed"
    items_tally: str
    items_failed: str
    #: A chat title that speaks of items alone: "{name}: {items}" (``items_failed`` or
    #: ``items_tally``, filled)
    chat_title_items: str

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, str) and _FORMS.search(value):
                object.__setattr__(self, name, Plural(value, self.code))

    def plural(self, template: str) -> str:
        """Return ``template`` as this language's ``Plural`` (built from other words)."""
        return Plural(template, self.code)

    def attempts(self, count: int) -> str:
        return _counted(self.attempt_one, self.attempt_many, count, self.code)

    def some_failed(self, failed: int, skipped: int) -> str:
        """Return the verdict of a run that failed, in sentences that agree with each count.

        "2 tasks failed and 1 was skipped as a result.", "1 task failed." when nothing was
        skipped, or "3 tasks were skipped." for a report cut down to skipped tasks.
        """
        code = self.code
        if skipped and not failed:  # a report cut down to some skipped tasks
            return _counted(self.skipped_one, self.skipped_many, skipped, code) + "."
        sentence = _counted(self.failed_one, self.failed_many, failed, code)
        if skipped:
            result = _counted(
                self.skipped_as_result_one, self.skipped_as_result_many, skipped, code
            )
            sentence = f"{sentence} {result}"
        return sentence + "."

    def runs(self, count: int) -> str:
        return _counted(self.run_one, self.run_many, count, self.code)

    def number(self, count: int) -> str:
        """Return ``count`` with its digits grouped as the language writes them."""
        return f"{count:,}".replace(",", self.thousands)


def _counted(one: str, many: str, count: int, language: str) -> str:
    return (one if is_singular(language, count) else many).format(n=count)


def _status(success: str, errored: str, skipped: str, pending: str) -> Mapping[TaskStatus, str]:
    return MappingProxyType(
        {
            TaskStatus.SUCCESS: success,
            TaskStatus.ERRORED: errored,
            TaskStatus.SKIPPED: skipped,
            TaskStatus.PENDING: pending,
        }
    )


def _changes(new: str, still_failing: str, recovered: str) -> Mapping[TaskChange, str]:
    return MappingProxyType(
        {
            TaskChange.NEW_FAILURE: new,
            TaskChange.STILL_FAILING: still_failing,
            TaskChange.RECOVERED: recovered,
        }
    )


def _skips(
    upstream: str,
    condition: str,
    fail_fast: str,
    deadline: str,
    interrupted: str,
    terminated: str,
    crashed: str,
) -> Mapping[SkipReason, str]:
    """``upstream`` has a ``{cause}`` field for the failed upstream task's name."""
    return MappingProxyType(
        {
            SkipReason.UPSTREAM_FAILED: upstream,
            SkipReason.CONDITION_NOT_MET: condition,
            SkipReason.FAIL_FAST: fail_fast,
            SkipReason.DEADLINE: deadline,
            SkipReason.INTERRUPTED: interrupted,
            SkipReason.TERMINATED: terminated,
            SkipReason.CRASHED: crashed,
        }
    )


def _stops(
    fail_fast: str, deadline: str, interrupted: str, terminated: str, crashed: str
) -> Mapping[StopReason, str]:
    return MappingProxyType(
        {
            StopReason.FAIL_FAST: fail_fast,
            StopReason.DEADLINE: deadline,
            StopReason.INTERRUPTED: interrupted,
            StopReason.TERMINATED: terminated,
            StopReason.CRASHED: crashed,
        }
    )


_EN = Locale(
    code="en",
    status=_status("OK", "FAILED", "SKIPPED", "PENDING"),
    subject_errors="Process errors",
    heading_failures="Failures",
    heading_skipped="Skipped tasks",
    heading_successes="Successful tasks",
    heading_timeline="Timeline",
    label_tasks="Tasks",
    label_succeeded="Succeeded",
    label_failed="Failed",
    label_skipped="Skipped",
    label_duration="Duration",
    label_started="Started",
    label_function="Function",
    label_arguments="Arguments",
    label_error="Error",
    label_attempts="Attempts",
    label_failed_attempts="Failed attempts",
    label_skipped_because="Skipped because of it",
    label_caused_by="because of",
    label_traced_vars="Traced variables",
    label_traceback="Traceback",
    at="at",
    attempt_one="{n} attempt",
    attempt_many="{n} attempts",
    and_more="and {n} more",
    more_lines="... {n} more {n|line|lines}",
    more_chars="... {n} more {n|character|characters}",
    more_vars="... {n} more {n|variable|variables}",
    more_failures=(
        "{n} more failed {n|task|tasks}, shown by name only to keep this message small:"
    ),
    timeline_partial=(
        "Showing {shown} of {total} {total|task|tasks}: the failures and the longest runs."
    ),
    all_ok="Every task succeeded.",
    failed_one="{n} task failed",
    failed_many="{n} tasks failed",
    skipped_as_result_one="and {n} was skipped as a result",
    skipped_as_result_many="and {n} were skipped as a result",
    skipped_one="{n} task was skipped",
    skipped_many="{n} tasks were skipped",
    errors_only="Only the failed tasks are shown.",
    no_tasks="No tasks to report.",
    not_run="not run",
    unnamed="(unnamed process)",
    footer="Sent by processes",
    decimal=".",
    unit_ms="ms",
    unit_s="s",
    unit_min="min",
    unit_h="h",
    subject_failed="Failed:",
    subject_still_failing="Still failing:",
    subject_recovered="Recovered:",
    subject_succeeded="Succeeded:",
    change=_changes("new", "still failing", "recovered"),
    still_failing_since="still failing since {since} ({runs})",
    run_one="{n} run",
    run_many="{n} runs",
    heading_recovered="Recovered tasks",
    label_host="Host",
    label_run="Run",
    attempts_all_same="{attempts}, all: {error}",
    reused="reused",
    ran_again="ran again: {reason}",
    skip_reason=ENGLISH_SKIP_REASONS,  # raise_for_errors() words its message with these
    skipped_for="skipped: {reason}",
    stopped_by=_stops(
        "Stopped early: a task failed and fail-fast was on; tasks not started were skipped.",
        "Stopped by the deadline: tasks still running failed, tasks not started were skipped.",
        "Interrupted (Ctrl-C): tasks not started were skipped.",
        "Terminated (SIGTERM): tasks not started were skipped.",
        "Crashed: the run's process died (killed, out of memory or a reboot); "
        "tasks not started were skipped.",
    ),
    crash_previous="The previous run {run}",
    crash_earlier="An earlier run {run}",
    crash_started=" (started {time})",
    crash_done_one="{finished} of {total} task",
    crash_done_many="{finished} of {total} tasks",
    crash_during="{who} died after {done}, during {running}.",
    crash_between="{who} died after {done}, between tasks.",
    crash_before="{who} died before any task started.",
    crash_more="{n} more earlier {n|run|runs} died too.",
    subject_crashed_ok="Previous run died, this one succeeded:",
    subject_crashed_failed="Previous run died, this one failed:",
    chat_title_failed="{name}: {failed} of {total} {total|task|tasks} failed",
    chat_title_skipped="{name}: {skipped} of {total} {total|task|tasks} skipped",
    chat_title_ok="{name}: {total|the|all} {total} {total|task|tasks} succeeded",
    chat_new_count="{n} new",
    chat_recovered_count="{n} recovered",
    chat_counts=(
        "{total} {total|task|tasks}: {succeeded} succeeded, {errored} errored, {skipped} skipped"
    ),
    chat_took="in {duration}",
    chat_started="started {time}",
    chat_errored_after="errored after {attempts}, {duration}",
    chat_errored_alike="errored after {attempts}, all with this error, {duration}",
    chat_unknown_error="unknown error",
    chat_skipped_count="skipped {n}",
    chat_variables="Variables:",
    chat_variables_at="Variables at {where}:",
    chat_more_failed="{n} more failed {n|task|tasks}",
    chat_see_report="(see the full report)",
    chat_more="{n} more",
    label_recovered="Recovered",
    thousands=",",
    items_succeeded="{ok} of {total} {total|item|items} succeeded",
    items_tally=(
        "{total} {total|item|items}: {succeeded} succeeded, {failed} failed, {skipped} skipped"
    ),
    items_failed="{failed} of {total} {total|item|items} failed",
    chat_title_items="{name}: {items}",
)

_ES = Locale(
    code="es",
    status=_status("CORRECTO", "FALLÓ", "OMITIDA", "PENDIENTE"),
    subject_errors="Errores del proceso",
    heading_failures="Fallos",
    heading_skipped="Tareas omitidas",
    heading_successes="Tareas correctas",
    heading_timeline="Cronología",
    label_tasks="Tareas",
    label_succeeded="Correctas",
    label_failed="Fallidas",
    label_skipped="Omitidas",
    label_duration="Duración",
    label_started="Inicio",
    label_function="Función",
    label_arguments="Argumentos",
    label_error="Error",
    label_attempts="Intentos",
    label_failed_attempts="Intentos fallidos",
    label_skipped_because="Omitidas por su causa",
    label_caused_by="a causa de",
    label_traced_vars="Variables rastreadas",
    label_traceback="Traza",
    at="en",
    attempt_one="{n} intento",
    attempt_many="{n} intentos",
    and_more="y {n} más",
    more_lines="... {n} {n|línea|líneas} más",
    more_chars="... {n} {n|carácter|caracteres} más",
    more_vars="... {n} {n|variable|variables} más",
    more_failures=(
        "{n} {n|tarea fallida|tareas fallidas} más, solo por nombre para que el mensaje sea breve:"
    ),
    timeline_partial=(
        "Se muestran {shown} de {total} {total|tarea|tareas}: los fallos y las más largas."
    ),
    all_ok="Todas las tareas terminaron correctamente.",
    failed_one="{n} tarea falló",
    failed_many="{n} tareas fallaron",
    skipped_as_result_one="y {n} se omitió por ello",
    skipped_as_result_many="y {n} se omitieron por ello",
    skipped_one="{n} tarea se omitió",
    skipped_many="{n} tareas se omitieron",
    errors_only="Solo se muestran las tareas fallidas.",
    no_tasks="No hay tareas que informar.",
    not_run="no ejecutada",
    unnamed="(proceso sin nombre)",
    footer="Enviado por processes",
    decimal=",",
    unit_ms="ms",
    unit_s="s",
    unit_min="min",
    unit_h="h",
    subject_failed="Falló:",
    subject_still_failing="Sigue fallando:",
    subject_recovered="Se recuperó:",
    subject_succeeded="Correcto:",
    change=_changes("nuevo", "sigue fallando", "recuperada"),
    still_failing_since="sigue fallando desde {since} ({runs})",
    run_one="{n} ejecución",
    run_many="{n} ejecuciones",
    heading_recovered="Tareas recuperadas",
    label_host="Equipo",
    label_run="Ejecución",
    attempts_all_same="{attempts}, todos: {error}",
    reused="reutilizada",
    ran_again="se ejecutó de nuevo: {reason}",
    skip_reason=_skips(
        "falló {cause}, de la que depende",
        "nada falló antes",
        "parada al primer fallo",
        "plazo agotado",
        "interrumpida",
        "terminada (SIGTERM)",
        "el proceso de la ejecución murió",
    ),
    skipped_for="omitida: {reason}",
    stopped_by=_stops(
        "Parada anticipada: una tarea falló con fail-fast activo; "
        "las tareas no iniciadas se omitieron.",
        "Parada por el plazo: las tareas en curso fallaron y las no iniciadas se omitieron.",
        "Interrumpida (Ctrl-C): las tareas no iniciadas se omitieron.",
        "Terminada (SIGTERM): las tareas no iniciadas se omitieron.",
        "Caída: el proceso de la ejecución murió (terminado, sin memoria o un reinicio); "
        "las tareas no iniciadas se omitieron.",
    ),
    crash_previous="La ejecución anterior {run}",
    crash_earlier="Una ejecución previa {run}",
    crash_started=" (inicio {time})",
    crash_done_one="{finished} de {total} tarea",
    crash_done_many="{finished} de {total} tareas",
    crash_during="{who} murió tras {done}, durante {running}.",
    crash_between="{who} murió tras {done}, entre dos tareas.",
    crash_before="{who} murió antes de que empezara ninguna tarea.",
    crash_more=(
        "{n|Otra|Otras} {n} "
        "{n|ejecución previa también murió|ejecuciones previas también murieron}."
    ),
    subject_crashed_ok="La ejecución anterior murió, esta fue correcta:",
    subject_crashed_failed="La ejecución anterior murió, esta falló:",
    chat_title_failed="{name}: {failed|falló|fallaron} {failed} de {total} {total|tarea|tareas}",
    chat_title_skipped=(
        "{name}: {skipped|se omitió|se omitieron} {skipped} de {total} {total|tarea|tareas}"
    ),
    chat_title_ok=("{name}: {total} {total|tarea terminó|tareas terminaron} correctamente"),
    chat_new_count="nuevos: {n}",
    chat_recovered_count="recuperadas: {n}",
    chat_counts=(
        "{total} {total|tarea|tareas}: {succeeded} {succeeded|correcta|correctas}, "
        "{errored} {errored|fallida|fallidas}, {skipped} {skipped|omitida|omitidas}"
    ),
    chat_took="en {duration}",
    chat_started="inicio {time}",
    chat_errored_after="falló tras {attempts}, {duration}",
    chat_errored_alike="falló tras {attempts}, todos con este error, {duration}",
    chat_unknown_error="error desconocido",
    chat_skipped_count="{n} {n|omitida|omitidas}",
    chat_variables="Variables:",
    chat_variables_at="Variables en {where}:",
    chat_more_failed="{n} {n|tarea fallida|tareas fallidas} más",
    chat_see_report="(ver el informe completo)",
    chat_more="{n} más",
    label_recovered="Recuperadas",
    thousands=".",
    items_succeeded="{ok} de {total} {total|elemento|elementos} {ok|correcto|correctos}",
    items_tally=(
        "{total} {total|elemento|elementos}: {succeeded} {succeeded|correcto|correctos}, "
        "{failed} {failed|fallido|fallidos}, {skipped} {skipped|omitido|omitidos}"
    ),
    items_failed="{failed|falló|fallaron} {failed} de {total} {total|elemento|elementos}",
    chat_title_items="{name}: {items}",
)

_PT = Locale(
    code="pt",
    status=_status("SUCESSO", "FALHOU", "IGNORADA", "PENDENTE"),
    subject_errors="Erros do processo",
    heading_failures="Falhas",
    heading_skipped="Tarefas ignoradas",
    heading_successes="Tarefas concluídas",
    heading_timeline="Linha do tempo",
    label_tasks="Tarefas",
    label_succeeded="Concluídas",
    label_failed="Com falha",
    label_skipped="Ignoradas",
    label_duration="Duração",
    label_started="Início",
    label_function="Função",
    label_arguments="Argumentos",
    label_error="Erro",
    label_attempts="Tentativas",
    label_failed_attempts="Tentativas falhadas",
    label_skipped_because="Ignoradas por causa dela",
    label_caused_by="por causa de",
    label_traced_vars="Variáveis rastreadas",
    label_traceback="Rastreamento",
    at="em",
    attempt_one="{n} tentativa",
    attempt_many="{n} tentativas",
    and_more="e mais {n}",
    more_lines="... mais {n} {n|linha|linhas}",
    more_chars="... mais {n} {n|caractere|caracteres}",
    more_vars="... mais {n} {n|variável|variáveis}",
    more_failures=(
        "Mais {n} {n|tarefa|tarefas} com falha, só pelo nome para manter a mensagem pequena:"
    ),
    timeline_partial=(
        "Mostrando {shown} de {total} {total|tarefa|tarefas}: as falhas e as mais longas."
    ),
    all_ok="Todas as tarefas foram concluídas.",
    failed_one="{n} tarefa falhou",
    failed_many="{n} tarefas falharam",
    skipped_as_result_one="e {n} foi ignorada em consequência",
    skipped_as_result_many="e {n} foram ignoradas em consequência",
    skipped_one="{n} tarefa foi ignorada",
    skipped_many="{n} tarefas foram ignoradas",
    errors_only="Apenas as tarefas com falha são mostradas.",
    no_tasks="Nenhuma tarefa a relatar.",
    not_run="não executada",
    unnamed="(processo sem nome)",
    footer="Enviado por processes",
    decimal=",",
    unit_ms="ms",
    unit_s="s",
    unit_min="min",
    unit_h="h",
    subject_failed="Falhou:",
    subject_still_failing="Continua a falhar:",
    subject_recovered="Recuperado:",
    subject_succeeded="Concluído:",
    change=_changes("novo", "continua a falhar", "recuperada"),
    still_failing_since="continua a falhar desde {since} ({runs})",
    run_one="{n} execução",
    run_many="{n} execuções",
    heading_recovered="Tarefas recuperadas",
    label_host="Máquina",
    label_run="Execução",
    attempts_all_same="{attempts}, todas: {error}",
    reused="reutilizada",
    ran_again="executada de novo: {reason}",
    skip_reason=_skips(
        "{cause}, da qual depende, falhou",
        "nada falhou antes",
        "paragem na primeira falha",
        "prazo esgotado",
        "interrompida",
        "terminada (SIGTERM)",
        "o processo da execução morreu",
    ),
    skipped_for="ignorada: {reason}",
    stopped_by=_stops(
        "Parado cedo: uma tarefa falhou com fail-fast ativo; "
        "as tarefas não iniciadas foram ignoradas.",
        "Parado pelo prazo: as tarefas em curso falharam e as não iniciadas foram ignoradas.",
        "Interrompido (Ctrl-C): as tarefas não iniciadas foram ignoradas.",
        "Terminado (SIGTERM): as tarefas não iniciadas foram ignoradas.",
        "Falhou: o processo da execução morreu (encerrado, sem memória ou uma reinicialização); "
        "as tarefas não iniciadas foram ignoradas.",
    ),
    crash_previous="A execução anterior {run}",
    crash_earlier="Uma execução anterior {run}",
    crash_started=" (início {time})",
    crash_done_one="{finished} de {total} tarefa",
    crash_done_many="{finished} de {total} tarefas",
    crash_during="{who} morreu após {done}, durante {running}.",
    crash_between="{who} morreu após {done}, entre duas tarefas.",
    crash_before="{who} morreu antes de qualquer tarefa começar.",
    crash_more=(
        "{n|Outra|Outras} {n} "
        "{n|execução anterior também morreu|execuções anteriores também morreram}."
    ),
    subject_crashed_ok="A execução anterior morreu, esta foi concluída:",
    subject_crashed_failed="A execução anterior morreu, esta falhou:",
    chat_title_failed="{name}: {failed} de {total} {total|tarefa|tarefas} {failed|falhou|falharam}",
    chat_title_skipped="{name}: {skipped} de {total} {total|tarefa ignorada|tarefas ignoradas}",
    chat_title_ok="{name}: {total} {total|tarefa concluída|tarefas concluídas}",
    chat_new_count="novos: {n}",
    chat_recovered_count="recuperadas: {n}",
    chat_counts=(
        "{total} {total|tarefa|tarefas}: {succeeded} {succeeded|concluída|concluídas}, "
        "{errored} com falha, {skipped} {skipped|ignorada|ignoradas}"
    ),
    chat_took="em {duration}",
    chat_started="início {time}",
    chat_errored_after="falhou após {attempts}, {duration}",
    chat_errored_alike="falhou após {attempts}, todas com este erro, {duration}",
    chat_unknown_error="erro desconhecido",
    chat_skipped_count="{n} {n|ignorada|ignoradas}",
    chat_variables="Variáveis:",
    chat_variables_at="Variáveis em {where}:",
    chat_more_failed="mais {n} {n|tarefa|tarefas} com falha",
    chat_see_report="(ver o relatório completo)",
    chat_more="mais {n}",
    label_recovered="Recuperadas",
    thousands=".",
    items_succeeded="{ok} de {total} {total|item|itens} com sucesso",
    items_tally=(
        "{total} {total|item|itens}: {succeeded} com sucesso, {failed} com falha, "
        "{skipped} {skipped|ignorado|ignorados}"
    ),
    items_failed="{failed} de {total} {total|item|itens} {failed|falhou|falharam}",
    chat_title_items="{name}: {items}",
)

_FR = Locale(
    code="fr",
    status=_status("RÉUSSI", "ÉCHEC", "IGNORÉE", "EN ATTENTE"),
    subject_errors="Erreurs du processus",
    heading_failures="Échecs",
    heading_skipped="Tâches ignorées",
    heading_successes="Tâches réussies",
    heading_timeline="Chronologie",
    label_tasks="Tâches",
    label_succeeded="Réussies",
    label_failed="En échec",
    label_skipped="Ignorées",
    label_duration="Durée",
    label_started="Début",
    label_function="Fonction",
    label_arguments="Arguments",
    label_error="Erreur",
    label_attempts="Tentatives",
    label_failed_attempts="Tentatives échouées",
    label_skipped_because="Ignorées à cause d'elle",
    label_caused_by="à cause de",
    label_traced_vars="Variables tracées",
    label_traceback="Pile d'appels",
    at="à",
    attempt_one="{n} tentative",
    attempt_many="{n} tentatives",
    and_more="et {n} de plus",
    more_lines="... {n} {n|ligne|lignes} de plus",
    more_chars="... {n} {n|caractère|caractères} de plus",
    more_vars="... {n} {n|variable|variables} de plus",
    more_failures=(
        "{n} {n|autre tâche|autres tâches} en échec, {n|nommée|nommées} seulement pour garder "
        "ce message court :"
    ),
    timeline_partial="{shown} {shown|tâche|tâches} sur {total} : les échecs et les plus longues.",
    all_ok="Toutes les tâches ont réussi.",
    failed_one="{n} tâche a échoué",
    failed_many="{n} tâches ont échoué",
    skipped_as_result_one="et {n} a été ignorée en conséquence",
    skipped_as_result_many="et {n} ont été ignorées en conséquence",
    skipped_one="{n} tâche a été ignorée",
    skipped_many="{n} tâches ont été ignorées",
    errors_only="Seules les tâches en échec sont affichées.",
    no_tasks="Aucune tâche à signaler.",
    not_run="non exécutée",
    unnamed="(processus sans nom)",
    footer="Envoyé par processes",
    decimal=",",
    unit_ms="ms",
    unit_s="s",
    unit_min="min",
    unit_h="h",
    subject_failed="Échec :",
    subject_still_failing="Toujours en échec :",
    subject_recovered="Rétabli :",
    subject_succeeded="Réussi :",
    change=_changes("nouveau", "toujours en échec", "rétablie"),
    still_failing_since="toujours en échec depuis {since} ({runs})",
    run_one="{n} exécution",
    run_many="{n} exécutions",
    heading_recovered="Tâches rétablies",
    label_host="Hôte",
    label_run="Exécution",
    attempts_all_same="{attempts}, toutes : {error}",
    reused="réutilisée",
    ran_again="exécutée à nouveau : {reason}",
    skip_reason=_skips(
        "{cause}, en amont, a échoué",
        "rien n'a échoué en amont",
        "arrêt au premier échec",
        "délai dépassé",
        "interrompue",
        "terminée (SIGTERM)",
        "le processus de l'exécution est mort",
    ),
    skipped_for="ignorée : {reason}",
    stopped_by=_stops(
        "Arrêt anticipé : une tâche a échoué avec fail-fast ; "
        "les tâches non démarrées ont été ignorées.",
        "Arrêt au délai : les tâches en cours ont échoué, "
        "les tâches non démarrées ont été ignorées.",
        "Interrompu (Ctrl-C) : les tâches non démarrées ont été ignorées.",
        "Terminé (SIGTERM) : les tâches non démarrées ont été ignorées.",
        "Plantée : le processus de l'exécution est mort (tué, mémoire épuisée ou redémarrage) ; "
        "les tâches non démarrées ont été ignorées.",
    ),
    crash_previous="L'exécution précédente {run}",
    crash_earlier="Une exécution antérieure {run}",
    crash_started=" (début {time})",
    crash_done_one="{finished} sur {total} tâche",
    crash_done_many="{finished} sur {total} tâches",
    crash_during="{who} est morte après {done}, pendant {running}.",
    crash_between="{who} est morte après {done}, entre deux tâches.",
    crash_before="{who} est morte avant qu'aucune tâche ne démarre.",
    crash_more=(
        "{n} {n|autre exécution antérieure est morte|autres exécutions antérieures sont mortes}"
        " aussi."
    ),
    subject_crashed_ok="Exécution précédente morte, celle-ci a réussi :",
    subject_crashed_failed="Exécution précédente morte, celle-ci a échoué :",
    chat_title_failed="{name} : {failed} sur {total} {total|tâche|tâches} en échec",
    chat_title_skipped="{name} : {skipped} sur {total} {total|tâche ignorée|tâches ignorées}",
    chat_title_ok="{name} : {total} {total|tâche réussie|tâches réussies}",
    chat_new_count="nouveaux : {n}",
    chat_recovered_count="rétablies : {n}",
    chat_counts=(
        "{total} {total|tâche|tâches} : {succeeded} {succeeded|réussie|réussies}, "
        "{errored} en échec, {skipped} {skipped|ignorée|ignorées}"
    ),
    chat_took="en {duration}",
    chat_started="début {time}",
    chat_errored_after="en échec après {attempts}, {duration}",
    chat_errored_alike="en échec après {attempts}, toutes avec cette erreur, {duration}",
    chat_unknown_error="erreur inconnue",
    chat_skipped_count="{n} {n|ignorée|ignorées}",
    chat_variables="Variables :",
    chat_variables_at="Variables à {where} :",
    chat_more_failed="{n} {n|autre tâche|autres tâches} en échec",
    chat_see_report="(voir le rapport complet)",
    chat_more="{n} de plus",
    label_recovered="Rétablies",
    thousands="\u202f",
    items_succeeded="{ok} {ok|élément|éléments} sur {total} {ok|réussi|réussis}",
    items_tally=(
        "{total} {total|élément|éléments} : {succeeded} {succeeded|réussi|réussis}, "
        "{failed} en échec, {skipped} {skipped|ignoré|ignorés}"
    ),
    items_failed="{failed} sur {total} {total|élément|éléments} en échec",
    chat_title_items="{name} : {items}",
)

_DE = Locale(
    code="de",
    status=_status("ERFOLGREICH", "FEHLGESCHLAGEN", "ÜBERSPRUNGEN", "AUSSTEHEND"),
    subject_errors="Prozessfehler",
    heading_failures="Fehler",
    heading_skipped="Übersprungene Aufgaben",
    heading_successes="Erfolgreiche Aufgaben",
    heading_timeline="Zeitverlauf",
    label_tasks="Aufgaben",
    label_succeeded="Erfolgreich",
    label_failed="Fehlgeschlagen",
    label_skipped="Übersprungen",
    label_duration="Dauer",
    label_started="Beginn",
    label_function="Funktion",
    label_arguments="Argumente",
    label_error="Fehlermeldung",
    label_attempts="Versuche",
    label_failed_attempts="Fehlgeschlagene Versuche",
    label_skipped_because="Deshalb übersprungen",
    label_caused_by="wegen",
    label_traced_vars="Erfasste Variablen",
    label_traceback="Stacktrace",
    at="in",
    attempt_one="{n} Versuch",
    attempt_many="{n} Versuche",
    and_more="und {n} weitere",
    more_lines="... {n} {n|weitere Zeile|weitere Zeilen}",
    more_chars="... {n} {n|weiteres Zeichen|weitere Zeichen}",
    more_vars="... {n} {n|weitere Variable|weitere Variablen}",
    more_failures=(
        "{n} {n|weitere fehlgeschlagene Aufgabe|weitere fehlgeschlagene Aufgaben}, nur mit "
        "Namen, damit die Nachricht klein bleibt:"
    ),
    timeline_partial="{shown} von {total} {total|Aufgabe|Aufgaben}: die Fehler und die längsten.",
    all_ok="Alle Aufgaben waren erfolgreich.",
    failed_one="{n} Aufgabe ist fehlgeschlagen",
    failed_many="{n} Aufgaben sind fehlgeschlagen",
    skipped_as_result_one="und {n} wurde deshalb übersprungen",
    skipped_as_result_many="und {n} wurden deshalb übersprungen",
    skipped_one="{n} Aufgabe wurde übersprungen",
    skipped_many="{n} Aufgaben wurden übersprungen",
    errors_only="Es werden nur die fehlgeschlagenen Aufgaben gezeigt.",
    no_tasks="Keine Aufgaben zu melden.",
    not_run="nicht ausgeführt",
    unnamed="(unbenannter Prozess)",
    footer="Gesendet von processes",
    decimal=",",
    unit_ms="ms",
    unit_s="s",
    unit_min="min",
    unit_h="h",
    subject_failed="Fehlgeschlagen:",
    subject_still_failing="Weiterhin fehlgeschlagen:",
    subject_recovered="Wieder erfolgreich:",
    subject_succeeded="Erfolgreich:",
    change=_changes("neu", "weiterhin fehlgeschlagen", "wieder erfolgreich"),
    still_failing_since="fehlgeschlagen seit {since} ({runs})",
    run_one="{n} Lauf",
    run_many="{n} Läufe",
    heading_recovered="Wieder erfolgreiche Aufgaben",
    label_host="Host",
    label_run="Lauf",
    attempts_all_same="{attempts}, alle: {error}",
    reused="wiederverwendet",
    ran_again="erneut ausgeführt: {reason}",
    skip_reason=_skips(
        "vorgelagerte Aufgabe {cause} fehlgeschlagen",
        "nichts davor ist fehlgeschlagen",
        "Abbruch beim ersten Fehler",
        "Frist abgelaufen",
        "unterbrochen",
        "beendet (SIGTERM)",
        "der Prozess des Laufs ist gestorben",
    ),
    skipped_for="übersprungen: {reason}",
    stopped_by=_stops(
        "Vorzeitig beendet: eine Aufgabe ist mit fail-fast fehlgeschlagen; "
        "nicht gestartete Aufgaben wurden übersprungen.",
        "Durch die Frist beendet: laufende Aufgaben sind fehlgeschlagen, "
        "nicht gestartete wurden übersprungen.",
        "Unterbrochen (Strg-C): nicht gestartete Aufgaben wurden übersprungen.",
        "Beendet (SIGTERM): nicht gestartete Aufgaben wurden übersprungen.",
        "Abgestürzt: der Prozess des Laufs ist gestorben (beendet, kein Speicher oder ein "
        "Neustart); nicht gestartete Aufgaben wurden übersprungen.",
    ),
    crash_previous="Der vorherige Lauf {run}",
    crash_earlier="Ein früherer Lauf {run}",
    crash_started=" (Beginn {time})",
    crash_done_one="{finished} von {total} Aufgabe",
    crash_done_many="{finished} von {total} Aufgaben",
    crash_during="{who} ist nach {done} gestorben, während {running}.",
    crash_between="{who} ist nach {done} gestorben, zwischen zwei Aufgaben.",
    crash_before="{who} ist gestorben, bevor eine Aufgabe begann.",
    crash_more=(
        "{n} {n|weiterer früherer Lauf ist|weitere frühere Läufe sind} ebenfalls gestorben."
    ),
    subject_crashed_ok="Vorheriger Lauf gestorben, dieser erfolgreich:",
    subject_crashed_failed="Vorheriger Lauf gestorben, dieser fehlgeschlagen:",
    chat_title_failed="{name}: {failed} von {total} {total|Aufgabe|Aufgaben} fehlgeschlagen",
    chat_title_skipped="{name}: {skipped} von {total} {total|Aufgabe|Aufgaben} übersprungen",
    chat_title_ok="{name}: {total} {total|Aufgabe|Aufgaben} erfolgreich",
    chat_new_count="neu: {n}",
    chat_recovered_count="wieder erfolgreich: {n}",
    chat_counts=(
        "{total} {total|Aufgabe|Aufgaben}: {succeeded} erfolgreich, {errored} fehlgeschlagen, "
        "{skipped} übersprungen"
    ),
    chat_took="in {duration}",
    chat_started="Beginn {time}",
    chat_errored_after="fehlgeschlagen nach {attempts}, {duration}",
    chat_errored_alike="fehlgeschlagen nach {attempts}, alle mit diesem Fehler, {duration}",
    chat_unknown_error="unbekannter Fehler",
    chat_skipped_count="{n} übersprungen",
    chat_variables="Variablen:",
    chat_variables_at="Variablen in {where}:",
    chat_more_failed=("{n} {n|weitere fehlgeschlagene Aufgabe|weitere fehlgeschlagene Aufgaben}"),
    chat_see_report="(siehe den vollständigen Bericht)",
    chat_more="{n} weitere",
    label_recovered="Wieder erfolgreich",
    thousands=".",
    items_succeeded="{ok} von {total} {total|Element|Elementen} erfolgreich",
    items_tally=(
        "{total} {total|Element|Elemente}: {succeeded} erfolgreich, {failed} fehlgeschlagen, "
        "{skipped} übersprungen"
    ),
    items_failed="{failed} von {total} {total|Element|Elementen} fehlgeschlagen",
    chat_title_items="{name}: {items}",
)

_IT = Locale(
    code="it",
    status=_status("RIUSCITA", "FALLITA", "SALTATA", "IN ATTESA"),
    subject_errors="Errori del processo",
    heading_failures="Errori",
    heading_skipped="Attività saltate",
    heading_successes="Attività riuscite",
    heading_timeline="Cronologia",
    label_tasks="Attività",
    label_succeeded="Riuscite",
    label_failed="Fallite",
    label_skipped="Saltate",
    label_duration="Durata",
    label_started="Inizio",
    label_function="Funzione",
    label_arguments="Argomenti",
    label_error="Errore",
    label_attempts="Tentativi",
    label_failed_attempts="Tentativi falliti",
    label_skipped_because="Saltate a causa sua",
    label_caused_by="a causa di",
    label_traced_vars="Variabili tracciate",
    label_traceback="Traccia dello stack",
    at="in",
    attempt_one="{n} tentativo",
    attempt_many="{n} tentativi",
    and_more="e {n} {n|altra|altre}",
    more_lines="... {n} {n|altra riga|altre righe}",
    more_chars="... {n} {n|altro carattere|altri caratteri}",
    more_vars="... {n} {n|altra variabile|altre variabili}",
    more_failures=(
        "{n} {n|altra attività fallita|altre attività fallite}, solo per nome per tenere breve "
        "il messaggio:"
    ),
    timeline_partial="{shown} attività su {total}: gli errori e le più lunghe.",
    all_ok="Tutte le attività sono riuscite.",
    failed_one="{n} attività è fallita",
    failed_many="{n} attività sono fallite",
    skipped_as_result_one="e {n} è stata saltata di conseguenza",
    skipped_as_result_many="e {n} sono state saltate di conseguenza",
    skipped_one="{n} attività è stata saltata",
    skipped_many="{n} attività sono state saltate",
    errors_only="Sono mostrate solo le attività fallite.",
    no_tasks="Nessuna attività da segnalare.",
    not_run="non eseguita",
    unnamed="(processo senza nome)",
    footer="Inviato da processes",
    decimal=",",
    unit_ms="ms",
    unit_s="s",
    unit_min="min",
    unit_h="h",
    subject_failed="Fallito:",
    subject_still_failing="Ancora in errore:",
    subject_recovered="Ripristinato:",
    subject_succeeded="Riuscito:",
    change=_changes("nuovo", "ancora in errore", "ripristinata"),
    still_failing_since="ancora in errore dal {since} ({runs})",
    run_one="{n} esecuzione",
    run_many="{n} esecuzioni",
    heading_recovered="Attività ripristinate",
    label_host="Host",
    label_run="Esecuzione",
    attempts_all_same="{attempts}, tutti: {error}",
    reused="riutilizzata",
    ran_again="eseguita di nuovo: {reason}",
    skip_reason=_skips(
        "{cause}, a monte, è fallita",
        "niente è fallito a monte",
        "arresto al primo errore",
        "scadenza superata",
        "interrotta",
        "terminata (SIGTERM)",
        "il processo dell'esecuzione è morto",
    ),
    skipped_for="saltata: {reason}",
    stopped_by=_stops(
        "Fermato in anticipo: un'attività è fallita con fail-fast; "
        "le attività non avviate sono state saltate.",
        "Fermato dalla scadenza: le attività in corso sono fallite, "
        "quelle non avviate sono state saltate.",
        "Interrotto (Ctrl-C): le attività non avviate sono state saltate.",
        "Terminato (SIGTERM): le attività non avviate sono state saltate.",
        "Caduto: il processo dell'esecuzione è morto (ucciso, memoria esaurita o riavvio); "
        "le attività non avviate sono state saltate.",
    ),
    crash_previous="L'esecuzione precedente {run}",
    crash_earlier="Un'esecuzione precedente {run}",
    crash_started=" (inizio {time})",
    crash_done_one="{finished} di {total} attività",
    crash_done_many="{finished} di {total} attività",
    crash_during="{who} è morta dopo {done}, durante {running}.",
    crash_between="{who} è morta dopo {done}, tra due attività.",
    crash_before="{who} è morta prima che iniziasse qualsiasi attività.",
    crash_more=(
        "{n|Anche un'altra|Anche altre} {n} "
        "{n|esecuzione precedente è morta|esecuzioni precedenti sono morte}."
    ),
    subject_crashed_ok="Esecuzione precedente morta, questa riuscita:",
    subject_crashed_failed="Esecuzione precedente morta, questa fallita:",
    chat_title_failed="{name}: {failed} su {total} attività {failed|fallita|fallite}",
    chat_title_skipped="{name}: {skipped} su {total} attività {skipped|saltata|saltate}",
    chat_title_ok="{name}: {total} attività {total|riuscita|riuscite}",
    chat_new_count="nuovi: {n}",
    chat_recovered_count="ripristinate: {n}",
    chat_counts=(
        "{total} attività: {succeeded} {succeeded|riuscita|riuscite}, "
        "{errored} {errored|fallita|fallite}, {skipped} {skipped|saltata|saltate}"
    ),
    chat_took="in {duration}",
    chat_started="inizio {time}",
    chat_errored_after="fallita dopo {attempts}, {duration}",
    chat_errored_alike="fallita dopo {attempts}, tutti con questo errore, {duration}",
    chat_unknown_error="errore sconosciuto",
    chat_skipped_count="{n} {n|saltata|saltate}",
    chat_variables="Variabili:",
    chat_variables_at="Variabili in {where}:",
    chat_more_failed="{n} {n|altra attività fallita|altre attività fallite}",
    chat_see_report="(vedi il rapporto completo)",
    chat_more="{n} {n|altra|altre}",
    label_recovered="Ripristinate",
    thousands=".",
    items_succeeded="{ok} {ok|elemento|elementi} su {total} {ok|riuscito|riusciti}",
    items_tally=(
        "{total} {total|elemento|elementi}: {succeeded} {succeeded|riuscito|riusciti}, "
        "{failed} {failed|fallito|falliti}, {skipped} {skipped|saltato|saltati}"
    ),
    items_failed="{failed} su {total} {total|elemento|elementi} {failed|fallito|falliti}",
    chat_title_items="{name}: {items}",
)

_LOCALES: Mapping[str, Locale] = MappingProxyType(
    {locale.code: locale for locale in (_EN, _ES, _PT, _FR, _DE, _IT)}
)

#: Language codes a rendering accepts, in the order the docs list them.
LANGUAGES: tuple[str, ...] = tuple(_LOCALES)


def get_locale(language: str) -> Locale:
    """Return the words for ``language``; raise ``ValueError`` for one we do not have."""
    try:
        return _LOCALES[language]
    except (KeyError, TypeError):
        raise ValueError(
            f"language must be one of {', '.join(LANGUAGES)}; got {language!r}"
        ) from None


# -- the watch's findings (§14) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingWords:
    """The words of a finding of the watch, in one language.

    ``titles`` and ``sentences`` are keyed by the finding's kind (``"missed"`` ...);
    a sentence's fields are ``{name}``, ``{run}``, ``{since}``, ``{started}``, ``{took}``
    and ``{limit}``. ``outcomes`` are keyed ``ok``, ``failed``, ``crashed``, ``running``.
    """

    code: str
    titles: Mapping[str, str]
    sentences: Mapping[str, str]
    outcomes: Mapping[str, str]
    heading: str
    label_since: str
    label_last_run: str
    label_run: str
    label_outcome: str
    label_took: str
    label_usual: str
    label_limit: str
    label_checked: str
    no_run: str
    usual_unknown: str
    footer: str


_KINDS = ("missed", "crashed", "overdue", "too_long", "too_short", "back")


def _by_kind(*words: str) -> Mapping[str, str]:
    return MappingProxyType(dict(zip(_KINDS, words, strict=True)))


def _outcomes(ok: str, failed: str, crashed: str, running: str) -> Mapping[str, str]:
    return MappingProxyType({"ok": ok, "failed": failed, "crashed": crashed, "running": running})


_FINDING_WORDS: Mapping[str, FindingWords] = MappingProxyType(
    {
        words.code: words
        for words in (
            FindingWords(
                code="en",
                titles=_by_kind("Missed", "Crashed", "Overdue", "Too long", "Too short", "Back"),
                sentences=_by_kind(
                    "{name} did not run: a run was due at {since} and none has started since.",
                    "The run {run} of {name} died without a word (last sign of life at {since}).",
                    "The run {run} of {name} has been running for more than {limit}"
                    " (since {since}).",
                    "The run {run} of {name} took {took}, longer than {limit}.",
                    "The run {run} of {name} took only {took}, shorter than {limit}.",
                    "{name} is running again: the run {run} started at {started}.",
                ),
                outcomes=_outcomes("succeeded", "failed", "died", "still running"),
                heading="What the watch found",
                label_since="Since",
                label_last_run="Last run",
                label_run="Run",
                label_outcome="Outcome",
                label_took="Took",
                label_usual="Usual duration",
                label_limit="Limit",
                label_checked="Checked",
                no_run="none recorded",
                usual_unknown="not known yet (fewer than 5 successful runs)",
                footer="Found by the watch of processes in the run history.",
            ),
            FindingWords(
                code="es",
                titles=_by_kind(
                    "Sin ejecutar",
                    "Murió",
                    "Excede su tiempo",
                    "Demasiado larga",
                    "Demasiado corta",
                    "De vuelta",
                ),
                sentences=_by_kind(
                    "{name} no se ejecutó: tocaba una ejecución a las {since} y ninguna ha"
                    " empezado desde entonces.",
                    "La ejecución {run} de {name} murió sin avisar (última señal de vida:"
                    " {since}).",
                    "La ejecución {run} de {name} lleva más de {limit} en marcha (desde {since}).",
                    "La ejecución {run} de {name} tardó {took}, más de {limit}.",
                    "La ejecución {run} de {name} tardó solo {took}, menos de {limit}.",
                    "{name} vuelve a ejecutarse: la ejecución {run} empezó a las {started}.",
                ),
                outcomes=_outcomes("correcta", "fallida", "muerta", "en curso"),
                heading="Lo que encontró la vigilancia",
                label_since="Desde",
                label_last_run="Última ejecución",
                label_run="Ejecución",
                label_outcome="Resultado",
                label_took="Duración",
                label_usual="Duración habitual",
                label_limit="Límite",
                label_checked="Comprobado",
                no_run="ninguna registrada",
                usual_unknown="aún no se conoce (menos de 5 ejecuciones correctas)",
                footer="Encontrado por la vigilancia de processes en el historial de ejecuciones.",
            ),
            FindingWords(
                code="pt",
                titles=_by_kind(
                    "Não executou", "Morreu", "Atrasada", "Longa demais", "Curta demais", "De volta"
                ),
                sentences=_by_kind(
                    "{name} não executou: uma execução era esperada às {since} e nenhuma"
                    " começou desde então.",
                    "A execução {run} de {name} morreu sem aviso (último sinal de vida: {since}).",
                    "A execução {run} de {name} está em andamento há mais de {limit}"
                    " (desde {since}).",
                    "A execução {run} de {name} levou {took}, mais de {limit}.",
                    "A execução {run} de {name} levou apenas {took}, menos de {limit}.",
                    "{name} voltou a executar: a execução {run} começou às {started}.",
                ),
                outcomes=_outcomes("bem-sucedida", "falhou", "morreu", "em andamento"),
                heading="O que a vigilância encontrou",
                label_since="Desde",
                label_last_run="Última execução",
                label_run="Execução",
                label_outcome="Resultado",
                label_took="Duração",
                label_usual="Duração habitual",
                label_limit="Limite",
                label_checked="Verificado",
                no_run="nenhuma registrada",
                usual_unknown="ainda desconhecida (menos de 5 execuções bem-sucedidas)",
                footer="Encontrado pela vigilância do processes no histórico de execuções.",
            ),
            FindingWords(
                code="fr",
                titles=_by_kind(
                    "Manquée", "Morte", "En retard", "Trop longue", "Trop courte", "De retour"
                ),
                sentences=_by_kind(
                    "{name} ne s'est pas exécuté : une exécution était attendue à {since}"
                    " et aucune n'a démarré depuis.",
                    "L'exécution {run} de {name} est morte sans un mot (dernier signe de vie :"
                    " {since}).",
                    "L'exécution {run} de {name} tourne depuis plus de {limit} (depuis {since}).",
                    "L'exécution {run} de {name} a duré {took}, plus que {limit}.",
                    "L'exécution {run} de {name} n'a duré que {took}, moins que {limit}.",
                    "{name} tourne de nouveau : l'exécution {run} a démarré à {started}.",
                ),
                outcomes=_outcomes("réussie", "échouée", "morte", "en cours"),
                heading="Ce que la surveillance a trouvé",
                label_since="Depuis",
                label_last_run="Dernière exécution",
                label_run="Exécution",
                label_outcome="Résultat",
                label_took="Durée",
                label_usual="Durée habituelle",
                label_limit="Limite",
                label_checked="Vérifié",
                no_run="aucune enregistrée",
                usual_unknown="pas encore connue (moins de 5 exécutions réussies)",
                footer="Trouvé par la surveillance de processes dans l'historique des exécutions.",
            ),
            FindingWords(
                code="de",
                titles=_by_kind(
                    "Ausgefallen", "Abgestürzt", "Überfällig", "Zu lang", "Zu kurz", "Wieder da"
                ),
                sentences=_by_kind(
                    "{name} ist nicht gelaufen: Ein Lauf war um {since} fällig, und seitdem"
                    " hat keiner begonnen.",
                    "Der Lauf {run} von {name} ist wortlos gestorben (letztes Lebenszeichen:"
                    " {since}).",
                    "Der Lauf {run} von {name} läuft seit mehr als {limit} (seit {since}).",
                    "Der Lauf {run} von {name} dauerte {took}, länger als {limit}.",
                    "Der Lauf {run} von {name} dauerte nur {took}, kürzer als {limit}.",
                    "{name} läuft wieder: Der Lauf {run} begann um {started}.",
                ),
                outcomes=_outcomes("erfolgreich", "fehlgeschlagen", "gestorben", "läuft noch"),
                heading="Was die Überwachung gefunden hat",
                label_since="Seit",
                label_last_run="Letzter Lauf",
                label_run="Lauf",
                label_outcome="Ergebnis",
                label_took="Dauer",
                label_usual="Übliche Dauer",
                label_limit="Grenze",
                label_checked="Geprüft",
                no_run="keiner aufgezeichnet",
                usual_unknown="noch unbekannt (weniger als 5 erfolgreiche Läufe)",
                footer="Gefunden von der Überwachung von processes im Verlauf der Läufe.",
            ),
            FindingWords(
                code="it",
                titles=_by_kind(
                    "Mancata",
                    "Morta",
                    "In ritardo",
                    "Troppo lunga",
                    "Troppo breve",
                    "Di nuovo attiva",
                ),
                sentences=_by_kind(
                    "{name} non è stato eseguito: un'esecuzione era prevista alle {since}"
                    " e da allora non ne è iniziata nessuna.",
                    "L'esecuzione {run} di {name} è morta senza avvisare (ultimo segno di"
                    " vita: {since}).",
                    "L'esecuzione {run} di {name} è in corso da più di {limit} (dalle {since}).",
                    "L'esecuzione {run} di {name} è durata {took}, più di {limit}.",
                    "L'esecuzione {run} di {name} è durata solo {took}, meno di {limit}.",
                    "{name} è di nuovo in esecuzione: l'esecuzione {run} è iniziata alle"
                    " {started}.",
                ),
                outcomes=_outcomes("riuscita", "fallita", "morta", "in corso"),
                heading="Cosa ha trovato la sorveglianza",
                label_since="Da",
                label_last_run="Ultima esecuzione",
                label_run="Esecuzione",
                label_outcome="Esito",
                label_took="Durata",
                label_usual="Durata abituale",
                label_limit="Limite",
                label_checked="Controllato",
                no_run="nessuna registrata",
                usual_unknown="ancora sconosciuta (meno di 5 esecuzioni riuscite)",
                footer="Trovato dalla sorveglianza di processes nella cronologia delle esecuzioni.",
            ),
        )
    }
)


def finding_words(language: str) -> FindingWords:
    """Return the finding words for ``language`` (one of ``LANGUAGES``)."""
    get_locale(language)  # the same ValueError for a language we do not have
    return _FINDING_WORDS[language]
