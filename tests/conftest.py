import pandas as pd
import pytest
from petri.config import data_config
from petri.dish import build_dataset, load_dataset


@pytest.fixture(scope='session')
def smoke_dataset(tmp_path_factory):
    "A smoke-size dataset directory with 20% parallel people, built once per test session."
    return load_dataset(build_dataset(data_config('smoke', parallel=0.2), tmp_path_factory.mktemp('data') / 'p020'))


class Interrupt(Exception):
    "Raised by `interrupting_at`: stands for a kill in the middle of training."


def interrupting_at(n: int):
    "A metric that raises `Interrupt` at its n-th call: at the n-th evaluation, before its checkpoint is written."
    seen = []
    def metric(model, data, index):
        seen.append(1)
        if len(seen) == n: raise Interrupt
        return pd.DataFrame(columns=['split', 'fact_type'])
    return metric
