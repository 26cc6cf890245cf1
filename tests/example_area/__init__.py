"""A small area that exists only in the tests: it shows that an area is its own folder plus one line of the
areas list (``create_app(areas=[*AREAS, EXAMPLE])``).  docs/development.md walks through it."""
