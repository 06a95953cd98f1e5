"""Operator tools: replay topics into the cold tier, inspect a user, forget a user."""
