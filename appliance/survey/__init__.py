"""The anonymous visitor survey (the region's yearly visitor-profile study, automated)."""
