"""Credentials found by their shape, whatever their value: a URL's password, an
``Authorization`` credential, and vendors' published token formats (``CREDENTIAL_SHAPES``).

Imports only ``redaction.masking``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from processes.redaction.masking import REDACTED

__all__ = [
    "CREDENTIAL_SHAPES",
    "CredentialShape",
    "mask_credential_shapes",
    "mask_url_and_authorization",
]

# scheme://user:password@host, the password up to the last "@" before the host (one
# written unencoded may hold "/" or "@"); a port followed by a path is no password.
_URL_PASSWORD = re.compile(r"(?P<head>://[^/\s:@\"',]*:)(?P<password>[^\s\"',?#]+)@(?=[\w\[])")
_CREDENTIAL = re.compile(
    r"\b(?P<scheme>[Bb]asic|[Bb]earer|[Tt]oken) (?P<credential>[\w.~+/=-]{8,})"
)


def _mask_url_password(found: re.Match[str]) -> str:
    port, slash, _ = found["password"].partition("/")
    if slash and port.isdigit():  # host:8080/path/@scope: a port, not a password
        return found[0]
    return f"{found['head']}{REDACTED}@"


def _mask_credential(found: re.Match[str]) -> str:
    credential = found["credential"]
    if credential.isalpha() and credential[1:].islower():  # "Basic Authentication": prose
        return found[0]
    return f"{found['scheme']} {REDACTED}"


def mask_url_and_authorization(text: str) -> str:
    """Mask a URL's password (``postgresql://user:[redacted]@host``) and the credential
    after ``Basic``, ``Bearer`` or ``Token``; ``text`` itself when neither is there."""
    # Each pass only where it can find something: results can be megabytes of text.
    if "://" in text:
        text = _URL_PASSWORD.sub(_mask_url_password, text)
    if "asic " in text or "earer " in text or "oken " in text:  # [Bb]asic, [Bb]earer, ...
        text = _CREDENTIAL.sub(_mask_credential, text)
    return text


class CredentialShape(NamedTuple):
    """A kind of credential recognised by its published format, wherever it appears.

    ``pattern`` runs only on text holding one of ``hints``; its ``kept`` group (a
    vendor's public prefix, telling which kind of credential it was) stays readable.
    """

    name: str
    hints: tuple[str, ...]
    pattern: re.Pattern[str]
    source: str


def _token(prefix: str, width: int, body: str) -> re.Pattern[str]:
    """A token: a literal ``prefix`` (a regex ``width`` characters wide) that starts a
    word, then ``body``.

    The prefix comes first, so that the regex engine searches for it as fast as ``in``
    does; the look-behind after it checks that no letter or digit stands before it
    (a ``\\n`` written by ``repr`` may). Every quantifier in ``body`` is possessive or
    bounded: no match attempt goes back over what it consumed, and attempts start only
    where a word starts, so a scan is linear in the length of the text.
    """
    before = f"(?:(?<![A-Za-z0-9_].{{{width}}})|(?<=\\\\[nrt].{{{width}}}))"
    return re.compile(f"(?P<kept>{prefix}){before}{body}")


#: The credentials masked by their shape (SPEC §5), with the documents that publish each
#: format. A token keeps its vendor's prefix (``sk_live_[redacted]``), so a reader can
#: tell which credential leaked and rotate it.
CREDENTIAL_SHAPES: tuple[CredentialShape, ...] = (
    CredentialShape(
        "Stripe secret or restricted key",
        ("k_live_", "k_test_"),
        _token("[sr]k_(?:live|test)_", 8, "[0-9A-Za-z]{16,}+"),
        "Stripe, API keys: https://docs.stripe.com/keys",
    ),
    CredentialShape(
        "GitHub token (personal, OAuth, user, server, refresh)",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        _token("gh[pousr]_", 4, "[0-9A-Za-z]{36}(?![0-9A-Za-z])"),
        "GitHub, Behind GitHub's new authentication token formats: "
        "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/",
    ),
    CredentialShape(
        "GitHub fine-grained personal access token",
        ("github_pat_",),
        _token("github_pat_", 11, "[0-9A-Za-z_]{22,}+"),
        "GitHub, Managing your personal access tokens: https://docs.github.com/en/"
        "authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens",
    ),
    CredentialShape(
        "Slack token (bot, user, app, refresh, configuration)",
        ("xox",),
        _token("xox[abpors]-", 5, "[0-9A-Za-z-]{10,}+"),
        "Slack, Token types: https://api.slack.com/authentication/token-types",
    ),
    CredentialShape(
        "AWS access key id (long-term AKIA, temporary ASIA)",
        ("AKIA", "ASIA"),
        _token("A[KS]IA", 4, "[0-9A-Z]{16}(?![0-9A-Za-z])"),
        "AWS, IAM identifiers, unique ID prefixes: https://docs.aws.amazon.com/IAM/latest/"
        "UserGuide/reference_identifiers.html#identifiers-unique-ids",
    ),
    CredentialShape(
        "Google API key",
        ("AIza",),
        _token("AIza", 4, "[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
        "Google Cloud, Manage API keys: https://cloud.google.com/docs/authentication/api-keys",
    ),
    CredentialShape(
        "JSON Web Token (header.payload.signature, the header a JSON object)",
        ("eyJ",),
        # The header is base64url of '{"...': it starts "eyJ". Nothing of it is kept.
        re.compile(
            "(?P<kept>)eyJ(?:(?<![A-Za-z0-9_-]eyJ)|(?<=\\\\[nrt]eyJ))"
            r"[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+"
        ),
        "RFC 7519 (JWT) section 3 and RFC 7515 (JWS) section 7.1: "
        "https://www.rfc-editor.org/rfc/rfc7519#section-3",
    ),
    CredentialShape(
        "PEM or OpenPGP private-key block",
        ("PRIVATE KEY",),
        # BEGIN line, then the body up to the next "-----" (base64, headers such as
        # "Proc-Type: 4,ENCRYPTED", line breaks as they are or as repr() and JSON write
        # them), then the END line if it is there: a block cut short is hidden too. Once
        # the BEGIN line matched nothing can fail, so plain greedy repeats never backtrack;
        # a possessive repeat of a group holding a negative lookahead matched past it in
        # early 3.11 releases (CPython gh-100061: it ate the END line's dashes on 3.11.2).
        re.compile(
            r"(?P<kept>-----BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----)"
            r"(?:[A-Za-z0-9+/=\s:,.\\]+|-(?!----))*"
            r"(?P<end>-----END (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----)?"
        ),
        "RFC 7468 (textual encodings of PKIX, PKCS and CMS structures) sections 2 and 10, "
        "RFC 4880 (OpenPGP) section 6.2: https://www.rfc-editor.org/rfc/rfc7468",
    ),
)


def _mask_shape(found: re.Match[str]) -> str:
    return f"{found['kept']}{REDACTED}{found.groupdict().get('end') or ''}"


def mask_credential_shapes(text: str) -> str:
    """Mask every token of ``CREDENTIAL_SHAPES`` in ``text``; ``text`` itself when none.

    Each pattern runs only on text holding one of its hints, and one search for all the
    hints tells that ordinary text holds none: it costs a single scan.
    """
    if _SHAPE_HINTS.search(text) is None:
        return text
    for shape in CREDENTIAL_SHAPES:
        for hint in shape.hints:
            if hint in text:
                masked, count = shape.pattern.subn(_mask_shape, text)
                if count:
                    text = masked
                break
    return text


_SHAPE_HINTS = re.compile(
    "|".join(re.escape(hint) for shape in CREDENTIAL_SHAPES for hint in shape.hints)
)
