"""Keys derived from the instructor passphrase, and what they do: encrypt answer keys, sign
packages, issue trainee tokens, sign submissions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from scanlab.errors import PassphraseError, SpecError, TamperError
from scanlab.i18n import _

__all__ = [
    "KDF_PARAMS",
    "MIN_PASSPHRASE_CHARS",
    "ExamSecrets",
    "b64",
    "canonical_json",
    "check_token",
    "fingerprint",
    "load_signed_json",
    "normalise_token",
    "open_secrets",
    "read_passphrase_file",
    "seal",
    "sign_body",
    "unb64",
    "unseal",
    "verify_body",
    "verify_signature",
]

#: scrypt cost (OWASP's recommendation: N = 2**17, r = 8, p = 1: 128 MiB and ~0.4 s a try),
#: which is what slows an offline guess of the passphrase by whoever holds a package.
KDF_PARAMS = {"n": 2**17, "r": 8, "p": 1}
MIN_PASSPHRASE_CHARS = 12
#: Deepest nesting of objects and lists accepted in a package or submission document; scanlab
#: writes at most 6 levels. Deeper documents are refused before anything else looks at them.
MAX_JSON_DEPTH = 32
_TOKEN_BYTES = 15  # 120 bits: 24 base32 characters
#: The last characters of a token are a check code over the exam, the trainee id and the rest
#: of the token (no secret in it): the trainee's tool catches a mistyped token, or one given
#: to another trainee, before the exam starts. 20 keyed characters (100 bits) remain.
_TOKEN_CHECK_CHARS = 4


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise TamperError(_("{what} is not valid base64").format(what=what)) from None


def canonical_json(doc: Any) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, ASCII only."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def load_signed_json(data: bytes | str, what: str) -> Any:
    """Parse a document that a signature covers, refusing what two readers could read two
    ways: a key twice in one object (json keeps the last, other parsers the first) and
    nesting deeper than :data:`MAX_JSON_DEPTH` (which overflows recursive readers).

    Raises
    ------
    TamperError
        Naming ``what`` and the problem.
    """

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise TamperError(
                    _("{what}: the key {key!r} occurs twice in one object").format(
                        what=what, key=key
                    )
                )
            seen.add(key)
        return dict(pairs)

    try:
        doc = json.loads(data, object_pairs_hook=unique)
    except RecursionError:
        raise TamperError(
            _("{what}: nested more than {MAX_JSON_DEPTH} levels deep").format(
                what=what, MAX_JSON_DEPTH=MAX_JSON_DEPTH
            )
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise TamperError(_("{what}: not valid JSON: {exc}").format(what=what, exc=exc)) from None
    stack = [(doc, 1)] if isinstance(doc, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise TamperError(
                _("{what}: nested more than {MAX_JSON_DEPTH} levels deep").format(
                    what=what, MAX_JSON_DEPTH=MAX_JSON_DEPTH
                )
            )
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return doc


def read_passphrase_file(path: str | Path) -> str:
    """The passphrase on the first line of ``path``, which only its owner may read (0600).

    A passphrase never goes on a command line (``ps`` and shell history show it): it comes
    from such a file, ``$SCANLAB_PASSPHRASE`` or a prompt.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise PassphraseError(
                _("{path}: a passphrase file must be a regular file").format(path=path)
            )
        if sys.platform != "win32" and info.st_mode & 0o077:
            raise PassphraseError(
                _(
                    "{path}: passphrase file is readable by others (mode {mode}); chmod 600 it"
                ).format(path=path, mode=f"{stat.S_IMODE(info.st_mode):04o}")
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PassphraseError(
            _("{path}: cannot read the passphrase file: {error}").format(
                path=path, error=exc.strerror
            )
        ) from None
    except UnicodeDecodeError:
        raise PassphraseError(
            _("{path}: the passphrase file is not UTF-8 text").format(path=path)
        ) from None
    passphrase = text.split("\n", 1)[0].rstrip("\r")
    if not passphrase:
        raise PassphraseError(
            _("{path}: the passphrase file's first line is empty").format(path=path)
        )
    return passphrase


def fingerprint(public_key: bytes) -> str:
    """Short form of an exam's public key for instructors to print on the exam sheet."""
    digest = hashlib.sha256(public_key).hexdigest()[:20].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 20, 4))


