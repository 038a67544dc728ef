"""Delivery: the outbox sender, which sends due notices by the first channel that reaches each
member, and its hold on the rows it claims."""
