"""SMS and e-mail senders."""
