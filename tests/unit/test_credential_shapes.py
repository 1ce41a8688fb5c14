"""Credentials recognised by their published shapes (SPEC §5, issue 14), and ordinary text
left alone.

The samples are fake, built to the vendors' formats; none of them is a live credential.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from processes.redaction import (
    CREDENTIAL_SHAPES,
    DEFAULT_REDACTOR,
    REDACTED,
    KnownSecrets,
    Redactor,
    mask_credential_shapes,
)

# One real-looking sample per shape, and what it becomes: the vendor's prefix kept.
PEM_BODY = (
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
)
SAMPLES: dict[str, tuple[str, str]] = {
    "stripe live": ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "sk_live_[redacted]"),
    "stripe restricted": ("rk_live_" + "51H8sLmKZ0bq2xY7wQe3R9tU", "rk_live_[redacted]"),
    "stripe test": ("sk_test_" + "26PHem9AhJZvU623DfE1x4sd", "sk_test_[redacted]"),
    "github personal": ("ghp_" + "x1Y2z3A4b5C6d7E8f9G0h1I2j3K4l5M6n7O8", "ghp_[redacted]"),
    "github oauth": ("gho_" + "16C7e42F292c6912E7710c838347Ae178B4a", "gho_[redacted]"),
    "github server": ("ghs_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5", "ghs_[redacted]"),
    "github fine-grained": (
        "github_pat_11ABCDEFG0123456789abc_" + "Zz9" * 19 + "xy",
        "github_pat_[redacted]",
    ),
    "slack bot": ("xoxb-" + "17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", "xoxb-[redacted]"),
    "slack user": ("xoxp-" + "2345678901-3456789012-4567890123-abcdef0123", "xoxp-[redacted]"),
    "aws access key id": ("AKIA" + "IOSFODNN7EXAMPLE", "AKIA[redacted]"),
    "aws temporary key id": ("ASIA" + "Y34FZKBOKMUTVV7A", "ASIA[redacted]"),
    "google api key": ("AIza" + "SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "AIza[redacted]"),
    "jwt": (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "[redacted]",
    ),
    "pem rsa": (
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY-----",
    ),
    "pem pkcs8": (
        f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}-----END PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----[redacted]-----END PRIVATE KEY-----",
    ),
    "pem openssh": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n"
        "-----END OPENSSH PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----[redacted]-----END OPENSSH PRIVATE KEY-----",
    ),
    "pem encrypted, with headers": (
        "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B\n\n"
        f"{PEM_BODY}-----END EC PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----[redacted]-----END EC PRIVATE KEY-----",
    ),
    "pgp": (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBF0AAAABEADc\n=Xq1P\n"
        "-----END PGP PRIVATE KEY BLOCK-----",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----[redacted]-----END PGP PRIVATE KEY BLOCK-----",
    ),
}


def secret_part(sample: str) -> str:
    """What must never show: the sample without the prefix a mask keeps."""
    kept = SAMPLES_BY_VALUE[sample].split(REDACTED)[0]
    return sample[len(kept) :][:40] if kept else sample[:40]


SAMPLES_BY_VALUE = dict(SAMPLES.values())


@pytest.mark.parametrize(("sample", "shown"), SAMPLES.values(), ids=SAMPLES.keys())
def test_each_shape_is_masked_keeping_only_its_public_prefix(sample: str, shown: str) -> None:
    assert mask_credential_shapes(sample) == shown
    assert DEFAULT_REDACTOR.mask_shapes(f"refused: {sample} (retry later)") == (
        f"refused: {shown} (retry later)"
    )


@pytest.mark.parametrize(("sample", "shown"), SAMPLES.values(), ids=SAMPLES.keys())
def test_each_shape_is_masked_as_repr_and_json_write_it(sample: str, shown: str) -> None:
    for written in (repr(sample), json.dumps(sample), repr({"value": sample})):
        masked = DEFAULT_REDACTOR.mask_shapes(written)
        assert secret_part(sample) not in masked, written
        assert REDACTED in masked


@pytest.mark.parametrize("sample", [s for s, _ in SAMPLES.values() if "\n" not in s])
def test_a_token_after_an_escaped_line_break_is_masked(sample: str) -> None:
    written = repr(f"first line\n{sample}")  # 'first line\\nsk_live_...'
    assert secret_part(sample) not in DEFAULT_REDACTOR.mask_shapes(written)


@pytest.mark.parametrize("sample", [s for s, _ in SAMPLES.values() if "\n" not in s])
def test_a_token_in_a_query_string_is_masked(sample: str) -> None:
    url = f"https://api.example.com/v1/charges?limit=3&k={urllib.parse.quote(sample)}"
    assert secret_part(sample) not in DEFAULT_REDACTOR.mask_shapes(url)


def test_a_private_key_cut_short_is_hidden_from_its_begin_line_on() -> None:
    cut = f"key = -----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY[:50]}"
    assert mask_credential_shapes(cut) == "key = -----BEGIN RSA PRIVATE KEY-----[redacted]"


def test_redact_off_leaves_the_shapes_too() -> None:
    sample = SAMPLES["aws access key id"][0]
    assert Redactor(()).mask_shapes(sample) == sample
    assert Redactor(()).mask_text(sample) == sample


def test_every_shape_names_its_source_and_hints() -> None:
    names = {shape.name for shape in CREDENTIAL_SHAPES}
    assert len(names) == len(CREDENTIAL_SHAPES)
    for shape in CREDENTIAL_SHAPES:
        assert "http" in shape.source or "RFC" in shape.source, shape.name
        assert shape.hints
    for sample, _ in SAMPLES.values():  # every sample is found through a hint of its shape
        assert any(hint in sample for shape in CREDENTIAL_SHAPES for hint in shape.hints)


# -- ordinary text stays readable ------------------------------------------------------------

READABLE = [
    "deploy a1b2c3d failed: see commit 9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
    "skipped_items=12 retried_items=3 task_test_runner ok",
    "desk_live_settings and the sk_live_ prefix are documented",
    "sk_live_short is no key (too short)",
    "ghp_ tokens are 40 characters; ghp_abc is not one",
    "xoxo, the team; xox-1 is no Slack token; xoxb- alone neither",
    "AKIA is a prefix; AKIAIOSFODNN7 is too short; MAKIAIOSFODNN7EXAMPLEX too long",
    "AIza alone, AIzaShort",
    "eyJ is base64 for '{\"'; eyJhbGciOiJIUzI1NiJ9 alone has no payload",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
    "request 7c9e6679-7425-40de-944b-e07fc1f90ae7 took 1234567 us, 3.14159 s",
    "The quick brown fox jumps over the lazy dog, 42 times, at 12:30 on 2024-03-15.",
    "SELECT id, name FROM orders WHERE total > 100 AND status = 'open'",
    'File "/srv/app/tasks.py", line 41, in charge_payments',
    "https://example.com/docs/keys#rotate and mailto:ops@example.com",
    "base64 payload aGVsbG8gd29ybGQ= and hex deadbeefcafebabe",
]


@pytest.mark.parametrize("text", READABLE)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_credential_shapes(text) is text
    assert DEFAULT_REDACTOR.mask_text(text) == text


_PRINTABLE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("\n\t"),
    max_size=300,
)
# Prefixes of every shape with a body too short, or a lookalike: text that gets close.
_NEAR_MISSES = st.sampled_from(
    [
        "sk_live_abc ",
        "rk_test_0123456789 ",
        "ghp_abcdef ",
        "gho_" + "A" * 35 + " ",
        "github_pat_short ",
        "xoxb-123 ",
        "xoxz-1234567890123 ",
        "AKIA1234 ",
        "AIzaSyShort ",
        "eyJhbGciOiJIUzI1NiJ9 ",
        "eyJ.eyJ. ",
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
        "a1b2c3d ",
        "skipped_items ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PRINTABLE | _NEAR_MISSES, max_size=12).map("".join))
@example("sk_live_" + "a" * 15 + " and AKIA" + "B" * 15)
def test_text_without_a_credential_shape_comes_out_unchanged(text: str) -> None:
    assert mask_credential_shapes(text) == text


def _looks_like_nothing_secret(text: str) -> bool:
    lowered = text.lower()
    names = ("pass", "pwd", "secret", "token", "api", "auth", "credential", "private", "cred")
    names += ("cookie", "session", "csrf", "xsrf", "signature", "bearer", "asic ", "://")
    return not any(word in lowered for word in names) and not any(
        hint in text for shape in CREDENTIAL_SHAPES for hint in shape.hints
    )


@settings(max_examples=400, deadline=None)
@given(_PRINTABLE)
def test_printable_text_with_nothing_secret_in_it_is_never_masked(text: str) -> None:
    if _looks_like_nothing_secret(text):
        assert DEFAULT_REDACTOR.mask_text(text) == text


def test_known_values_are_masked_in_every_form() -> None:
    value = "p@ss/w0rd 'quoted' \\ end"
    known = KnownSecrets([value])
    for written in (
        value,
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
    ):
        assert known.mask(f"got <{written}>") == "got <[redacted]>", written
    text = "nothing here"
    assert known.mask(text) is text


def test_short_known_values_are_masked_only_as_words() -> None:
    known = KnownSecrets(["hunter2"])
    assert known.mask("login hunter2 refused") == "login [redacted] refused"
    assert known.mask("hunter22 and xhunter2 stay") == "hunter22 and xhunter2 stay"
