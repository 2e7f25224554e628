"""Use cases: each applies the domain rules to storage for an acting person.

A service never commits: the caller owns the transaction, so a move, its event and
its notifications are written together or not at all.
"""
