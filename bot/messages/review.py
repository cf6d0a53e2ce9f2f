"""Words of the review that break-glass run by one person alone asks for."""

from __future__ import annotations

from bot.mentions import code, escape, mention, mention_user

REVIEW_BUTTON = "Reviewed"
NEEDS_REVIEW = "Needs review"
NOTHING_TO_REVIEW = "That request asked for no review; nothing to do."
OWN_REVIEW_REFUSED = (
    ":no_entry: You ran this break-glass action yourself: someone else must review it."
)


def _what_was_done(label: str, actor: str, action: str, target: str, reason: str | None) -> str:
    return (
        f"{label}: {mention_user(actor)} ran {code(action)} on {code(target)} "
        "with break-glass, without a second person's approval. "
        f"Reason: {escape(reason or '–')}."
    )


def review_asked(
    actor: str, action: str, target: str, reason: str | None, reviewer: str | None
) -> str:
    done = _what_was_done(f":mag: *{NEEDS_REVIEW}*", actor, action, target, reason)
    if reviewer is None:
        return (
            f"{done} No second on-call could be found for this channel: someone other than "
            f"{mention_user(actor)} should review what was done and click *{REVIEW_BUTTON}*."
        )
    return f"{done} {mention(reviewer)}, please review what was done and click *{REVIEW_BUTTON}*."


def review_done(
    actor: str, action: str, target: str, reason: str | None, reviewer: str, at: str
) -> str:
    done = _what_was_done(":white_check_mark: *Reviewed*", actor, action, target, reason)
    return f"{done} Reviewed by {mention_user(reviewer)} at {at}."


def you_reviewed(action: str, target: str) -> str:
    return f"Recorded: you reviewed {code(action)} on {code(target)}."


def already_reviewed(reviewer: str | None, at: str) -> str:
    who = mention_user(reviewer) if reviewer else "someone"
    return f"Already reviewed by {who} at {at}; nothing more to do."


def handoff_review_line(actor: str, action: str, target: str, request_id: str, at: str) -> str:
    return (
        f"{code(action)} on {code(target)} by {mention_user(actor)} at {at} "
        f"(request {code(request_id)}): break-glass, nobody approved"
    )


def handoff_review_title(count: int) -> str:
    return f"{NEEDS_REVIEW} ({count})"
