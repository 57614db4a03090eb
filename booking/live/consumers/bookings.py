"""/ws/queue/ (a facility manager's requests and changes) and /ws/me/ (a researcher's own bookings).

Both need a signed-in user (the session cookie; AuthMiddlewareStack in config/asgi.py). Anonymous
sockets are closed with 4401, signed-in users who manage no facility get 4403 on /ws/queue/.
"""

import json

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from facilities.models import Facility
from facilities.selectors import managed_facility_ids

from ...models import Booking
from ...selectors import booking_fields, with_details
from ..publish import facility_group, user_group
from .base import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, LiveSocket, session_still_signed_in

SESSION_ENDED = object()


def _facilities_of(user) -> set[int]:
    if user.is_superuser:
        return set(Facility.objects.values_list("pk", flat=True))
    return managed_facility_ids(user)


def booking_payload(booking_id: int) -> dict | None:
    """The contract's booking object as it stands now, or None once it is gone. Only its requester and
    the facility's managers hear of it, so the purpose is shown."""
    booking = with_details(Booking.objects.filter(pk=booking_id)).first()
    return None if booking is None else booking_fields(booking, show_purpose=True)


class BookingEventsSocket(LiveSocket):
    def user(self):
        user = self.scope.get("user")
        return user if getattr(user, "is_authenticated", False) else None

    async def join(self, groups: list[str]) -> None:
        for group in groups:
            # Recorded first, so cleanup discards it even if the join itself fails half-way.
            self.groups.append(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def live_booking(self, message: dict) -> None:
        # The message names the booking; the socket reads it (one trip to the database thread, together
        # with the checks of the session and of who may see it), so the process that made the change
        # reads nothing for us.
        if self.ended:
            return
        payload = await database_sync_to_async(self.payload_for)(message)
        if payload is SESSION_ENDED:
            await self.end_session("signed_out")
        elif payload is not None:
            await self.send_text(json.dumps({"type": "booking", "event": message["event"], "booking": payload}))

    async def live_notice(self, message: dict) -> None:
        # Only user groups carry notices, and a user's group has only that user's sockets.
        if self.ended:
            return
        if not await database_sync_to_async(session_still_signed_in)(self.scope):
            await self.end_session("signed_out")
            return
        await self.send_text(json.dumps({"type": "notice", "kind": message["kind"], "data": message["data"]}))

    def payload_for(self, message: dict) -> dict | object | None:
        if not session_still_signed_in(self.scope):
            return SESSION_ENDED  # signed out, password changed or deactivated, and the close not yet here
        return booking_payload(message["booking"]) if self.may_see(message) else None

    def may_see(self, message: dict) -> bool:
        return True


class QueueConsumer(BookingEventsSocket):
    async def connect(self):
        user = self.user()
        if user is None:
            return await self.refuse(CLOSE_UNAUTHENTICATED, _("Sign in to follow a facility's booking queue."))
        facilities = await database_sync_to_async(_facilities_of)(user)
        if not facilities:
            return await self.refuse(CLOSE_FORBIDDEN, _("Only facility managers may follow a booking queue."))
        await self.join([facility_group(f) for f in sorted(facilities)])
        await self.accept()

    def may_see(self, message: dict) -> bool:
        # Checked again at delivery: a manager removed while connected stops hearing at once.
        return message["facility"] in _facilities_of(self.scope["user"])


class MyBookingsConsumer(BookingEventsSocket):
    async def connect(self):
        user = self.user()
        if user is None:
            return await self.refuse(CLOSE_UNAUTHENTICATED, _("Sign in to follow your bookings."))
        await self.join([user_group(user.pk)])
        await self.accept()

    def may_see(self, message: dict) -> bool:
        user = self.user()
        return user is not None and message["requester"] == user.pk
