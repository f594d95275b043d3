"""Pydantic models: inputs (strict), API resources (tolerant of new fields), results."""
