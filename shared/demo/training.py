"""The programme of 29 September 2023 and what became of each participant.

Outcomes cycle over the trainees, so every size of demo has each of them:

- ``sustained``: understood, sold online within months and kept at it (stage 4);
- ``selling_lapsed``: sold online once or twice, then stopped (stage 3);
- ``stalled_understood``: passed the post-test but never sold online (stage 2);
- ``stalled_trained``: attended, learnt little, never sold online (stage 1);
- ``recovering``: stalled for two years, mentored again last month (no follow-up due);
- ``absent``: enrolled, never came (stage 0).

Mentoring of the stalled ones stopped long ago, so the view lists them for a follow-up.
"""

from __future__ import annotations

import random
from datetime import date

from shared.demo import calendar as cal
from shared.demo.calendar import Month
from shared.demo.home import Home
from shared.demo.model import PROGRAM_ORGANIZER, PROGRAM_TITLE, TRAINING_DAY

OUTCOMES = (
    "sustained",
    "stalled_understood",
    "sustained",
    "stalled_trained",
    "selling_lapsed",
    "sustained",
    "stalled_understood",
    "recovering",
    "sustained",
    "absent",
)
TOPICS = [
    "Media sosial sebagai etalase usaha keluarga",
    "Foto produk dengan ponsel",
    "Kemasan dan label yang menarik",
    "Berjualan di marketplace dan WhatsApp Business",
    "Pembukuan sederhana dan ketahanan ekonomi keluarga",
]
MENTORS = ("Pendamping RKDD: Kak Rizky", "Pendamping RKDD: Teh Nisa", "Pendamping RKDD: Mas Fajar")
TRAINING: Month = cal.of(TRAINING_DAY)
MENTORING: dict[str, tuple[int, ...]] = {  # months after the training with a mentoring visit
    "sustained": (1, 2, 4, 7, 13, 19, 25, 31),
    "selling_lapsed": (1, 3),
    "stalled_understood": (1,),
    "stalled_trained": (1,),
    "recovering": (1,),
    "absent": (),
}
POST_SCORE = {
    "sustained": (75, 95),
    "selling_lapsed": (70, 85),
    "stalled_understood": (70, 82),
    "recovering": (70, 80),
}
LATER_CONFIDENCE = {
    "sustained": (4, 5),
    "selling_lapsed": (3, 3),
    "stalled_understood": (2, 3),
    "stalled_trained": (1, 2),
    "recovering": (2, 2),
}


def outcome_of(trainee_ordinal: int) -> str:
    return OUTCOMES[trainee_ordinal % len(OUTCOMES)]


def program_id(seed: int) -> str:
    return f"demo{seed}-prog-medsos-2023"


def program_body(seed: int, village_codes: list[str]) -> dict[str, object]:
    return {
        "title": PROGRAM_TITLE,
        "organizer": PROGRAM_ORGANIZER,
        "village_codes": village_codes,
        "start_on": TRAINING_DAY,
        "end_on": TRAINING_DAY,
        "topics": TOPICS,
        "program_id": program_id(seed),
        "occurred_on": date(2023, 9, 1),
    }


def train(home: Home, participant: str) -> None:
    """Enrolment, the day itself, and the months after (not the sales: see ``shop``)."""
    outcome = home.outcome
    assert outcome is not None
    rng = home.rng("training")
    base = f"/training/programs/{program_id(home.seed)}"

    def fact(what: str, event: str, day: date | None, **body: object) -> None:
        if day is not None:
            home.fact(f"{base}/{what}", event, day, dict(body), program_id=program_id(home.seed))

    enrolled = date(2023, 9, rng.randint(11, 27))
    fact("enrolments", "participant_enrolled", enrolled, participant_name=participant)
    pre = rng.randint(30, 55)
    post = _post_score(rng, outcome, pre)
    mentor = rng.choice(MENTORS)
    later = LATER_CONFIDENCE.get(outcome)
    later_day = home.clock.day(rng, cal.add(TRAINING, 4))
    if outcome != "absent":
        fact("attendance", "attendance_recorded", TRAINING_DAY)
        for kind, score in (("pre", pre), ("post", post)):
            test = {"kind": kind, "score": score, "max_score": 100}
            fact("assessments", "assessment_recorded", TRAINING_DAY, **test)
        fact("confidence", "confidence_recorded", TRAINING_DAY, score=rng.randint(1, 2))
    if later is not None:
        fact("confidence", "confidence_recorded", later_day, score=rng.randint(*later))
    visits = [cal.add(TRAINING, after) for after in MENTORING[outcome]]
    last_month = cal.add(home.clock.last, -1)
    if outcome in ("sustained", "recovering") and last_month not in visits:
        # Mentored again last month: sustained sellers are visited, the recovering one is back.
        visits.append(last_month)
    for month in visits:
        fact("mentoring", "mentoring_visit_recorded", home.clock.day(rng, month), mentor=mentor)
    if outcome == "recovering":
        fact("confidence", "confidence_recorded", home.clock.day(rng, last_month), score=4)


def _post_score(rng: random.Random, outcome: str, pre: int) -> int:
    if outcome in POST_SCORE:
        return max(pre, rng.randint(*POST_SCORE[outcome]))
    # Learnt little: N-gain below 0.3 and the post-test below 70 %, so stage 2 never holds.
    return min(69, pre + int((100 - pre) * rng.uniform(0.0, 0.25)))


def first_online_month(home: Home, rng: random.Random) -> Month | None:
    """When a trainee first sells online (None: never)."""
    outcome = home.outcome
    if outcome == "sustained":
        return cal.add(TRAINING, rng.randint(1, 4))
    if outcome == "selling_lapsed":
        return cal.add(TRAINING, rng.randint(2, 5))
    if outcome == "recovering":
        return cal.add(home.clock.last, -1)
    return None