def _hkdf(master: bytes, purpose: str, length: int) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=f"scanlab-exam/{purpose}".encode()
    ).derive(master)


@dataclass(frozen=True, repr=False)
class ExamSecrets:
    """Everything derived from (passphrase, salt): never stored, re-derived on demand."""

    check: bytes
    cipher_key: bytes
    signing_key: Ed25519PrivateKey
    token_key: bytes

    @classmethod
    def derive(cls, passphrase: str, salt: bytes, params: dict[str, int]) -> ExamSecrets:
        if not isinstance(passphrase, str) or not passphrase:
            raise PassphraseError(_("the passphrase must not be empty"))
        # NFC so that the same passphrase typed on two keyboards gives the same key.
        secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        master = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(
            secret
        )
        return cls(
            check=_hkdf(master, "passphrase-check", 16),
            cipher_key=_hkdf(master, "answer-keys", 32),
            signing_key=Ed25519PrivateKey.from_private_bytes(_hkdf(master, "ed25519", 32)),
            token_key=_hkdf(master, "trainee-tokens", 32),
        )

    @classmethod
    def new(cls, passphrase: str) -> tuple[ExamSecrets, dict[str, Any]]:
        """Secrets for a new package, and the public crypto record its manifest carries."""
        if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_CHARS:
            raise PassphraseError(
                _(
                    "the passphrase must have at least {count} characters (several random "
                    "words): whoever holds the package can try guesses offline"
                ).format(count=MIN_PASSPHRASE_CHARS)
            )
        salt = os.urandom(16)
        secrets = cls.derive(passphrase, salt, KDF_PARAMS)
        return secrets, secrets.record(salt, KDF_PARAMS)

    def record(self, salt: bytes, params: dict[str, int]) -> dict[str, Any]:
        return {
            "kdf": "scrypt",
            "salt": b64(salt),
            **params,
            "passphrase_check": b64(self.check),
            "cipher": "AES-256-GCM",
            "signature": "Ed25519",
            "public_key": b64(self.public_key),
        }

    @property
    def public_key(self) -> bytes:
        return self.signing_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self.cipher_key).encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, *, context: bytes, what: str) -> bytes:
        try:
            return AESGCM(self.cipher_key).decrypt(blob[:12], blob[12:], context)
        except InvalidTag:
            raise TamperError(
                _("{what}: the encrypted answer keys were altered").format(what=what)
            ) from None

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message)

    def token(self, exam_id: str, trainee_id: str) -> str:
        """The trainee's submission token for one exam: 24 base32 letters in groups of 6."""
        raw = hmac.new(self.token_key, f"{exam_id}\0{trainee_id}".encode(), hashlib.sha256).digest()
        body = base64.b32encode(raw[:_TOKEN_BYTES]).decode("ascii")[:-_TOKEN_CHECK_CHARS]
        text = body + _token_check(exam_id, trainee_id, body)
        return "-".join(text[i : i + 6] for i in range(0, len(text), 6))

    def scan_code(self, exam_id: str) -> str:
        """The code that opens an exam's confidential scans: 24 base32 letters in groups of 6.

        The instructor hands it out when the exam starts (on the board, with the exam
        sheet); whoever holds the package before then cannot see the real scans in it.
        """
        raw = hmac.new(self.token_key, b"scan-code\x01" + exam_id.encode(), hashlib.sha256).digest()
        text = base64.b32encode(raw[:_TOKEN_BYTES]).decode("ascii")
        return "-".join(text[i : i + 6] for i in range(0, len(text), 6))


def _code_key(code: str) -> bytes:
    return _hkdf(normalise_token(code), "confidential-scans", 32)


def seal(code: str, data: bytes, *, context: bytes) -> bytes:
    """Encrypt a confidential scan under a scan code (AES-256-GCM, ``context`` bound in)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_code_key(code)).encrypt(nonce, data, context)


def unseal(code: str, blob: bytes, *, context: bytes, what: str) -> bytes:
    """Decrypt a sealed scan; :class:`PassphraseError` when the code is not the exam's."""
    try:
        return AESGCM(_code_key(code)).decrypt(blob[:12], blob[12:], context)
    except InvalidTag:
        raise PassphraseError(
            _("{what}: wrong scan code for this exam's confidential scans").format(what=what)
        ) from None
    except SpecError as exc:
        raise PassphraseError(_("{what}: {exc}").format(what=what, exc=exc)) from None


