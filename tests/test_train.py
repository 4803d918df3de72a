"Training runs end to end at smoke size: reproducibility, resuming, checkpoints and bad input."
import dataclasses, json, shutil
from pathlib import Path
import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from petri.core import PetriError
from petri.dish import build_dataset, data_config
from petri.config import RunConfig, run_config
from petri.train import checkpoints, load_model, train

def smoke(**kw) -> RunConfig:
    return run_config('smoke', parallel=0.2, **kw)

@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    "One finished smoke run, keeping every checkpoint."
    return train(smoke(keep='all'), tmp_path_factory.mktemp('runs')/'run', progress=False)

def metrics(run) -> pd.DataFrame: return pd.read_parquet(Path(run)/'metrics.parquet')

def test_run_directory(finished):
    m = metrics(finished)
    assert {'step', 'epoch', 'split', 'fact_type', 'accuracy', 'label_prob', 'loss'} <= set(m.columns)
    assert set(m.split) == {'train', 'test_in', 'test_cross'}
    assert set(m.fact_type) == {'birth_year', 'birth_city', 'death_year', 'death_city', 'all'}
    assert sorted(checkpoints(finished)) == sorted(m.step.unique())       # keep='all': one per evaluation
    assert (finished/'summary.json').is_file() and (finished/'train.log').is_file()
    # training helps: the training loss of the attribute falls
    assert m[(m.split == 'train') & (m.fact_type == 'all')].sort_values('step').loss.iloc[-1] < \
           m[(m.split == 'train') & (m.fact_type == 'all')].sort_values('step').loss.iloc[0]

def test_checkpoints_are_plain_hf(finished):
    last = checkpoints(finished)[max(checkpoints(finished))]
    model, tok = AutoModelForCausalLM.from_pretrained(last), AutoTokenizer.from_pretrained(last)
    ids = tok(['a b c'], return_tensors='pt').input_ids
    assert torch.allclose(model(ids).logits, load_model(finished)(ids).logits)

def test_same_seed_same_metrics(finished, tmp_path):
    again = train(smoke(keep='all'), tmp_path/'again', progress=False)
    pd.testing.assert_frame_equal(metrics(again), metrics(finished))
    other = train(smoke(seed=1, keep='last'), tmp_path/'other', progress=False)
    assert not metrics(other).loss.equals(metrics(finished).loss)
    assert len(checkpoints(other)) == 1                                   # keep='last'

def test_resume_gives_the_same_run(finished, tmp_path):
    class Interrupt(Exception): pass
    seen = []
    def stop_at_third_evaluation(model, data, index):
        seen.append(1)
        if len(seen) == 4: raise Interrupt
        return pd.DataFrame(columns=['split', 'fact_type'])
    with pytest.raises(Interrupt):
        train(smoke(keep='all'), tmp_path/'run', metrics=[stop_at_third_evaluation], progress=False)
    assert not (tmp_path/'run'/'summary.json').exists() and len(checkpoints(tmp_path/'run')) == 3
    train(smoke(keep='all'), tmp_path/'run', progress=False)
    pd.testing.assert_frame_equal(metrics(tmp_path/'run'), metrics(finished))
    # a finished run is left alone
    log = (tmp_path/'run'/'train.log').read_text()
    train(smoke(keep='all'), tmp_path/'run', progress=False)
    assert (tmp_path/'run'/'train.log').read_text() == log

def test_corrupted_checkpoint(finished, tmp_path):
    run = tmp_path/'run'
    shutil.copytree(finished, run)
    (run/'summary.json').unlink()                     # as if interrupted after its last checkpoint
    last = checkpoints(run)[max(checkpoints(run))]
    (last/'model.safetensors').write_bytes(b'not a safetensors file')
    before = sorted(p.relative_to(run) for p in run.rglob('*'))
    with pytest.raises(PetriError, match='corrupted checkpoint'): train(smoke(keep='all'), run, progress=False)
    with pytest.raises(PetriError, match='corrupted checkpoint'): load_model(run)
    assert sorted(p.relative_to(run) for p in run.rglob('*')) == before
    with pytest.raises(PetriError, match='no checkpoint at step 12345'): load_model(run, step=12345)

def test_bad_input_writes_nothing(finished, tmp_path):
    char = build_dataset(data_config('smoke', tokenizer='char-all-low'), tmp_path/'char')
    word_run = dataclasses.replace(smoke(), dataset=str(char))
    with pytest.raises(PetriError, match="built with the 'char-all-low' tokenizer"): train(word_run, tmp_path/'a', progress=False)
    with pytest.raises(PetriError, match="built with tokenizer='char-all-low'"): run_config('smoke', dataset=char, tokenizer='word')
    with pytest.raises(PetriError, match='holds another run'): train(smoke(seed=5), finished, progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(PetriError, match='CUDA is not available'): train(smoke(device='cuda'), tmp_path/'b', progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['char']

def test_train_on_an_existing_dataset(tmp_path):
    data = build_dataset(data_config('smoke', parallel=0.2), tmp_path/'data')
    run = train(run_config('smoke', dataset=data, epochs=1), tmp_path/'run', progress=False)
    assert not (run/'data').exists()
    assert json.loads((run/'config.json').read_text())['config']['dataset'] == str(data.resolve())

def test_early_stop(tmp_path):
    run = train(smoke(epochs=50, evals=40, early_stop=True, patience=2, min_delta=1.0), tmp_path/'run', progress=False)
    summary = json.loads((run/'summary.json').read_text())
    assert summary['stopped_early'] and 1 <= summary['epochs'] < 50
