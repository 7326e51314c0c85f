"""A token's check code: the trainee's tool refuses a mistyped token, or another trainee's,
before the exam starts, without knowing any secret."""

from __future__ import annotations

import pytest

from scanlab.errors import SpecError
from scanlab.exercises._crypto import check_token

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32, what tokens are written in


def test_issued_tokens_pass_in_any_spelling(package, keys):
    token = keys.token("ana")
    check_token(package.exam_id, "ana", token)
    check_token(package.exam_id, "ana", token.lower().replace("-", " "))


def test_every_single_character_typo_is_caught(package, keys):
    text = keys.token("ana").replace("-", "")
    for i, ch in enumerate(text):
        for other in (ALPHABET[(ALPHABET.index(ch) + 1) % 32], ALPHABET[ALPHABET.index(ch) - 7]):
            typo = text[:i] + other + text[i + 1 :]
            with pytest.raises(SpecError, match="not the one issued to trainee 'ana'"):
                check_token(package.exam_id, "ana", typo)


def test_another_trainees_token_or_exam_is_refused(package, keys):
    with pytest.raises(SpecError, match="another trainee's token"):
        check_token(package.exam_id, "ben", keys.token("ana"))
    with pytest.raises(SpecError, match="not the one issued"):
        check_token("0" * 32, "ana", keys.token("ana"))
    with pytest.raises(SpecError, match="24 letters"):
        check_token(package.exam_id, "ana", "ABC")
