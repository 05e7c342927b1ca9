"""What *Publish now* and *Retract* will do, said before they do it.

The button on the announcement's page posts without ``confirmed``: the answer is this page,
naming the effect ("emails 1,204 instant subscribers"), with the real button. Nothing changes
until that second post, so a stray click publishes nothing and retracts nothing.
"""

from __future__ import annotations

from flask import render_template, request

from service.announcements.models import Announcement
from service.subscriptions.audience import reach
from service.subscriptions.models import Frequency

CONFIRMED = "yes"


def confirmed() -> bool:
    return request.form.get("confirmed") == CONFIRMED


def _people(number: int, kind: str) -> str:
    return f"{number:,} {kind} subscriber{'' if number == 1 else 's'}"


def publish_effects(item: Announcement) -> list[str]:
    counts = reach(item)
    feeds = 1 + len(item.tags) + len(item.partners)
    effects = [f"makes it public on the site and in {feeds} feed{'s' if feeds > 1 else ''} "
               f"(RSS, Atom and JSON each) within seconds",
               f"emails {_people(counts[Frequency.INSTANT], 'instant')} now"]
    digests = counts[Frequency.DAILY] + counts[Frequency.WEEKLY]
    if digests:
        effects.append(f"puts it in the next digest of {_people(counts[Frequency.DAILY], 'daily')}"
                       f" and {_people(counts[Frequency.WEEKLY], 'weekly')}")
    effects.append("cannot be undone: once readers have it, it can only be retracted")
    return effects


def retract_effects(item: Announcement) -> list[str]:
    return [
        "removes it from every list and feed now; its page says it was withdrawn, with the "
        "reason below",
        "sends no email, and cannot recall the emails already sent",
        "cannot be undone: a retracted announcement is never published again",
    ]


def page(item: Announcement, action: str, reason: str | None = None) -> tuple[str, int]:
    effects = publish_effects(item) if action == "publish" else retract_effects(item)
    return render_template("editor/confirm.html", item=item, action=action, effects=effects,
                           reason=reason, confirmed_value=CONFIRMED), 200
