"""What is secret, and where it is hidden: the one entry point of redaction.

Secrets are found three ways, a module each: by name (``names``: a variable, key,
parameter or option named like ``DEFAULT_REDACT``; the ``Redactor`` in ``redactor``
hides what such names hold), by shape (``shapes``: a URL's password, an
``Authorization`` credential, ``CREDENTIAL_SHAPES``) and by environment value
(``environment``: the values of secret-named variables, read once per run). Whatever a
strategy finds is then masked wherever it reappears (``masking``: ``REDACTED``,
``remember_secret``, ``mask``). The policy, each row applied in one room by the function
named here:

==============================  ================  ===========================================
What is hidden                  Where             By
==============================  ================  ===========================================
a failure's traced locals       capture           ``capture_failure``: secret names
                                                  ``REDACTED``, the rest ``Redactor.scrub``
a failure's message, traceback  capture           ``mask`` (values remembered from locals and
and traced variables' text                        arguments, ``Redactor.collect``, and
                                                  ``Redactor.known_values``), then
                                                  ``Redactor.mask_shapes``; the locals and
                                                  secret-named attributes of every exception
                                                  of its chain or group (breadth-first, within
                                                  a budget); one not searched is shown as
                                                  ``capture.NOT_SEARCHED``, never its text
the same, for secrets received  execution         ``Failure.masked`` (upstream results passed
from upstream or known only                       to secret-named parameters; a worker's
to this process                                   failure, by this process's environment)
an entry's arguments            task, execution   ``Task.hide_secret_args`` (secret-named
                                                  parameters), ``Redactor.scrub_args``,
                                                  ``Redactor.scrub_kwargs``
an entry's result               execution         ``Redactor.scrub`` (into dicts and their
                                                  keys, lists, tuples, sets, deques, dict
                                                  views, bytes); ``REDACTED`` when a
                                                  dependant takes it under a secret name
the report at delivery          report.delivery   ``channel_secrets`` (each channel's
                                                  ``secret_values()``) then ``masked_report``
                                                  (also ``ProcessExecutionReport.masked``)
a channel's own URL, password   channels          the channel's own masking with ``mask`` and
and headers in its messages                       ``remember_secret`` (``redact_url``, ...)
the stored command line         history           ``Redactor.mask_command_line``: secret-named
                                                  options' values ``REDACTED``, every argument
                                                  by ``Redactor.mask_text``
the process's name              process           ``Redactor.mask_shapes`` as the run starts:
                                                  every view, channel and record shows it so
a result shown masked           history, resume   never stored in clear; a resumed run runs
                                                  that task again
==============================  ================  ===========================================

Other modules import from here, never from the modules below. Imports ``saferepr`` only;
the report only for type checking.
"""

from processes.redaction.environment import (
    SECRET_ENVIRONMENT_ENDINGS,
    KnownSecrets,
    environment_secrets,
    is_secret_environment_name,
    read_environment,
)
from processes.redaction.masking import REDACTED, mask, remember_secret, secret_forms
from processes.redaction.names import DEFAULT_REDACT
from processes.redaction.redactor import DEFAULT_REDACTOR, UNSCRUBBED_TYPES, Redactor
from processes.redaction.reports import channel_secrets, masked_report
from processes.redaction.shapes import (
    CREDENTIAL_SHAPES,
    CredentialShape,
    mask_credential_shapes,
)

__all__ = [
    "CREDENTIAL_SHAPES",
    "DEFAULT_REDACT",
    "DEFAULT_REDACTOR",
    "REDACTED",
    "SECRET_ENVIRONMENT_ENDINGS",
    "UNSCRUBBED_TYPES",
    "CredentialShape",
    "KnownSecrets",
    "Redactor",
    "channel_secrets",
    "environment_secrets",
    "is_secret_environment_name",
    "mask",
    "mask_credential_shapes",
    "masked_report",
    "read_environment",
    "remember_secret",
    "secret_forms",
]
