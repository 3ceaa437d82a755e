#!/usr/bin/env python
"""Django's command-line utility, with the embedded database started on demand."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")
    from django.core.management import execute_from_command_line

    from clockweb.bootstrap import main_guard

    main_guard(sys.argv)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
