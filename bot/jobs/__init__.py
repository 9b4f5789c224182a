"""Scheduled work: the one scheduler, pacing per platform, dispatch, and each feature's jobs."""
