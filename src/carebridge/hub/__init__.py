"""Care team messaging: threads, messages, mentions, read state, attachments."""
