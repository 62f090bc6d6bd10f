"""Patient experience: a short post-visit survey sent through the outbox, answered from a link."""
