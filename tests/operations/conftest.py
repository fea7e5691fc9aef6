"""Operations tests: the service as a state IT provider runs it (container image, several instances,
PostgreSQL failover, graceful shutdown). Every file here sets `pytestmark = pytest.mark.operations`:
left out of the default run, run by `python3 dev.py test -m operations` (CI does, with every
component required)."""
