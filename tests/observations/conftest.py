import pytest

from tests.factories import rubric_version


@pytest.fixture
def version(world):
    """The shipped MiiWrap fidelity tool, version 1."""
    return rubric_version()


@pytest.fixture
def mi_coding(world):
    """The shipped MI coding rubric, version 1."""
    return rubric_version("mi-coding")
