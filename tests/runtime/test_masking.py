"""The secret masker: whole secret values become `****` wherever they occur as values, and nothing else changes."""

from __future__ import annotations

import pytest

from metaferry_runtime.audit import MASK, SecretMasker, SecretTooShort

# (secret, text, expected): the secret as a value is masked; the same letters inside a longer word are not.
WHOLE_VALUES = [
    ("tokens", "tokens", MASK),
    ("tokens", "token=tokens;", f"token={MASK};"),
    ("tokens", "the tokens are tokenstore and mytokens", f"the {MASK} are tokenstore and mytokens"),
    ("tokens", "tokens_b", "tokens_b"),
    ("hunter2", "password 'hunter2'", f"password '{MASK}'"),
    ("hunter2", '{"password": "hunter2"}', f'{{"password": "{MASK}"}}'),
    ("hunter2", "postgresql://u:hunter2@h:5432/db", f"postgresql://u:{MASK}@h:5432/db"),
    ("hunter2", "hunter2\nhunter2", f"{MASK}\n{MASK}"),
    ("hunter2", "hunter22 xhunter2", "hunter22 xhunter2"),
    ("p@ssw0rd!", "pw=p@ssw0rd!abc", f"pw={MASK}abc"),
    ("a.b*c+d?", "a.b*c+d? and axbbbcd and a.b*c+d", f"{MASK} and axbbbcd and a.b*c+d"),
    ("(x|y)[z]", "got (x|y)[z] not x", f"got {MASK} not x"),
    ("p@ss:w/rd", "postgresql://u:p%40ss%3Aw%2Frd@h/db", f"postgresql://u:{MASK}@h/db"),
    ('quo"te\\x', '{"pw": "quo\\"te\\\\x"}', f'{{"pw": "{MASK}"}}'),
    ("mötley-crüe", "band mötley-crüe!", f"band {MASK}!"),
    ("mötley-crüe", "mötley-crüeß", "mötley-crüeß"),
]


@pytest.mark.parametrize(("secret", "text", "expected"), WHOLE_VALUES)
def test_only_whole_secret_values_are_masked(secret: str, text: str, expected: str) -> None:
    assert SecretMasker([secret]).mask(text) == expected


def test_a_secret_inside_ordinary_words_leaves_the_words_alone() -> None:
    masker = SecretMasker(["secret"])
    text = "secretary, secrets and top_secret stay; the secret goes"
    assert masker.mask(text) == "secretary, secrets and top_secret stay; the **** goes"


@pytest.mark.parametrize("short", ["a", "tok", "12345"])
def test_a_secret_shorter_than_six_characters_is_refused(short: str) -> None:
    with pytest.raises(SecretTooShort, match="at least 6 characters"):
        SecretMasker([short])


def test_an_empty_secret_has_nothing_to_hide_and_is_ignored() -> None:
    assert SecretMasker([""]).mask("text") == "text"
