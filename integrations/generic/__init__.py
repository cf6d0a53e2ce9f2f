"""Generic JSON intake: any sender's document, mapped to pages by a field mapping."""

from integrations.generic.mapping import FieldMapping
from integrations.generic.parse import lookup, parse_document, source_name

__all__ = ["FieldMapping", "lookup", "parse_document", "source_name"]
