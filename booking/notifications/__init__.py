"""Mail to researchers and facility managers about their bookings (bilingual, with calendar invitations).

- preferences.py: what each person wants (the manager digest);
- mail.py: renders one message in the recipient's language, with an iCalendar part;
- services.py: who is told what, and the once-only delivery record (NotificationLog);
- receivers.py: listens to booking signals and enqueues the sending tasks after commit.
"""
