"""The ``tripletforge`` command line: thin typer drivers over the library."""
