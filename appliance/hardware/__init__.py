"""Everything that touches the operating system, each behind a small class with a fake
twin of the same interface, chosen by configuration."""
