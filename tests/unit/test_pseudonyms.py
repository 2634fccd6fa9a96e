import pytest

from streaming.pseudonyms import pseudonym


def test_pseudonym_is_the_hmac_sha256_of_rfc_4231_case_two_cut_to_128_bits():
    # The JVM function's test uses the same vector (PseudonymiseTest.java).
    assert pseudonym(b"Jefe", "what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c7"


def test_the_same_id_under_another_key_gets_another_pseudonym():
    assert pseudonym(b"key-one", "4711") == pseudonym(b"key-one", "4711")
    assert pseudonym(b"key-one", "4711") != pseudonym(b"key-two", "4711")


def test_an_empty_key_is_refused():
    with pytest.raises(ValueError):
        pseudonym(b"", "4711")
