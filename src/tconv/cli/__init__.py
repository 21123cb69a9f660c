"""The ``tconv`` command line: one parser (:mod:`tconv.cli.main`), one module per subcommand."""
