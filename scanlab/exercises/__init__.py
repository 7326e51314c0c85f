"""Exercises and exams: signed, encrypted exam packages, trainee submissions, grading with
signal-detection scores, class reports and adaptive practice.

>>> from scanlab.exercises import ExamSpec, build_exam, ExamPackage, grade   # doctest: +SKIP

Threat model
------------
An exam package is one zip: ``exam.json`` (the manifest: items, declarations, time limits,
the sha256 of every other member, the public crypto record), ``signature.json``,
``scans/<item>.npz`` and ``keys.bin``. Every key is derived from the instructor's passphrase
with scrypt (N = 2**17, r = 8, p = 1, random 16-byte salt per package) and HKDF-SHA256.

* **Answer keys are secret from trainees.** ``keys.bin`` is AES-256-GCM (random nonce; the
  exam id as associated data) of every answer key and the spec. Scans carry no simulator
  metadata (spec, seed, TIP record), and the manifest names no threat class, concealment or
  object. What protects the keys is the passphrase alone: a trainee holds the package and
  can guess passphrases offline as fast as scrypt allows (~0.4 s and 128 MiB a guess), so
  use a long one (at least 12 characters are required; four or more random words advised).
  The scans are the questions: they are meant to be seen.
* **The package cannot be changed unnoticed.** The manifest is signed with Ed25519 (a key
  derived from the passphrase; its public half is in the manifest). Opening a package checks
  the signature, that the zip holds exactly the listed members and each one's sha256.
  Signature rather than HMAC so that trainees' software can check integrity without any
  secret. Without a trusted public key, though, that check only proves the package is as
  *someone* signed it: a forger can re-sign a changed package with a key of their own.
  Instructors close that gap by publishing the exam's :attr:`ExamPackage.fingerprint` (on
  the exam sheet) and trainees' tools passing it to :meth:`ExamPackage.open`; the
  instructor's side always closes it, as :meth:`ExamPackage.keys` checks that the passphrase
  gives the public key that signed the package.
* **Submissions cannot be changed after signing, nor passed off as another trainee's.** The
  instructor gives each trainee a token for the exam (``keys.token(trainee_id)``: 120 bits
  of HMAC-SHA256 of the exam id and trainee id under a passphrase-derived key); the
  trainee's tool signs the submission (trainee id, exam id, sha256 of the exact package,
  every mark, verdict and time) with HMAC-SHA256 under the token. Grading re-derives the
  token from the trainee id, so any edit (a mark moved, a time changed, another trainee id)
  is rejected with :class:`TamperError`. What this does *not* stop: a trainee, who holds
  their own token, can edit their own submission and sign it again before handing it in;
  times are whatever the trainee's clock and tool report. A signature cannot fix that on a
  machine the trainee controls; a supervised room or a server that receives the marks as
  they are drawn can.
* **Damage is never silent.** Whatever is wrong with a package (a flipped byte in a
  compressed member, an unknown compression method, a member list that disagrees), opening
  it raises :class:`TamperError` "package damaged or altered", never a parser's exception.
  Signed documents (manifest, signature, submissions) are refused when a key occurs twice in
  one object (parsers disagree on which copy counts) or they nest deeper than 32 levels.
* **Secrets stay off the command line and out of shared files.** The CLI takes the
  passphrase from ``--passphrase-file`` (a file only its owner may read, mode 0600),
  ``$SCANLAB_PASSPHRASE`` or a prompt, never as an argument (``ps`` and shell histories show
  those). ``results.json`` from grading tells which items were clean and what each object
  was, so :meth:`ClassResults.save` writes it 0600.
* **Not protected**: whoever knows the passphrase can do everything; tokens travel on paper
  or by a channel the instructor trusts; nothing here hides *who* took an exam.
"""

from scanlab.errors import PassphraseError, TamperError
from scanlab.exercises._adaptive import KIND_PRODUCES, recommend_next
from scanlab.exercises._cohorts import (
    CohortComparison,
    compare_assist,
    compare_cohorts,
    detector_submission,
    write_cohort_report,
)
from scanlab.exercises._crypto import read_passphrase_file
from scanlab.exercises._grading import (
    ClassResults,
    ItemOutcome,
    ObjectOutcome,
    Scores,
    TraineeResult,
    grade,
)
from scanlab.exercises._package import ExamItem, ExamKeys, ExamPackage, add_tip_item, build_exam
from scanlab.exercises._report import REPORT_FILES, write_report
from scanlab.exercises._simulate import BEHAVIOURS, simulate_trainee
from scanlab.exercises._spec import ExamSpec, load_exam_spec
from scanlab.exercises._submission import (
    CONFIDENCE_LEVELS,
    Detection,
    ItemResponse,
    Submission,
    submission_from_detections,
)

__all__ = [
    "BEHAVIOURS",
    "CONFIDENCE_LEVELS",
    "KIND_PRODUCES",
    "REPORT_FILES",
    "ClassResults",
    "CohortComparison",
    "Detection",
    "ExamItem",
    "ExamKeys",
    "ExamPackage",
    "ExamSpec",
    "ItemOutcome",
    "ItemResponse",
    "ObjectOutcome",
    "PassphraseError",
    "Scores",
    "Submission",
    "TamperError",
    "TraineeResult",
    "add_tip_item",
    "build_exam",
    "compare_assist",
    "compare_cohorts",
    "detector_submission",
    "grade",
    "load_exam_spec",
    "read_passphrase_file",
    "recommend_next",
    "simulate_trainee",
    "submission_from_detections",
    "write_cohort_report",
    "write_report",
]
