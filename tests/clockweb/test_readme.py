import re

from tests.support import PROJECT_ROOT


def test_every_environment_variable_the_settings_read_is_in_the_readme():
    settings_source = (PROJECT_ROOT / "clockweb" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|float|list)\("([A-Z_]+)"', settings_source))
    table = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.M))
    assert read, "the settings read no variables?"
    assert read <= documented, f"missing from README: {sorted(read - documented)}"
