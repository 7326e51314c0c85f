"""The exam cryptography against the primitives themselves: what is bound into the AES-GCM
associated data, what the HKDF derives, how tokens and submission signatures are formed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import zipfile

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from scanlab.errors import PassphraseError, SpecError, TamperError
from scanlab.exercises._crypto import (
    KDF_PARAMS,
    ExamSecrets,
    b64,
    canonical_json,
    fingerprint,
    normalise_token,
    open_secrets,
    read_passphrase_file,
    seal,
    sign_body,
    unb64,
    unseal,
    verify_body,
    verify_signature,
)

CHEAP = {"n": 2**4, "r": 8, "p": 1}  # for unit tests only; packages refuse anything but KDF_PARAMS
SALT = bytes(range(16))


@pytest.fixture(scope="module")
def secrets() -> ExamSecrets:
    return ExamSecrets.derive("correct horse battery staple", SALT, CHEAP)


def test_keys_are_hkdf_sha256_of_the_scrypt_master(secrets):
    master = Scrypt(salt=SALT, length=32, n=2**4, r=8, p=1).derive(b"correct horse battery staple")

    def hkdf(purpose: str, length: int) -> bytes:
        info = f"scanlab-exam/{purpose}".encode()
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(master)

    assert secrets.check == hkdf("passphrase-check", 16)
    assert secrets.cipher_key == hkdf("answer-keys", 32)
    assert secrets.token_key == hkdf("trainee-tokens", 32)
    assert len({secrets.check, secrets.cipher_key, secrets.token_key}) == 3
    # NFC: "é" typed as one code point or as e + combining accent is the same passphrase.
    a = ExamSecrets.derive("caf\u00e9 passphrase!", SALT, CHEAP)
    b = ExamSecrets.derive("cafe\u0301 passphrase!", SALT, CHEAP)
    assert a.cipher_key == b.cipher_key
    assert ExamSecrets.derive("caf\u00e9 passphrase?", SALT, CHEAP).cipher_key != a.cipher_key
    with pytest.raises(PassphraseError):
        ExamSecrets.derive("", SALT, CHEAP)


def test_the_context_is_the_associated_data(secrets):
    blob = secrets.encrypt(b"the answers", context=b"scanlab-exam:A")
    assert len(blob) == 12 + len(b"the answers") + 16  # nonce, ciphertext, tag
    assert secrets.decrypt(blob, context=b"scanlab-exam:A", what="x") == b"the answers"
    aes = AESGCM(secrets.cipher_key)
    assert aes.decrypt(blob[:12], blob[12:], b"scanlab-exam:A") == b"the answers"
    for other in (b"scanlab-exam:B", b"", None):
        with pytest.raises(InvalidTag):
            aes.decrypt(blob[:12], blob[12:], other)
    with pytest.raises(TamperError, match="x: the encrypted answer keys were altered"):
        secrets.decrypt(blob, context=b"scanlab-exam:B", what="x")
    # A fresh nonce each time: the same plaintext never gives the same bytes.
    assert secrets.encrypt(b"the answers", context=b"c") != secrets.encrypt(
        b"the answers", context=b"c"
    )


def test_package_keys_are_bound_to_the_exam_id(exam_path, keys):
    with zipfile.ZipFile(exam_path) as zf:
        manifest = json.loads(zf.read("exam.json"))
        blob = zf.read("keys.bin")
    aes = AESGCM(keys._secrets.cipher_key)
    context = f"scanlab-exam:{manifest['exam_id']}".encode()
    doc = json.loads(aes.decrypt(blob[:12], blob[12:], context))
    assert set(doc["keys"]) == set(keys.answer_keys)
    for other in (b"", None, b"scanlab-exam:another-exam"):
        with pytest.raises(InvalidTag):
            aes.decrypt(blob[:12], blob[12:], other)


def test_tokens_are_truncated_hmac_sha256_in_base32(secrets):
    # 20 base32 letters of HMAC-SHA256(token key, exam \0 trainee), then a 4-letter check
    # code: base32 of SHA-256("scanlab-token-check" \0 exam \0 trainee \0 those 20 letters).
    raw = hmac.new(secrets.token_key, b"exam-1\0alice", hashlib.sha256).digest()
    body = base64.b32encode(raw[:15]).decode()[:20]
    digest = hashlib.sha256(f"scanlab-token-check\0exam-1\0alice\0{body}".encode()).digest()
    text = body + base64.b32encode(digest[:5]).decode()[:4]
    assert secrets.token("exam-1", "alice") == "-".join(text[i : i + 6] for i in range(0, 24, 6))
    assert len(secrets.token("exam-1", "alice")) == 24 + 3
    assert secrets.token("exam-1", "alice") != secrets.token("exam-2", "alice")
    assert secrets.token("exam-1", "alice") != secrets.token("exam-1", "bob")


def test_scan_codes_and_sealed_scans_against_the_primitives(secrets):
    # The scan code: base32 of the first 15 bytes of HMAC-SHA256(token key, "scan-code" 0x01
    # exam id), 24 letters in groups of 6; the sealing key: HKDF-SHA256 of those 24 letters.
    raw = hmac.new(secrets.token_key, b"scan-code\x01exam-1", hashlib.sha256).digest()
    text = base64.b32encode(raw[:15]).decode()
    code = secrets.scan_code("exam-1")
    assert code == "-".join(text[i : i + 6] for i in range(0, 24, 6))
    assert code != secrets.scan_code("exam-2")
    info = b"scanlab-exam/confidential-scans"
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(text.encode())
    blob = seal(code, b"a real scan", context=b"item-001")
    assert len(blob) == 12 + len(b"a real scan") + 16  # nonce, ciphertext, tag
    assert AESGCM(key).decrypt(blob[:12], blob[12:], b"item-001") == b"a real scan"
    assert seal(code, b"a real scan", context=b"item-001") != blob  # a fresh nonce each time
    # Any spelling of the code opens it (as for tokens); the item's context is bound in.
    spelled = code.lower().replace("-", " ")
    assert unseal(spelled, blob, context=b"item-001", what="x") == b"a real scan"
    with pytest.raises(PassphraseError, match=r"^x: wrong scan code for this exam's confidential"):
        unseal(code, blob, context=b"item-002", what="x")
    with pytest.raises(PassphraseError, match=r"^x: wrong scan code"):
        unseal(secrets.scan_code("exam-2"), blob, context=b"item-001", what="x")
    with pytest.raises(PassphraseError, match=r"^x: "):
        unseal("not a code", blob, context=b"item-001", what="x")


def test_submission_signature_is_hmac_of_canonical_json(secrets):
    token = secrets.token("exam-1", "alice")
    body = {"b": [1, 2], "a": "é"}
    assert canonical_json(body) == b'{"a":"\\u00e9","b":[1,2]}'
    key = token.replace("-", "").encode()
    assert sign_body(body, token) == hmac.new(key, canonical_json(body), "sha256").hexdigest()
    # Dashes, spaces and case in a typed token do not matter.
    assert sign_body(body, f" {token.lower()} ") == sign_body(body, token.replace("-", ""))
    verify_body(body, sign_body(body, token), token, what="s")
    for bad in ("", None, "0" * 64):
        with pytest.raises(TamperError, match=r"^s: "):
            verify_body(body, bad, token, what="s")
    with pytest.raises(TamperError, match="signature does not match"):
        verify_body({**body, "b": [1, 3]}, sign_body(body, token), token, what="s")
    for bad_token in ("ABC", "A" * 25, 123):
        with pytest.raises(SpecError):
            normalise_token(bad_token)  # type: ignore[arg-type]


def test_signatures_fingerprints_and_base64(secrets):
    message = b"manifest bytes"
    verify_signature(secrets.public_key, secrets.sign(message), message, what="m")
    with pytest.raises(TamperError, match=r"^m: the signature does not match"):
        verify_signature(secrets.public_key, secrets.sign(message), message + b"!", what="m")
    with pytest.raises(TamperError):
        verify_signature(b"short", secrets.sign(message), message, what="m")
    digest = hashlib.sha256(secrets.public_key).hexdigest()[:20].upper()
    assert fingerprint(secrets.public_key) == "-".join(digest[i : i + 4] for i in range(0, 20, 4))
    assert unb64(b64(b"\x00\xff"), "w") == b"\x00\xff"
    with pytest.raises(TamperError, match=r"^w is not valid base64"):
        unb64("not base64!", "w")


def test_open_secrets_checks_every_field(secrets):
    record = secrets.record(SALT, CHEAP)
    assert record["kdf"] == "scrypt" and record["cipher"] == "AES-256-GCM"
    assert unb64(record["public_key"], "k") == secrets.public_key
    # Parameters weaker than scanlab writes are refused before any derivation.
    with pytest.raises(TamperError, match="unexpected key-derivation parameters"):
        open_secrets("correct horse battery staple", record, what="p")
    for field in ("salt", "passphrase_check", "public_key", "n"):
        broken = {k: v for k, v in record.items() if k != field}
        with pytest.raises(TamperError, match="crypto record is incomplete"):
            open_secrets("correct horse battery staple", broken, what="p")
    assert KDF_PARAMS == {"n": 2**17, "r": 8, "p": 1}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_passphrase_file_is_its_owners_first_line(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"horse battery\r\nsecond line\n")
    for mode in (0o600, 0o400, 0o700):
        secret.chmod(mode)
        assert read_passphrase_file(str(secret)) == "horse battery"
    for mode in (0o640, 0o620, 0o604, 0o602, 0o610, 0o601):  # any bit for group or others
        secret.chmod(mode)
        with pytest.raises(PassphraseError) as err:
            read_passphrase_file(secret)
        assert str(err.value) == (
            f"{secret}: passphrase file is readable by others (mode {mode:04o}); chmod 600 it"
        )
    secret.chmod(0o600)
    secret.write_bytes(b"\nthe passphrase on line 2\n")
    with pytest.raises(PassphraseError, match=r"t: the passphrase file's first line is empty$"):
        read_passphrase_file(secret)
    secret.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(PassphraseError, match=r"^.*secret: the passphrase file is not UTF-8 text$"):
        read_passphrase_file(secret)
    missing = tmp_path / "missing"
    with pytest.raises(
        PassphraseError,
        match=r"^.*missing: cannot read the passphrase file: No such file or directory$",
    ):
        read_passphrase_file(missing)
    with pytest.raises(PassphraseError, match=r"^.*: a passphrase file must be a regular file$"):
        read_passphrase_file(tmp_path)


def test_a_new_packages_record_names_its_primitives_and_a_fresh_salt():
    # The record a manifest carries (what a reader needs to re-derive the keys): scrypt at
    # KDF_PARAMS over a 16-byte (128-bit) random salt, AES-256-GCM, Ed25519, the 16-byte
    # passphrase check and the 32-byte public key.
    secrets, record = ExamSecrets.new("correct horse battery staple")
    assert record == {
        "kdf": "scrypt",
        "salt": record["salt"],
        **KDF_PARAMS,
        "passphrase_check": b64(secrets.check),
        "cipher": "AES-256-GCM",
        "signature": "Ed25519",
        "public_key": b64(secrets.public_key),
    }
    salt = unb64(record["salt"], "salt")
    assert len(salt) == 16 and len(secrets.check) == 16 and len(secrets.public_key) == 32
    master = Scrypt(salt=salt, length=32, n=2**17, r=8, p=1).derive(b"correct horse battery staple")
    info = b"scanlab-exam/answer-keys"
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
    assert secrets.cipher_key == key
    with pytest.raises(PassphraseError, match="at least 12 characters"):
        ExamSecrets.new("eleven char")


def test_a_signature_that_is_not_text_is_not_a_signature(secrets):
    token = secrets.token("exam-1", "alice")
    body = {"a": 1}
    for bad in (12345, b"bytes", ["list"], {"sig": "x"}):
        with pytest.raises(TamperError, match=r"^s: the submission is not signed$"):
            verify_body(body, bad, token, what="s")


def test_signed_documents_that_two_readers_could_read_two_ways_are_refused():
    from scanlab.exercises._crypto import MAX_JSON_DEPTH, load_signed_json

    assert load_signed_json(b'{"a": [1, {"b": 2}]}', "m") == {"a": [1, {"b": 2}]}
    with pytest.raises(TamperError, match=r"^m: the key 'a' occurs twice in one object$"):
        load_signed_json('{"b": 1, "c": {"a": 1, "a": 2}}', "m")
    # 32 levels of nesting are read; 33 are refused, however the levels are made.
    assert MAX_JSON_DEPTH == 32
    load_signed_json("[" * 32 + "]" * 32, "m")
    for deep in ("[" * 33 + "]" * 33, '{"k":' * 33 + "1" + "}" * 33):
        with pytest.raises(TamperError, match=r"^m: nested more than 32 levels deep$"):
            load_signed_json(deep, "m")
    with pytest.raises(TamperError, match=r"^m: nested more than 32 levels deep$"):
        load_signed_json("[" * 100_000 + "]" * 100_000, "m")  # past Python's recursion limit
    with pytest.raises(TamperError, match=r"^m: not valid JSON: "):
        load_signed_json(b'{"a": ', "m")
    with pytest.raises(TamperError, match=r"^m: not valid JSON: "):
        load_signed_json(b"\xff\xfe{}", "m")


def test_damaged_fields_and_bad_input_are_refused_by_name(secrets):
    # Base64 with a character outside its alphabet is refused, not decoded without it.
    assert unb64("QUJD", "w") == b"ABC"
    for junk in ("QUJD!", "QU JD", "QUJD\n"):
        with pytest.raises(TamperError, match=r"^w is not valid base64$"):
            unb64(junk, "w")
    record = secrets.record(SALT, KDF_PARAMS)
    for field in ("salt", "passphrase_check", "public_key"):
        with pytest.raises(TamperError, match=rf"p: crypto field '{field}' is not valid base64"):
            open_secrets("correct horse battery staple", {**record, field: "QUJD!"}, what="p")
    blob = secrets.encrypt(b"key", context=b"item-1")
    with pytest.raises(TamperError, match=r"^x: the encrypted answer keys were altered$"):
        secrets.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), context=b"item-1", what="x")
    with pytest.raises(PassphraseError, match=r"^the passphrase must not be empty$"):
        ExamSecrets.derive("", SALT, CHEAP)
    with pytest.raises(SpecError, match=r"^a submission token must be a string, got int$"):
        normalise_token(123)  # type: ignore[arg-type]
