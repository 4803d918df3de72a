"""Whole-split accuracy and label probability of a finished run's final checkpoint, as a results file a chapter reads.

    python experiments/summarize_run.py RUN OUT.json --command "the command that trained RUN"
"""
import argparse, sys
from petri.core import PetriError, read_json, write_json
from petri.datasets import SPLIT_NAMES
from petri.dish import load_dataset
from petri.runs import run_dataset_path
from petri.train import encode, evaluate
from petri.runs import load_model


def summarize(run, command: str) -> dict:
    summary = read_json(f"{run}/summary.json")
    metrics = evaluate(load_model(run), encode(load_dataset(run_dataset_path(run))))
    every = metrics[metrics.fact_type == 'all'].set_index('split')
    return ({f"{SPLIT_NAMES[s]}_{m}": float(every.loc[s, m]) for s in SPLIT_NAMES for m in ('accuracy', 'label_prob')}
            | {'steps': summary['steps'], 'seconds': summary['seconds'], 'command': command,
               'per_fact_type': metrics[metrics.split == 'test_cross'].set_index('fact_type').accuracy.round(4).to_dict()})


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run'); p.add_argument('out'); p.add_argument('--command', required=True)
    a = p.parse_args()
    try: write_json(summarize(a.run, a.command), a.out)
    except PetriError as e: sys.exit(f"summarize_run: error: {e}")
