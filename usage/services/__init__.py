from .agent import agent_events_ingest, agent_key_rotate, agent_request_verify
from .sessions import checkin_start, checkin_stop, session_correct, session_record, session_validate
from .sweeps import close_silent_sessions, release_no_shows

__all__ = [
    "agent_events_ingest",
    "agent_key_rotate",
    "agent_request_verify",
    "checkin_start",
    "checkin_stop",
    "close_silent_sessions",
    "release_no_shows",
    "session_correct",
    "session_record",
    "session_validate",
]
