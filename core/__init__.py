"""Sunbid core: application factory, configuration, database, accounts, i18n, clock, blobs."""
