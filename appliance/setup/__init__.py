"""The first-boot setup: one-time code, wizard answers, finishing steps."""
