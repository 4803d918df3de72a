import pytest
from petri.dish import build_dataset, data_config, load_dataset


@pytest.fixture(scope='session')
def smoke_dataset(tmp_path_factory):
    "A smoke-size dataset directory with 20% parallel people, built once per test session."
    return load_dataset(build_dataset(data_config('smoke', parallel=0.2), tmp_path_factory.mktemp('data') / 'p020'))
