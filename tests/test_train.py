"Training runs end to end at smoke size: reproducibility, resuming, checkpoints and bad input."
import dataclasses, json, shutil
from pathlib import Path
import pandas as pd
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from conftest import Interrupt, interrupting_at
from petri.core import PetriError, read_json
from petri.config import data_config
from petri.dish import build_dataset, load_dataset
from petri.config import RunConfig, run_config
from petri import runs as runs_module, train as train_module
from petri.train import encode, evaluate, train
from petri.runs import checkpoints, latest_checkpoint, load_model, resume_dirs

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
    with pytest.raises(Interrupt):      # at the fourth evaluation (step 0 is the first)
        train(smoke(keep='all'), tmp_path/'run', metrics=[interrupting_at(4)], progress=False)
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


def evaluation_lines(run) -> list[str]:
    "The evaluation lines of a run's log, without their times."
    return [line.split(' ', 2)[2] for line in (Path(run)/'train.log').read_text().splitlines() if ' epoch ' in line]

def test_log_says_no_loss_before_the_first_step(finished):
    "Step 0 has no training loss yet: the log says so rather than printing NaN, which reads as a divergence."
    lines = evaluation_lines(finished)
    assert lines[0].startswith('step 0 epoch 0.00 no step yet train ') and not any('nan' in l for l in lines)
    assert all(' train loss ' in l for l in lines[1:])

def test_summary_is_on_the_whole_splits(finished):
    summary, m = read_json(finished/'summary.json'), metrics(finished)
    assert set(summary) == {'steps', 'epochs', 'stopped_early', 'seconds', 'accuracy', 'label_prob', 'examples', 'subset_accuracy',
                            'subset_size', 'language_pairs'}
    pairs = summary['language_pairs']                  # per language told and asked: the test splits, question by question
    assert sum(p['n'] for p in pairs if p['told'] == p['asked']) == summary['examples']['test_in']
    assert sum(p['n'] for p in pairs if p['told'] != p['asked']) == summary['examples']['test_cross']
    ds = load_dataset(finished/'data')
    whole = evaluate(load_model(finished/'final'), encode(ds)).query("fact_type == 'all'").set_index('split')
    assert summary['accuracy'] == whole.accuracy.to_dict() and summary['label_prob'] == pytest.approx(whole.label_prob.to_dict())
    assert summary['examples'] == {s: int((ds.examples.split == s).sum()) for s in ('train', 'test_in', 'test_cross')}
    last = m[(m.step == summary['steps']) & (m.fact_type == 'all')].set_index('split')
    assert summary['subset_accuracy'] == last.accuracy.to_dict() and summary['subset_size'] == smoke().train.eval_size
    assert any(last.n[s] < n for s, n in summary['examples'].items())             # the monitor is a subset indeed

def test_final_model_directory(finished):
    final = finished/'final'
    model, tok = AutoModelForCausalLM.from_pretrained(final), AutoTokenizer.from_pretrained(final)
    ids = tok(['a b c'], return_tensors='pt').input_ids
    assert torch.allclose(model(ids).logits, load_model(finished)(ids).logits)      # the last checkpoint's weights
    assert not (final/'trainer_state.pt').exists()
    card = (final/'README.md').read_text()
    assert card.startswith('---\nlibrary_name: transformers\ntags: [petri, ')
    acc = read_json(finished/'summary.json')['accuracy']['test_cross']
    assert f"{acc:.3f}" in card and "from_pretrained('path/to/run/final')" in card
    assert not any(p.exists() for p in resume_dirs(finished))

def test_config_records_provenance(finished):
    import subprocess, transformers
    held = read_json(finished/'config.json')
    assert held['versions'] == {'petri': train_module.__version__, 'torch': str(torch.__version__),
                                'transformers': transformers.__version__}
    head = subprocess.run(['git', '-C', str(Path(train_module.__file__).parent), 'rev-parse', 'HEAD'], capture_output=True, text=True)
    assert held['git_commit'] == (head.stdout.strip() if head.returncode == 0 else None)
    assert held['created'].endswith('+00:00') and held['config']['dataset'] is None

def test_no_git_is_no_commit(monkeypatch, tmp_path):
    import subprocess
    assert runs_module._git_commit(tmp_path/'x.py') is None                    # not a git work tree
    def missing(*a, **kw): raise FileNotFoundError('git')
    monkeypatch.setattr(subprocess, 'run', missing)
    assert runs_module.provenance()['git_commit'] is None

