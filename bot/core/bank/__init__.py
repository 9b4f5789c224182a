"""The question bank: the question model and its validating parser, the loaded bank with
topic resolution and selection, and exporters (Anki, GIFT, JSON)."""
