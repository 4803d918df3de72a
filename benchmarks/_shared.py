"""What the training benchmarks share: a preset's data as tensors, the labels a plain Hugging Face loop needs, and a
results file the book can read."""
import os, platform, sys, tempfile, time
from pathlib import Path
import torch
from petri import __version__
from petri.core import write_json
from petri.dish import build_dataset, load_dataset
from petri.config import run_config
from petri.train import IGNORE, encode
from petri.runs import provenance

def preset_data(preset: str, device='cpu', **settings):
    "The run config of `preset` (with `settings` changed), its dataset (built in a temporary directory) and its tensors on `device`."
    run = run_config(preset, **settings)
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(build_dataset(run.data, Path(tmp)/'data'))
    return run, ds, encode(ds, device)

def plain_labels(data, loss):
    "The labels a plain HF loop needs for the same loss as petri's: the attribute tokens, or every non-pad token."
    if loss == 'sequence': return data.ids.masked_fill(data.ids == data.pad_id, IGNORE)
    labels = torch.full_like(data.ids, IGNORE)
    keep = data.targets != IGNORE
    rows = torch.arange(len(data.ids), device=data.ids.device).unsqueeze(1).expand_as(data.positions)
    labels[rows[keep], data.positions[keep] + 1] = data.targets[keep]
    return labels

def cpu() -> dict:
    "The CPU's model name and its bfloat16 matrix instructions (Linux; elsewhere just the architecture)."
    try: info = Path('/proc/cpuinfo').read_text()
    except OSError: return {'cpu': platform.machine()}
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(':') for line in info.splitlines())}
    flags = fields.get('flags', '').split()
    return {'cpu': fields.get('model name', platform.machine()), 'cores': os.cpu_count(),
            'bf16_instructions': sorted(f for f in flags if f in ('avx512_bf16', 'amx_bf16'))}

def write_results(path, record: dict):
    "Write a benchmark's `record` to the JSON file `path` (atomically), with the command and commit that produced it and where it ran."
    where = {'command': 'python ' + ' '.join(sys.argv), 'date': time.strftime('%Y-%m-%d', time.gmtime()), 'petri': __version__,
             'commit': provenance()['git_commit'], 'torch': torch.__version__, 'torch_threads': torch.get_num_threads()} | cpu()
    write_json(where | record, Path(path))
