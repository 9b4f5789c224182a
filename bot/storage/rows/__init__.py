"""Row <-> value converters shared by the SQL engines (SQLite and PostgreSQL store the same
columns in the same forms: times as epoch seconds, dates as ISO text, flags as 0/1)."""