def test_resume_checkpoint_by_time(finished, tmp_path):
    "With a resume checkpoint at every step, a run interrupted at an evaluation resumes from the step before it, exactly."
    run = tmp_path/'run'
    with pytest.raises(Interrupt): train(smoke(keep='all'), run, metrics=[interrupting_at(8)], progress=False, resume_every=0)
    resume = latest_checkpoint(run)
    step = torch.load(resume/'trainer_state.pt', weights_only=True)['step']
    assert resume == resume_dirs(run)[0] and step == max(metrics(finished).step.unique()[:8]) - 1 > max(checkpoints(run))
    assert 'resume' not in [p.name for p in checkpoints(run).values()]
    train(smoke(keep='all'), run, progress=False)
    assert f'resumed at step {step}' in (run/'train.log').read_text()
    pd.testing.assert_frame_equal(metrics(run), metrics(finished))
    assert evaluation_lines(run) == evaluation_lines(finished)                       # the training loss since the last evaluation too
    assert {k: read_json(run/'summary.json')[k] for k in ('steps', 'accuracy', 'label_prob', 'subset_accuracy')} == \
           {k: read_json(finished/'summary.json')[k] for k in ('steps', 'accuracy', 'label_prob', 'subset_accuracy')}
    assert not any(p.exists() for p in resume_dirs(run)) and sorted(checkpoints(run)) == sorted(checkpoints(finished))

def test_a_moved_run_resumes_and_loads(finished, tmp_path):
    "A run whose dataset was built into it can be moved: resumed, loaded and analysed where it lands."
    from petri.represent import run_similarity
    from petri.runs import run_dataset_path
    with pytest.raises(Interrupt): train(smoke(keep='all'), tmp_path/'here', metrics=[interrupting_at(5)], progress=False)
    moved = Path(shutil.move(tmp_path/'here', tmp_path/'elsewhere'/'run'))
    assert read_json(moved/'config.json')['config']['dataset'] is None              # built into the run: RUN/data
    train(smoke(keep='all'), moved, progress=False)
    pd.testing.assert_frame_equal(metrics(moved), metrics(finished))
    assert run_dataset_path(moved) == moved/'data'
    whole = evaluate(load_model(moved), encode(load_dataset(run_dataset_path(moved)))).query("fact_type == 'all'")
    assert dict(zip(whole.split, whole.accuracy)) == read_json(moved/'summary.json')['accuracy']
    sims, chosen = run_similarity(moved)                                              # an analysis of chapter 30
    assert len(chosen) and sims.shape[-1] == len(chosen)

def test_a_relative_dataset_path_is_the_callers(tmp_path, monkeypatch):
    "A RunConfig naming its dataset by a path relative to the working directory is stored absolute, so calling again finds the same run."
    monkeypatch.chdir(tmp_path)
    build_dataset(data_config('smoke', parallel=0.2), 'd')
    cfg = dataclasses.replace(run_config('smoke', dataset='d', epochs=1), dataset='d')
    run = train(cfg, 'run', progress=False)
    assert read_json(run/'config.json')['config']['dataset'] == str(tmp_path.resolve()/'d')
    assert train(cfg, 'run', progress=False) == run                                  # finished: found, not refused


@pytest.mark.parametrize('components', [dict(tie_embeddings=False, final_softcap=0.0, attn_softcap=0.0),
                                        dict(arch='pythia', tie_embeddings=True, rotary=1.0, parallel_residual=False)])
def test_a_run_with_other_components_loads_as_itself(tmp_path, components):
    """A run whose architecture's components are switched: from_pretrained opens its final model, with the components, and it
    predicts as petri's."""
    from petri.train import predict
    run = train(smoke(epochs=1.0, **components), tmp_path/'run', progress=False)
    hf = AutoModelForCausalLM.from_pretrained(run/'final')
    config = hf.config.to_dict()
    expected = {'tie_word_embeddings': components['tie_embeddings']}
    expected |= ({'use_parallel_residual': False} if 'parallel_residual' in components else
                 {'final_logit_softcapping': None, 'attn_logit_softcapping': None})
    assert {k: config[k] for k in expected} == expected
    if 'rotary' in components: assert config['rope_parameters']['partial_rotary_factor'] == 1.0
    data = encode(load_dataset(run/'data'))
    ours, theirs = predict(load_model(run), data), predict(hf, data)
    assert (ours[0] == theirs[0]).all() and abs(ours[1] - theirs[1]).max() < 1e-5
    assert f"components set: `tie_embeddings={components['tie_embeddings']}`" in (run/'final'/'README.md').read_text()   # the card says so
