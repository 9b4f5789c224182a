"""Test doubles and helpers shared by the test modules (never a test module itself)."""
