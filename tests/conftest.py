"""Fixtures shared by every test module; the real servers' fixtures live in their own modules."""

pytest_plugins = [
    "tests.local_services",
    "tests.fixtures_cassandra",
    "tests.fixtures_elasticsearch",
]
