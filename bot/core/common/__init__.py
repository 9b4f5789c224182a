"""What every context shares: identity, replies, errors, the clock, time parsing, notices.

Imports nothing of `bot` outside this package (an architecture test holds it to that).
"""