def _token_check(exam_id: str, trainee_id: str, body: str) -> str:
    digest = hashlib.sha256(f"scanlab-token-check\0{exam_id}\0{trainee_id}\0{body}".encode())
    return base64.b32encode(digest.digest()[:5]).decode("ascii")[:_TOKEN_CHECK_CHARS]


def check_token(exam_id: str, trainee_id: str, token: str) -> None:
    """Refuse a token that is not ``trainee_id``'s for this exam (mistyped, or issued to
    someone else), from its check code: no secret is needed, so the trainee's tool can ask
    before the exam starts. Passing proves nothing about forgery; grading checks that.

    Raises
    ------
    SpecError
        Naming the trainee and what is wrong.
    """
    text = normalise_token(token).decode("ascii")
    body, check = text[:-_TOKEN_CHECK_CHARS], text[-_TOKEN_CHECK_CHARS:]
    if not hmac.compare_digest(_token_check(exam_id, trainee_id, body), check):
        raise SpecError(
            _(
                "this token is not the one issued to trainee {trainee!r} for this exam: check "
                "the trainee id and the token as the instructor gave them (a character "
                "mistyped, or another trainee's token)"
            ).format(trainee=trainee_id)
        )


def open_secrets(passphrase: str, crypto: dict[str, Any], *, what: str) -> ExamSecrets:
    """Derive a package's secrets from the passphrase; PassphraseError if it is not the one."""
    try:
        salt = unb64(crypto["salt"], f"{what}: crypto field 'salt'")
        params = {k: int(crypto[k]) for k in ("n", "r", "p")}
        check = unb64(crypto["passphrase_check"], f"{what}: crypto field 'passphrase_check'")
        public_key = unb64(crypto["public_key"], f"{what}: crypto field 'public_key'")
    except (KeyError, TypeError, ValueError) as exc:
        raise TamperError(
            _("{what}: the manifest's crypto record is incomplete: {exc!r}").format(
                what=what, exc=exc
            )
        ) from None
    if params != KDF_PARAMS:
        # Refuse weaker parameters than scanlab writes: an edited manifest could ask for n = 2.
        raise TamperError(
            _("{what}: unexpected key-derivation parameters {params}").format(
                what=what, params=params
            )
        )
    secrets = ExamSecrets.derive(passphrase, salt, params)
    if not hmac.compare_digest(secrets.check, check):
        raise PassphraseError(
            _(
                "{what}: wrong passphrase for this exam (or the package was re-signed by "
                "someone without it)"
            ).format(what=what)
        )
    if not hmac.compare_digest(secrets.public_key, public_key):
        raise TamperError(
            _(
                "{what}: the package is signed with a key that this passphrase does not give: "
                "it was re-signed after it was built"
            ).format(what=what)
        )
    return secrets


def verify_signature(public_key: bytes, signature: bytes, message: bytes, *, what: str) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise TamperError(
            _("{what}: the signature does not match the manifest (changed after signing)").format(
                what=what
            )
        ) from None


def normalise_token(token: str) -> bytes:
    if not isinstance(token, str):
        raise SpecError(
            _("a submission token must be a string, got {type}").format(type=type(token).__name__)
        )
    text = "".join(token.split()).replace("-", "").upper()
    if len(text) != 24:
        raise SpecError(_("a submission token has 24 letters and digits (dashes optional)"))
    return text.encode("ascii")


def sign_body(body: dict[str, Any], token: str) -> str:
    """HMAC-SHA256 of a submission body under the trainee's token, as hex."""
    return hmac.new(normalise_token(token), canonical_json(body), hashlib.sha256).hexdigest()


def verify_body(body: dict[str, Any], signature: Any, token: str, *, what: str) -> None:
    if not isinstance(signature, str) or not signature:
        raise TamperError(_("{what}: the submission is not signed").format(what=what))
    if not hmac.compare_digest(sign_body(body, token), signature):
        raise TamperError(
            _(
                "{what}: the signature does not match: the submission was changed after it "
                "was signed, or it was signed with another trainee's token"
            ).format(what=what)
        )
