"""The README's results, written from a build of the reproduction chapter, so that they are always a build's numbers.

The chapter writes its verdicts, failure rates and kernel spread to `reproduction.json` in the preset's runs
directory. This script copies that file to `results/reproduction-<preset>.json` and, for the quick preset (the one
the README reports), rewrites the README's block between its two markers from it. `make book` runs it after the
build; `--check` (run by the tests) fails when the README's block is not the one the recorded file gives.

    python experiments/readme_results.py [--preset quick]
    python experiments/readme_results.py --check
"""
import argparse, shutil, sys
from petri.core import PetriError, check, project_path, read_json, runs_dir

BEGIN = '<!-- reproduction results: written by experiments/readme_results.py, do not edit -->'
END = '<!-- end of reproduction results -->'
README_PRESET = 'quick'


def _interval(estimate, low, high) -> str:
    if estimate is None: return 'no value'
    return f"{estimate:.3f}" + (f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else '')


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _verdict(row) -> str:
    return row['verdict'] + (' (fragile)' if row['fragile'] else '')


def block(summary: dict) -> str:
    "The README's block of results for a reproduction summary."
    count, claims, learning, kernels = summary['count'], summary['claims'], summary['learning'], summary['kernels']
    lines = [BEGIN, '',
             f"The {summary['preset']} build of {summary['date']} (commit {summary['commit'][:12]}; the table comes from "
             f"`results/reproduction-{summary['preset']}.json`, which the reproduction chapter writes) judges {len(claims)} claims: "
             f"**{_n(count['held'], 'holds', 'hold')}, {_n(count['not held'], 'does not', 'do not')}, "
             f"{_n(count['untested'], 'is untested', 'are untested')}**; "
             f"{_n(sum(bool(c['fragile']) for c in claims), 'verdict is', 'verdicts are')} fragile (an interval moved by its own "
             "half-width would flip such a verdict).",
             '', '| claim | judged on | petri: estimate [95% interval] | verdict | on the other architecture |', '|---|---|---|---|---|']
    for c in claims:
        other = (f"{c['other_arch']}: {_interval(c['other_estimate'], c['other_low'], c['other_high'])}, {c['other_verdict']}"
                 if c['other_arch'] else '')
        estimate = _interval(c['estimate'], c['low'], c['high'])
        lines.append(f"| `{c['id']}` ({c['source']}) | {c['arch']} | {estimate} | {_verdict(c)} | {other} |")
    rates = '; '.join(f"{r['arch']} at {r['parallel']:.0%} {r['share']:.0%} [{r['low']:.0%}, {r['high']:.0%}]" for r in learning['rates'])
    left, flips = _n(len(summary['left_out']), 'run', 'runs'), kernels['flips']
    lines += ['', f"Runs that did not learn their facts (in-language accuracy below 0.9): {learning['failed']} of the learning "
              f"sweep's {learning['runs']} runs ({rates}); the rule of `experiments/claims.yml` left {left} "
              f"of the claims' sweeps out. Retrained with AVX2 kernels instead of AVX-512, the book's runs' final cross-lingual "
              f"accuracy moved by a median of {kernels['cross_lingual_median']:.3f} (at most {kernels['cross_lingual_max']:.3f}), the "
              f"claims read from them by at most {kernels['largest_shift_half_widths']:.2f} half-widths, and "
              f"{_n(len(flips), 'verdict', 'verdicts')} changed{': ' + ', '.join(flips) if flips else ''}.",
              '', END]
    return '\n'.join(lines)


def readme_with(readme: str, new_block: str) -> str:
    "The README's text with its results block replaced by `new_block`."
    check(readme.count(BEGIN) == 1 and readme.count(END) == 1, f"the README must hold the markers {BEGIN!r} and {END!r} once each")
    head, rest = readme.split(BEGIN)
    return head + new_block + rest.split(END, 1)[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default=README_PRESET, help="the preset of the build to copy (default: quick)")
    p.add_argument('--check', action='store_true', help="only check that the README's block is the recorded quick build's")
    a = p.parse_args(argv)
    readme, recorded = project_path('README.md'), project_path('results', f'reproduction-{README_PRESET}.json')
    if a.check:
        check(recorded.is_file(), f"no recorded reproduction summary at {recorded}: build the quick book first (make book)")
        check(readme_with(readme.read_text(), block(read_json(recorded))) == readme.read_text(),
              f"README.md's results are not those of {recorded}: run python experiments/readme_results.py")
        return
    built = runs_dir(a.preset) / 'reproduction.json'
    check(built.is_file(), f"no reproduction summary at {built}: build the book at the {a.preset} preset first "
                           f"(make book PRESET={a.preset})")
    target = project_path('results', f'reproduction-{a.preset}.json')
    shutil.copyfile(built, target)
    if a.preset == README_PRESET: readme.write_text(readme_with(readme.read_text(), block(read_json(target))))
    print(f"wrote {target}" + (" and the README's results" if a.preset == README_PRESET else ''))


if __name__ == '__main__':
    try: main()
    except PetriError as e:
        print(f"readme_results: error: {e}", file=sys.stderr)
        sys.exit(2)
