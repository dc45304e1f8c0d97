"""Where the repository is: commands the tests run (manage.py, bench/, make run's launcher) start there."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
