"""Helpers the tests share, imported as `tests.support.<module>` (fixtures stay in conftest.py).

- `worlds`: the demo world plus the hosts the validation codes need, seeded backups;
- `http`: clients of the in-process app and the assertions on QRadar's error body;
- `reference_texts`: the documented descriptions and the messages the code tests expect;
- `code_cases`: every code of the catalogue, provoked once, for the embedded and HTTP drivers;
- `serving`: a real `bre serve` process;
- `postgres`: the PostgreSQL server of the tests (BRE_TEST_POSTGRES), a database per run.
"""
