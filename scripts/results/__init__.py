"""The results tables, one module per group of results pages; each module's ``TABLES`` maps a block name to its maker."""
