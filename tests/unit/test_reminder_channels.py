from __future__ import annotations

from carebridge.scheduling.reminders import channel_configured
from carebridge.settings import Settings


def test_channels_without_a_sender_are_not_planned() -> None:
    bare = Settings(sms_gateway="none", smtp_host=None)
    assert not channel_configured(bare, "email")
    assert not channel_configured(bare, "sms")
    ready = Settings(sms_gateway="file", smtp_host="mail.example.org")
    assert channel_configured(ready, "email")
    assert channel_configured(ready, "sms")
