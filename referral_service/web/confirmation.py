"""A second step before an action that cannot be undone (decide, close, withdraw consent, deactivate).

One careless click must not decide a complaint or destroy a referral's data. The first POST of such an
action, without `confirmed=1`, changes nothing: it answers a page that names the action, states its
consequence as text, and carries a form that posts the same fields again with `confirmed=1` (and the
CSRF token), next to a way back. Without JavaScript, so it works for everyone; a script's `confirm()`
dialog cannot state a consequence accessibly and is skipped by anyone who turns scripts off.

The handler reads and checks its form first (a form with errors comes back with its errors, not with a
question) and looks the record up in the caller's scope (a record out of scope stays "not found"),
then asks `answer(form, confirmation)` what the user said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from litestar import Request, Response
from litestar.datastructures import FormMultiDict, MultiDict

from referral_service.web.render import page

CONFIRMED_FIELD = "confirmed"
# Never carried into the second step: the token comes fresh from the page, the answer from the button.
_NOT_CARRIED = frozenset({"_csrf", CONFIRMED_FIELD})


class Answer(Enum):
    ASK = "ask"  # not asked yet (or nothing understood): show the question
    CONFIRMED = "confirmed"  # the user confirmed on the second step: act
    CHANGE = "change"  # the user wants to change what they entered: the form again, with their input


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the second step says: the action (heading and button), its consequences, the way back.

    The texts are catalogue keys; `params` fills their placeholders with text already in the page's
    language (a reference, a username, a translated outcome).
    """

    title: str
    consequences: Sequence[str]
    submit: str
    cancel_path: str
    params: Mapping[str, str] = field(default_factory=dict)
    # A form with typed-in text (a decision's reply) goes back with that text kept, by posting it again;
    # a mere button goes back by a link.
    back_with_input: bool = False


def answer(form: FormMultiDict | MultiDict[Any], confirmation: Confirmation) -> Answer:
    given = form.get(CONFIRMED_FIELD)
    if given == "1":
        return Answer.CONFIRMED
    if given == "0" and confirmation.back_with_input:
        return Answer.CHANGE
    return Answer.ASK


def confirmation_page(
    request: Request[Any, Any, Any], form: FormMultiDict | MultiDict[Any], confirmation: Confirmation
) -> Response[Any]:
    """The second step: posts the form's own fields back to the address it came to."""
    carried = [
        (name, value)
        for name, value in form.multi_items()
        if name not in _NOT_CARRIED and isinstance(value, str)
    ]
    return page(
        request,
        "confirm.html",
        context={"confirmation": confirmation, "action": request.url.path, "carried": carried},
    )


__all__ = ["CONFIRMED_FIELD", "Answer", "Confirmation", "answer", "confirmation_page"]
